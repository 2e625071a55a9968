"""Encoding results: JPEG within Telegram's limits, exact PNG, WebP thumbnails, fit_within."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from inference.images import decode_image, encode_jpeg, encode_png, encode_webp, fit_within


def _gradient(height: int, width: int) -> np.ndarray:
    """A smooth BGR image (cheap to compress, so size limits don't interfere)."""
    rows = np.linspace(0, 255, height, dtype=np.float32)[:, None]
    cols = np.linspace(0, 255, width, dtype=np.float32)[None, :]
    return np.stack([rows + 0 * cols, 0 * rows + cols, (rows + cols) / 2], axis=-1).astype(np.uint8)


def _noise(height: int, width: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def _jpeg_shape(data: bytes) -> tuple[int, ...]:
    assert data[:3] == b"\xff\xd8\xff"
    decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert decoded is not None
    return tuple(decoded.shape)


def test_small_jpeg_keeps_its_size_and_colours() -> None:
    image = _gradient(120, 160)
    data = encode_jpeg(image)
    decoded = decode_image(data)
    assert decoded.shape == image.shape
    assert np.abs(decoded.astype(int) - image).mean() < 2


def test_jpeg_over_the_side_sum_is_downscaled_keeping_aspect() -> None:
    data = encode_jpeg(_gradient(3000, 9000))
    height, width, _ = _jpeg_shape(data)
    assert width + height <= 10_000
    assert width + height >= 9_990  # downscaled only as far as needed
    assert abs(width / height - 3.0) < 0.01


def test_portrait_and_custom_side_sum() -> None:
    height, width, _ = _jpeg_shape(encode_jpeg(_gradient(900, 100), max_side_sum=500))
    assert (height, width) == (450, 50)


def test_noise_over_max_bytes_is_downscaled_until_it_fits() -> None:
    image = _noise(600, 800)
    unlimited = encode_jpeg(image)
    assert len(unlimited) > 300_000  # otherwise the limit below would not bite
    data = encode_jpeg(image, max_bytes=100_000)
    assert len(data) <= 100_000
    height, width, _ = _jpeg_shape(data)
    assert width < 800
    assert width > 200  # shrunk towards the limit, not collapsed
    assert abs(width / height - 800 / 600) < 0.02


def test_jpeg_never_exceeds_a_tiny_limit_and_refuses_an_impossible_one() -> None:
    data = encode_jpeg(_noise(200, 200), max_bytes=1_500)
    assert len(data) <= 1_500
    with pytest.raises(ValueError, match="1 x 1"):
        encode_jpeg(_noise(20, 20), max_bytes=50)


def test_jpeg_quality_changes_the_size() -> None:
    image = _noise(100, 100)
    assert len(encode_jpeg(image, quality=30)) < len(encode_jpeg(image, quality=95))


def test_png_round_trips_exactly() -> None:
    image = _noise(61, 97, seed=3)
    data = encode_png(image)
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    np.testing.assert_array_equal(decode_image(data), image)


def test_webp_is_close_and_quality_matters() -> None:
    image = _gradient(90, 120)
    data = encode_webp(image)
    assert data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    decoded = decode_image(data)
    assert decoded.shape == image.shape
    assert np.abs(decoded.astype(int) - image).mean() < 3
    noise = _noise(64, 64)
    assert len(encode_webp(noise, quality=20)) < len(encode_webp(noise, quality=95))


def test_greyscale_2d_arrays_are_accepted() -> None:
    grey = _gradient(40, 50)[..., 0].copy()
    assert decode_image(encode_png(grey))[..., 0].tolist() == grey.tolist()
    assert _jpeg_shape(encode_jpeg(grey)) == (40, 50, 3)


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros((4, 4, 3), dtype=np.float32),
        np.zeros((4, 4, 4), dtype=np.uint8),
        np.zeros((0, 4, 3), dtype=np.uint8),
        np.zeros((4,), dtype=np.uint8),
    ],
    ids=["float", "four channels", "empty", "1-D"],
)
def test_encoders_reject_arrays_that_are_not_images(bad: np.ndarray) -> None:
    for encode in (encode_jpeg, encode_png, encode_webp):
        with pytest.raises(ValueError, match="expected"):
            encode(bad)


def test_fit_within_downscales_the_longer_side_with_area_averaging() -> None:
    landscape = _gradient(300, 400)
    assert fit_within(landscape, 100).shape == (75, 100, 3)
    assert fit_within(np.ascontiguousarray(landscape.swapaxes(0, 1)), 100).shape == (100, 75, 3)
    checkerboard = np.indices((64, 64)).sum(axis=0) % 2 * 255
    board = np.repeat(checkerboard[..., None], 3, axis=-1).astype(np.uint8)
    halved = fit_within(board, 32)
    assert halved.shape == (32, 32, 3)
    assert np.abs(halved.astype(int) - 127.5).max() <= 1  # averaged, not sampled


def test_fit_within_is_a_no_op_when_already_small_enough() -> None:
    image = _gradient(30, 40)
    assert fit_within(image, 40) is image
    assert fit_within(image, 1000) is image
    with pytest.raises(ValueError, match="max_side"):
        fit_within(image, 0)


def test_fit_within_never_rounds_to_zero() -> None:
    assert fit_within(_gradient(1, 1000), 10).shape == (1, 10, 3)
