"""Pure pixel maths behind decoding: orientation, alpha over white, wide greys, Pillow modes."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageOps

from inference.image_arrays import (
    apply_orientation,
    bgr_from_pillow,
    composite_on_white,
    wide_grey_to_8bit,
)
from tests.image_builders import exif_with_orientation


@pytest.mark.parametrize("orientation", range(1, 9))
def test_orientation_matches_pillow_exif_transpose(orientation: int) -> None:
    rgb = np.random.default_rng(orientation).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    image = Image.fromarray(rgb)
    image.getexif().update(exif_with_orientation(orientation))
    expected = np.asarray(ImageOps.exif_transpose(image))
    turned = apply_orientation(rgb, orientation)
    assert turned.flags.c_contiguous
    np.testing.assert_array_equal(turned, expected)


def test_orientation_works_on_2d_arrays_and_ignores_invalid_values() -> None:
    grey = np.arange(6, dtype=np.uint8).reshape(2, 3)
    np.testing.assert_array_equal(apply_orientation(grey, 6), [[3, 0], [4, 1], [5, 2]])
    np.testing.assert_array_equal(apply_orientation(grey, 0), grey)
    np.testing.assert_array_equal(apply_orientation(grey, 9), grey)


def test_composite_on_white_is_exact_for_every_colour_and_alpha() -> None:
    colour, alpha = np.meshgrid(np.arange(256), np.arange(256), indexing="ij")
    rgba = np.stack([colour, colour, colour, alpha], axis=-1).astype(np.uint8)
    expected = np.rint((colour * alpha + 255.0 * (255 - alpha)) / 255.0)
    out = composite_on_white(rgba)
    assert out.shape == (256, 256, 3)
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out[..., 0], expected)
    assert (out[:, 0] == 255).all()  # fully transparent: white whatever the colour
    np.testing.assert_array_equal(out[:, 255, 0], np.arange(256))  # opaque: untouched


def test_16bit_is_scaled_with_rounding_not_clipped() -> None:
    values = np.array([0, 257, 32768, 65535, 65535 // 2, 128 * 257], dtype=np.uint16)
    np.testing.assert_array_equal(wide_grey_to_8bit(values), [0, 1, 128, 255, 127, 128])
    every_level = (np.arange(256) * 257).astype(">u2")  # big-endian too
    np.testing.assert_array_equal(wide_grey_to_8bit(every_level), np.arange(256))


def test_wide_grey_floats_and_odd_ranges() -> None:
    np.testing.assert_array_equal(
        wide_grey_to_8bit(np.array([0.0, 0.25, 1.0, np.nan], dtype=np.float32)), [0, 64, 255, 0]
    )
    np.testing.assert_array_equal(
        wide_grey_to_8bit(np.array([-1000, 0, 1000], dtype=np.int32)), [0, 128, 255]
    )
    np.testing.assert_array_equal(wide_grey_to_8bit(np.array([70000, 70000])), [0, 0])
    assert wide_grey_to_8bit(np.zeros((0, 3), dtype=np.int32)).shape == (0, 3)


def _palette_image(mode: str, index: int) -> Image.Image:
    image = Image.new(mode, (2, 2), (index, 0) if mode == "PA" else index)
    image.putpalette([0, 0, 0] * 3 + [255, 0, 0])  # index 3 is red
    return image


def _with_transparency(image: Image.Image, key: object) -> Image.Image:
    image.info["transparency"] = key
    return image


MODE_CASES = [
    ("1 white", lambda: Image.new("1", (2, 2), 1), (255, 255, 255)),
    ("L", lambda: Image.new("L", (2, 2), 100), (100, 100, 100)),
    ("L colour key", lambda: _with_transparency(Image.new("L", (2, 2), 100), 100), (255,) * 3),
    ("LA opaque", lambda: Image.new("LA", (2, 2), (100, 255)), (100, 100, 100)),
    ("LA clear", lambda: Image.new("LA", (2, 2), (100, 0)), (255, 255, 255)),
    ("La half", lambda: Image.new("La", (2, 2), (50, 128)), (177, 177, 177)),
    ("P", lambda: _palette_image("P", 3), (0, 0, 255)),
    ("P transparent", lambda: _with_transparency(_palette_image("P", 3), 3), (255, 255, 255)),
    ("PA clear", lambda: _palette_image("PA", 3), (255, 255, 255)),
    ("I;16", lambda: Image.new("I;16", (2, 2), 65535), (255, 255, 255)),
    ("I;16B", lambda: Image.new("I;16B", (2, 2), 32768), (128, 128, 128)),
    ("I", lambda: Image.new("I", (2, 2), 32768), (128, 128, 128)),
    ("F", lambda: Image.new("F", (2, 2), 0.25), (64, 64, 64)),
    ("RGB", lambda: Image.new("RGB", (2, 2), (10, 20, 30)), (30, 20, 10)),
    ("RGBA half", lambda: Image.new("RGBA", (2, 2), (0, 0, 0, 128)), (127, 127, 127)),
    ("RGBa half", lambda: Image.new("RGBa", (2, 2), (128, 0, 0, 128)), (127, 127, 255)),
    ("RGBX", lambda: Image.new("RGBX", (2, 2), (10, 20, 30, 0)), (30, 20, 10)),
    ("CMYK red", lambda: Image.new("CMYK", (2, 2), (0, 255, 255, 0)), (0, 0, 255)),
    ("CMYK grey", lambda: Image.new("CMYK", (2, 2), (0, 0, 0, 128)), (127, 127, 127)),
    ("YCbCr", lambda: Image.new("RGB", (2, 2), (0, 0, 255)).convert("YCbCr"), (255, 0, 0)),
    ("HSV", lambda: Image.new("HSV", (2, 2), (0, 255, 255)), (0, 0, 255)),
]


@pytest.mark.parametrize(("name", "build", "expected"), MODE_CASES, ids=[c[0] for c in MODE_CASES])
def test_every_pillow_mode_becomes_bgr_uint8(
    name: str, build: object, expected: tuple[int, int, int]
) -> None:
    image = build()  # type: ignore[operator]
    bgr = bgr_from_pillow(image)
    assert bgr.shape == (2, 2, 3)
    assert bgr.dtype == np.uint8
    assert bgr.flags.c_contiguous
    assert np.abs(bgr[1, 1].astype(int) - expected).max() <= 1, bgr[1, 1]


def test_mode_without_a_conversion_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="LAB"):
        bgr_from_pillow(Image.new("LAB", (2, 2), (50, 0, 0)))
