"""Edge-aware chroma upsampling: colour stops at lightness edges, and is bilinear elsewhere."""

from __future__ import annotations

import cv2
import numpy as np

from inference.chroma_upsampling import BILINEAR, ChromaUpsampling, upsample_ab
from inference.colorize import merge_ab

EDGE_AWARE = ChromaUpsampling()


def step_photo(height: int = 240, width: int = 360) -> tuple[np.ndarray, np.ndarray]:
    """L* with a slanted step edge (dark left, bright right) and ab that changes with it."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    right = x > width * 0.45 + 0.3 * (y - height / 2)
    lightness = np.where(right, 75.0, 30.0).astype(np.float32)
    ab = np.where(right[..., None], [[-20.0, -40.0]], [[50.0, 30.0]]).astype(np.float32)
    return lightness, ab


def low_res(ab: np.ndarray, factor: int = 6) -> np.ndarray:
    size = (ab.shape[1] // factor, ab.shape[0] // factor)
    small: np.ndarray = cv2.resize(ab, size, interpolation=cv2.INTER_AREA)
    return small


def test_colour_stops_at_the_edge_where_bilinear_bleeds() -> None:
    lightness, true_ab = step_photo()
    small = low_res(true_ab)
    near = cv2.dilate(cv2.Canny(lightness.astype(np.uint8), 10, 20), np.ones((7, 7))) > 0
    errors = {}
    for name, upsampling in (("bilinear", BILINEAR), ("edge-aware", EDGE_AWARE)):
        ab = upsample_ab(lightness, small, upsampling)
        assert ab.shape == true_ab.shape and ab.dtype == np.float32
        errors[name] = float(np.linalg.norm(ab - true_ab, axis=-1)[near].mean())
    assert errors["bilinear"] > 10, errors  # a bleed of several pixels
    assert errors["edge-aware"] < 0.5 * errors["bilinear"], errors


def test_flat_lightness_gives_the_bilinear_colour() -> None:
    y, x = np.mgrid[0:48, 0:64].astype(np.float32)
    small = np.dstack([20 * np.sin(x / 9), 15 * np.cos(y / 7)]).astype(np.float32)
    lightness = np.full((480, 640), 55.0, np.float32)
    smooth = upsample_ab(lightness, small, EDGE_AWARE)
    plain = upsample_ab(lightness, small, BILINEAR)
    assert np.abs(smooth - plain).max() < 0.5


def test_the_result_never_leaves_the_predicted_colours() -> None:
    rng = np.random.default_rng(3)
    small = rng.uniform(-60, 60, (20, 30, 2)).astype(np.float32)
    lightness = rng.uniform(0, 100, (200, 300)).astype(np.float32)  # texture everywhere
    ab = upsample_ab(lightness, small, EDGE_AWARE)
    assert np.isfinite(ab).all()
    assert ab.min() >= small.min() - 1e-3 and ab.max() <= small.max() + 1e-3


def test_merge_ab_upsamples_edge_aware_by_default() -> None:
    lightness, true_ab = step_photo()
    small = np.transpose(low_res(true_ab), (2, 0, 1))
    served = merge_ab(lightness, small)
    expected = merge_ab(lightness, small, EDGE_AWARE)
    assert np.array_equal(served, expected)
    assert not np.array_equal(served, merge_ab(lightness, small, BILINEAR))
