"""The temporal filter on its own: a static shot stays still, a cut resets, a pan carries the
colours along with the motion, and the model's frame-to-frame noise is damped."""

from __future__ import annotations

import itertools

import cv2
import numpy as np
import pytest

from inference.video.flow import FlowEstimator, lightness_u8, occlusion_free, sample_maps, warp
from inference.video.temporal import (
    ChromaStabilizer,
    FrameChange,
    StabilizerTuning,
    histogram_distance,
)

HEIGHT, WIDTH = 72, 128


def texture(width: int, seed: int = 0) -> np.ndarray:
    """L* (HEIGHT, width) float32 with structure at several scales, 10..90."""
    rng = np.random.default_rng(seed)
    noise = rng.random((HEIGHT, width)).astype(np.float32)
    smooth = cv2.GaussianBlur(noise, (0, 0), 2.5) + 0.5 * cv2.GaussianBlur(noise, (0, 0), 8)
    smooth = (smooth - smooth.min()) / (smooth.max() - smooth.min())
    return (10 + 80 * smooth).astype(np.float32)


def chroma_of(lightness: np.ndarray) -> np.ndarray:
    """A colouring tied to the content: ab (h, w, 2) that moves when the content moves, as
    smooth as a colouriser's (chroma has far less detail than brightness)."""
    smooth = cv2.GaussianBlur(lightness, (0, 0), 3)
    a = 40 * np.sin(smooth / 9.0)
    b = 30 * np.cos(smooth / 13.0)
    return np.dstack([a, b]).astype(np.float32)


def test_histogram_distance_is_zero_for_the_same_frame_and_near_one_for_disjoint() -> None:
    frame = texture(WIDTH)
    assert histogram_distance(frame, frame) == 0.0
    dark, light = np.full_like(frame, 10.0), np.full_like(frame, 90.0)
    assert histogram_distance(dark, light) == pytest.approx(1.0)


def test_a_static_shot_skips_the_model_and_keeps_its_colour_exactly() -> None:
    stabilizer = ChromaStabilizer()
    frame = texture(WIDTH)
    rng = np.random.default_rng(1)
    first = stabilizer.update(frame, chroma_of(frame), stabilizer.classify(frame))
    for _ in range(10):
        noisy = frame + rng.normal(0, 0.3, frame.shape).astype(np.float32)  # sensor noise
        assert stabilizer.classify(noisy) is FrameChange.DUPLICATE
        assert stabilizer.held() is first
    assert stabilizer.duplicates == 10


def test_model_noise_on_a_still_picture_is_damped() -> None:
    stabilizer = ChromaStabilizer()
    frame = texture(WIDTH)
    truth = chroma_of(frame)
    rng = np.random.default_rng(2)
    outputs, predictions = [], []
    for index in range(30):
        predicted = truth + rng.normal(0, 6, truth.shape).astype(np.float32)
        change = FrameChange.FIRST if index == 0 else FrameChange.MOTION
        outputs.append(stabilizer.update(frame, predicted, change).copy())
        predictions.append(predicted)
    step = np.mean([np.abs(b - a).mean() for a, b in itertools.pairwise(outputs[10:])])
    raw = np.mean([np.abs(b - a).mean() for a, b in itertools.pairwise(predictions[10:])])
    assert step < 0.25 * raw
    assert np.abs(outputs[-1] - truth).mean() < 0.5 * np.abs(predictions[-1] - truth).mean()


def test_a_cut_resets_the_history() -> None:
    stabilizer = ChromaStabilizer()
    shot_a = texture(WIDTH, seed=3) * 0.5  # a dark shot
    shot_b = 50 + texture(WIDTH, seed=4) * 0.5  # a bright one
    for _ in range(5):
        stabilizer.update(shot_a, chroma_of(shot_a), stabilizer.classify(shot_a))
        shot_a = np.roll(shot_a, 1, axis=1)
    change = stabilizer.classify(shot_b)
    assert change is FrameChange.CUT and stabilizer.cuts == 1
    fresh = np.full((HEIGHT, WIDTH, 2), 7.0, dtype=np.float32)
    out = stabilizer.update(shot_b, fresh, change)
    np.testing.assert_array_equal(out, fresh)  # nothing of shot A bleeds into shot B


def test_a_pan_carries_the_colours_along_with_the_motion() -> None:
    stabilizer = ChromaStabilizer()
    step = 2
    wide = texture(WIDTH + 40 * step, seed=5)
    wide_ab = chroma_of(wide)
    rng = np.random.default_rng(6)
    for index in range(40):
        window = slice(index * step, index * step + WIDTH)
        frame = np.ascontiguousarray(wide[:, window])
        truth = np.ascontiguousarray(wide_ab[:, window])
        predicted = truth + rng.normal(0, 5, truth.shape).astype(np.float32)
        change = stabilizer.classify(frame)
        assert change in (FrameChange.FIRST, FrameChange.MOTION)
        previous_truth = np.ascontiguousarray(wide_ab[:, max(0, index - 3) * step :][:, :WIDTH])
        out = stabilizer.update(frame, predicted, change)
    inner = (slice(8, -8), slice(8, -8))  # away from the edge the pan uncovers
    error = np.abs(out - truth)[inner].mean()
    assert error < 0.6 * np.abs(predicted - truth)[inner].mean()
    # the colours moved with the content: far closer to where it is than where it was
    assert error < 0.3 * np.abs(out - previous_truth)[inner].mean()
    assert stabilizer.last_weight > 0.5


def test_frames_between_model_runs_take_the_colour_along_the_flow() -> None:
    stabilizer = ChromaStabilizer(StabilizerTuning())
    wide = texture(WIDTH + 12, seed=7)
    first, second = wide[:, :WIDTH], np.ascontiguousarray(wide[:, 3 : 3 + WIDTH])
    truth_first, truth_second = chroma_of(first), chroma_of(second)
    stabilizer.update(first, truth_first, FrameChange.FIRST)
    assert stabilizer.classify(second) is FrameChange.MOTION
    assert stabilizer.track(second) > 0.6
    carried = stabilizer.update(second, None, FrameChange.MOTION)
    inner = (slice(6, -6), slice(6, -12))
    assert np.abs(carried - truth_second)[inner].mean() < 2.0
    assert np.abs(truth_first - truth_second)[inner].mean() > 5.0


def test_the_flow_and_its_occlusion_check_see_a_shift() -> None:
    wide = texture(WIDTH + 8, seed=8)
    earlier = lightness_u8(wide[:, 4 : 4 + WIDTH])
    later = lightness_u8(np.ascontiguousarray(wide[:, 6 : 6 + WIDTH]))  # moved 2 px left
    backward, forward = FlowEstimator().both(earlier, later)
    inner = (slice(8, -8), slice(8, -8))
    assert np.median(backward[..., 0][inner]) == pytest.approx(2.0, abs=0.3)
    maps = sample_maps(backward)
    visible = occlusion_free(backward, forward, maps)
    assert visible[inner].mean() > 0.9
    assert not visible[:, -1].any()  # the column that came into view has no past
    aligned = warp(earlier.astype(np.float32), maps)
    assert np.abs(aligned - later)[inner].mean() < 2.0
