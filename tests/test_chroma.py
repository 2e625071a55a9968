"""The filters' chroma step: colour detail smoothed, brightness detail kept exactly."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from inference.chroma import KERNEL_SIZE, LUMA_BGR, SIGMA, smooth_chroma


def _luma(bgr: np.ndarray) -> np.ndarray:
    return np.asarray(bgr, dtype=np.float64) @ np.asarray(LUMA_BGR)


def _reference(bgr: np.ndarray) -> np.ndarray:
    """The step the slow, obvious way: to YCrCb, blur Cr and Cb over the whole image, back."""
    ycrcb = cv2.cvtColor(bgr.astype(np.float32) / 255, cv2.COLOR_BGR2YCrCb)
    for channel in (1, 2):
        ycrcb[:, :, channel] = cv2.GaussianBlur(
            ycrcb[:, :, channel], (KERNEL_SIZE, KERNEL_SIZE), SIGMA
        )
    return np.clip(np.rint(cv2.cvtColor(ycrcb, cv2.COLOR_YCrCb2BGR) * 255), 0, 255)


def test_grey_passes_unchanged() -> None:
    rng = np.random.default_rng(1)
    grey = np.repeat(rng.integers(0, 256, (70, 90, 1), dtype=np.uint8), 3, axis=2)
    assert np.array_equal(smooth_chroma(grey), grey)


def test_brightness_detail_is_kept_and_colour_detail_smoothed() -> None:
    """A checkerboard of two colours of equal luma (red-ish and green-ish) turns into their
    mean colour, while a checkerboard of two greys of different brightness stays sharp."""
    yy, xx = np.mgrid[0:64, 0:64]
    board = ((yy + xx) % 2).astype(bool)
    colours = np.zeros((64, 64, 3), dtype=np.uint8)
    colours[board] = (60, 90, 200)  # BGR; luma ~119
    colours[~board] = (150, 140, 63)  # luma ~118
    out = smooth_chroma(colours).astype(float)
    inner = out[8:-8, 8:-8]
    assert np.ptp(inner[:, :, 2]) <= 12  # red swung by 137 levels before
    assert np.abs(_luma(out) - _luma(colours))[8:-8, 8:-8].max() <= 1.0
    greys = np.where(board[:, :, None], 200, 40).astype(np.uint8).repeat(3, axis=2)
    assert np.array_equal(smooth_chroma(greys), greys)


def test_matches_the_colour_space_round_trip_at_any_size() -> None:
    """Same result as blurring Cr and Cb in YCrCb (float), across band boundaries and on odd
    sizes (one pixel, one row, one column, taller than a band)."""
    rng = np.random.default_rng(7)
    for shape in [(1, 1), (1, 9), (9, 1), (5, 7), (33, 17), (150, 41)]:
        photo = cv2.GaussianBlur(rng.integers(0, 256, (*shape, 3), dtype=np.uint8), (3, 3), 0)
        diff = np.abs(smooth_chroma(photo).astype(float) - _reference(photo))
        assert diff.max() <= 1, (shape, diff.max())


def test_float_input_and_bad_shapes() -> None:
    levels = np.full((4, 4, 3), 300.0, dtype=np.float32)
    assert smooth_chroma(levels).max() == 255
    with pytest.raises(ValueError, match="expected"):
        smooth_chroma(np.zeros((4, 4), dtype=np.uint8))
    with pytest.raises(ValueError, match="expected"):
        smooth_chroma(np.zeros((0, 4, 3), dtype=np.uint8))
