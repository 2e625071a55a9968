"""Turning a decoded Pillow image into the project's pixel format: BGR uint8 (H, W, 3).

Pure array maths (orientation, alpha over white, wide-range grey to 8 bits) plus the one
function that knows Pillow's modes. Nothing here reads files or raises user-facing errors.
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

_ALPHA_MODES = frozenset({"RGBA", "RGBa", "LA", "La", "PA"})
_RGB_CONVERTIBLE_MODES = frozenset({"RGBX", "CMYK", "YCbCr", "HSV", "P"})


def apply_orientation(image: np.ndarray, orientation: int) -> np.ndarray:
    """Turn rows x columns stored with EXIF Orientation `orientation` (1-8) the right way up,
    as Pillow's `ImageOps.exif_transpose` does. Unknown values leave the image as stored.
    Works for (H, W) and (H, W, C); the result is C-contiguous."""
    if orientation == 2:  # mirrored horizontally
        turned = image[:, ::-1]
    elif orientation == 3:  # upside down
        turned = image[::-1, ::-1]
    elif orientation == 4:  # mirrored vertically
        turned = image[::-1]
    elif orientation == 5:  # mirrored about the main diagonal
        turned = image.swapaxes(0, 1)
    elif orientation == 6:  # needs a quarter turn clockwise
        turned = np.rot90(image, -1)
    elif orientation == 7:  # mirrored about the anti-diagonal
        turned = image[::-1, ::-1].swapaxes(0, 1)
    elif orientation == 8:  # needs a quarter turn anticlockwise
        turned = np.rot90(image, 1)
    else:
        turned = image
    return np.ascontiguousarray(turned)


def composite_on_white(rgba: np.ndarray) -> np.ndarray:
    """(H, W, 4) uint8 colour + straight alpha -> (H, W, 3) uint8 over a white background,
    rounded to nearest: out = (c * a + 255 * (255 - a)) / 255."""
    colour = rgba[..., :3].astype(np.uint16)
    alpha = rgba[..., 3:4].astype(np.uint16)
    mixed = (colour * alpha + 255 * (255 - alpha) + 127) // 255
    return mixed.astype(np.uint8)


def wide_grey_to_8bit(values: np.ndarray) -> np.ndarray:
    """A single-channel image with more than 8 bits (uint16, int32 or float) -> uint8.

    Integers (and floats above 1) in 0..65535 are read as 16-bit samples and scaled by
    255/65535 with rounding (65535 -> 255, 32768 -> 128), never clipped. Floats in 0..1 are
    scaled by 255. Anything else (negative or larger numbers) is stretched from its own minimum
    to its maximum, the only reading that keeps the picture visible. NaN counts as 0.
    """
    if values.dtype.kind == "u" and values.dtype.itemsize == 2:  # the common case, in integers
        return ((values.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    data = np.nan_to_num(values.astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    if data.size == 0:
        return np.zeros(values.shape, dtype=np.uint8)
    low, high = float(data.min()), float(data.max())
    if np.issubdtype(values.dtype, np.floating) and low >= 0.0 and high <= 1.0:
        scaled = data * np.float32(255.0)
    elif low >= 0.0 and high <= 65535.0:
        scaled = data * np.float32(255.0 / 65535.0)
    elif high > low:
        scaled = (data - low) * np.float32(255.0 / (high - low))
    else:
        scaled = np.zeros_like(data)
    rounded: np.ndarray = np.clip(np.rint(scaled), 0, 255)
    return rounded.astype(np.uint8)


def bgr_from_pillow(image: Image.Image) -> np.ndarray:
    """A loaded Pillow image in any mode -> C-contiguous BGR uint8 (H, W, 3).

    Alpha (and palette or colour-key transparency) is composited over white; CMYK uses
    Pillow's conversion, which already undid Adobe's inverted CMYK while decoding; 16-bit and
    wider greys go through `wide_grey_to_8bit`. Raises ValueError for a mode with no sensible
    conversion.
    """
    mode = image.mode
    if mode in _ALPHA_MODES or ("transparency" in image.info and mode in {"P", "L", "RGB", "1"}):
        if mode == "La":  # Pillow converts premultiplied grey + alpha only to LA
            image = image.convert("LA")
        rgba = np.asarray(image if image.mode == "RGBA" else image.convert("RGBA"))
        return _bgr_from_rgb(composite_on_white(rgba))
    if mode == "RGB":
        return _bgr_from_rgb(np.asarray(image))
    if mode == "L":
        return _bgr_from_grey(np.asarray(image))
    if mode == "1":
        return _bgr_from_grey(np.asarray(image.convert("L")))
    if mode.startswith("I") or mode == "F":
        return _bgr_from_grey(wide_grey_to_8bit(np.asarray(image)))
    if mode in _RGB_CONVERTIBLE_MODES:
        return _bgr_from_rgb(np.asarray(image.convert("RGB")))
    raise ValueError(f"no conversion to BGR for Pillow mode {mode!r}")


def _bgr_from_rgb(rgb: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGR))


def _bgr_from_grey(grey: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(cv2.cvtColor(np.ascontiguousarray(grey), cv2.COLOR_GRAY2BGR))
