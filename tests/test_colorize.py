"""The colourisation pipeline, checked exactly with an oracle model built in the test."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from inference.colorize import (
    Colorizer,
    bgr_from_lab,
    has_colour,
    lab_from_bgr,
    model_input,
    tint_residual,
    working_shape,
)
from inference.sessions import ModelSession
from tests.onnx_builders import oracle_colorizer

TESTDATA = Path(__file__).resolve().parents[2] / "shared" / "testdata"


def smooth_photo(height: int = 301, width: int = 457) -> np.ndarray:
    """A colourful, non-square, non-symmetric test picture."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    blue = 40 + 180 * x / width
    green = 30 + 200 * (y / height) ** 1.5
    red = 128 + 100 * np.sin(x / 37.0) * np.cos(y / 23.0)
    return np.clip(np.dstack([blue, green, red]), 0, 255).astype(np.uint8)


def grey(bgr: np.ndarray) -> np.ndarray:
    lab = lab_from_bgr(bgr)
    lab[..., 1:] = 0
    return bgr_from_lab(lab)


def oracle_for(photo: np.ndarray, size: int) -> Colorizer:
    lab = lab_from_bgr(photo)
    grey_lab = lab_from_bgr(grey(photo))
    expected = model_input(np.ascontiguousarray(grey_lab[..., 0]), size)
    ab = np.transpose(lab[..., 1:], (2, 0, 1))
    model = oracle_colorizer(expected, ab, size=size)
    session = ModelSession("oracle", model, threads=1, warmup_shape=(1, size, size))
    return Colorizer(session)


def test_colorize_of_grey_reproduces_the_photo_within_two_levels() -> None:
    photo = smooth_photo()
    colorizer = oracle_for(photo, size=64)
    assert colorizer.size == 64
    result = colorizer.colorize_sync(grey(photo))
    assert result.bgr.shape == photo.shape
    assert result.had_colour is False
    diff = np.abs(result.bgr.astype(int) - photo.astype(int))
    assert diff.max() <= 2, diff.max()


async def test_async_colorize_matches_sync_and_reports_colour_input() -> None:
    photo = smooth_photo(200, 120)
    colorizer = oracle_for(photo, size=32)
    result = await colorizer.colorize(photo)  # a colour photo goes in as is: turned to grey
    assert result.had_colour is True
    assert np.abs(result.bgr.astype(int) - photo.astype(int)).max() <= 2


def test_a_dynamic_model_gets_the_photo_at_its_own_aspect_ratio() -> None:
    photo = smooth_photo(301, 457)
    lab = lab_from_bgr(photo)
    grey_lab = lab_from_bgr(grey(photo))
    expected = model_input(np.ascontiguousarray(grey_lab[..., 0]), 64, stride=16)
    assert expected.shape == (1, 48, 80)  # 3:2 kept, about 64 * 64 pixels, multiples of 16
    ab = np.transpose(lab[..., 1:], (2, 0, 1))
    model = oracle_colorizer(expected, ab, size=64, dynamic=True)
    colorizer = Colorizer(ModelSession("oracle", model, threads=1, warmup_shape=(1, 48, 80)))
    assert colorizer.stride == 16
    result = colorizer.colorize_sync(grey(photo))  # fed a squashed 64x64, the oracle would punish
    assert np.abs(result.bgr.astype(int) - photo.astype(int)).max() <= 2


@pytest.mark.parametrize(
    ("height", "width", "expected"),
    [
        (321, 481, (192, 288)),
        (481, 321, (288, 192)),
        (500, 500, (224, 224)),
        (100, 2000, (128, 448)),
    ],
)
def test_working_shape_keeps_the_aspect_and_the_pixel_count(
    height: int, width: int, expected: tuple[int, int]
) -> None:
    h, w = working_shape(height, width, 224, 32)
    assert (h, w) == expected
    assert h % 32 == 0 and w % 32 == 0


def test_a_wrong_input_scaling_is_caught_by_the_oracle() -> None:
    photo = smooth_photo()
    colorizer = oracle_for(photo, size=64)
    flipped = np.ascontiguousarray(grey(photo)[::-1])
    result = colorizer.colorize_sync(flipped)
    assert np.abs(result.bgr.astype(int) - photo[::-1].astype(int)).max() > 20


@pytest.mark.parametrize("tone", [(1.0, 1.0, 1.0), (0.75, 0.9, 1.0), (1.0, 0.85, 0.7)])
def test_grey_sepia_and_tinted_photos_count_as_grey(tone: tuple[float, float, float]) -> None:
    luminance = cv2.cvtColor(smooth_photo(), cv2.COLOR_BGR2GRAY).astype(np.float32)
    tinted = np.clip(np.dstack([luminance * t for t in tone]), 0, 255).astype(np.uint8)
    assert not has_colour(tinted)


def test_a_colour_photo_counts_as_colour() -> None:
    assert has_colour(smooth_photo())
    assert tint_residual(lab_from_bgr(smooth_photo())) > 10


@pytest.mark.skipif(not TESTDATA.is_dir(), reason="../shared/testdata is not beside the checkout")
def test_real_photos_are_classified() -> None:
    colour = cv2.imread(str(TESTDATA / "chelsea_color.png"))
    grey_photo = cv2.imread(str(TESTDATA / "chelsea_grey.png"))
    assert has_colour(colour)
    assert not has_colour(grey_photo)
