"""Decoding untrusted photo bytes within limits, and (re-exported) encoding results.

`probe_image` reads headers only; `decode_image` probes, then decodes to BGR uint8 (H, W, 3),
the pixel format used everywhere in this project. Accepted: JPEG, PNG, WebP, BMP, TIFF and the
first frame of a GIF, animated WebP or multi-page TIFF. EXIF orientation is applied; alpha is
composited over white; 16-bit samples are scaled, not clipped; CMYK is converted.

Limits are enforced before any pixel is decoded: the byte count first, then the dimensions
the header declares (parsed by `image_headers`, before Pillow opens the file, because Pillow's
WebP and GIF openers already allocate canvases), then Pillow's own idea of the size. Pillow's
global `Image.MAX_IMAGE_PIXELS` and `ImageFile.LOAD_TRUNCATED_IMAGES` are left alone: limits
are per call here, and those globals are shared with every other Pillow user in the process.
With the default 40 MP limit our check refuses long before Pillow's (89 MP warning, 179 MP
error); a limit above 179 MP would be capped by Pillow, reported as `too_many_pixels`.

Every refusal is an `ImageError` (a `UserError`) with a friendly `user_message`, a machine
`reason`, and the technical `detail` for the operator's log.
"""

from __future__ import annotations

import io
import logging
import struct
import zlib
from dataclasses import dataclass
from typing import Final, Literal, get_args

import numpy as np
from PIL import ExifTags, Image, ImageFile, TiffImagePlugin

from core.errors import UserError
from inference.encoding import encode_jpeg, encode_png, encode_webp, fit_within
from inference.image_arrays import apply_orientation, bgr_from_pillow
from inference.image_headers import (
    ACCEPTED_FORMATS,
    declared_size,
    is_unsupported_image,
    sniff_kind,
)

__all__ = [
    "ImageError",
    "ImageErrorReason",
    "ImageInfo",
    "ImageLimits",
    "decode_image",
    "encode_jpeg",
    "encode_png",
    "encode_webp",
    "fit_within",
    "probe_image",
]

log = logging.getLogger(__name__)

ImageErrorReason = Literal[
    "empty",
    "too_many_bytes",
    "too_many_pixels",
    "not_an_image",
    "unsupported_format",
    "truncated",
    "corrupt",
]

_ACCEPTED_TEXT: Final = "JPEG, PNG, WebP, BMP, TIFF or GIF"
# What Pillow raises from opening or decoding damaged data (its C decoders raise OSError).
_DECODE_ERRORS: Final = (
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    struct.error,
    IndexError,
    KeyError,
    TypeError,
    zlib.error,
)
_NOT_AN_IMAGE_NAMES: Final = {
    "PDF": "a PDF document",
    "HTML": "a web page",
    "VIDEO": "a video",
    "ARCHIVE": "an archive",
}


class ImageError(UserError):
    """An uploaded file we cannot or will not decode; `reason` says why, for code and metrics."""

    kind = "bad_image"

    def __init__(
        self, user_message: str, *, reason: ImageErrorReason, detail: str | None = None
    ) -> None:
        if reason not in get_args(ImageErrorReason):
            raise ValueError(f"unknown ImageError reason {reason!r}")
        super().__init__(user_message, detail=detail)
        self.reason: ImageErrorReason = reason


@dataclass(frozen=True)
class ImageLimits:
    max_bytes: int = 20_000_000
    max_pixels: int = 40_000_000

    def __post_init__(self) -> None:
        if self.max_bytes < 1 or self.max_pixels < 1:
            raise ValueError(f"image limits must be positive: {self}")


@dataclass(frozen=True)
class ImageInfo:
    format: str  # one of "JPEG", "PNG", "WEBP", "BMP", "TIFF", "GIF"
    width: int  # after EXIF orientation
    height: int


def probe_image(data: bytes, limits: ImageLimits = ImageLimits()) -> ImageInfo:
    """Format and upright size from the headers alone; raises ImageError for anything
    `decode_image` would refuse before decoding (size limits, not an image, broken header)."""
    image, info, _ = _open_within_limits(data, limits)
    image.close()
    return info


def decode_image(data: bytes, limits: ImageLimits = ImageLimits()) -> np.ndarray:
    """Decode to a C-contiguous BGR uint8 array of shape (info.height, info.width, 3), the
    right way up; raises ImageError (before decoding, if a limit is exceeded)."""
    image, info, orientation = _open_within_limits(data, limits)
    with image:
        try:
            image.load()
        except Image.DecompressionBombError as error:
            raise _too_many_pixels_from_pillow(error, limits) from error
        except _DECODE_ERRORS as error:
            raise _unreadable(info.format, data, error) from error
        if isinstance(image, TiffImagePlugin.TiffImageFile):
            # Recent Pillow turns TIFFs upright while loading and then drops the tag.
            orientation = _valid_orientation(image.tag_v2.get(ExifTags.Base.Orientation))
        try:
            bgr = bgr_from_pillow(image)
        except ValueError as error:
            raise ImageError(
                f"That kind of {info.format} image isn't supported. "
                f"Please send an ordinary colour or black-and-white photo.",
                reason="unsupported_format",
                detail=f"{info.format} in Pillow mode {image.mode}: {error}",
            ) from error
        except _DECODE_ERRORS as error:
            raise _unreadable(info.format, data, error) from error
    bgr = apply_orientation(bgr, orientation)
    if bgr.shape[:2] != (info.height, info.width):
        raise ImageError(
            _CORRUPT_MESSAGE,
            reason="corrupt",
            detail=f"{info.format}: header says {info.width}x{info.height}, "
            f"decoded {bgr.shape[1]}x{bgr.shape[0]}",
        )
    return bgr


def _open_within_limits(
    data: bytes, limits: ImageLimits
) -> tuple[ImageFile.ImageFile, ImageInfo, int]:
    """The lazily opened Pillow image (caller closes it), its info, and the EXIF orientation
    still to apply after decoding. Nothing here decodes pixels."""
    if not data:
        raise ImageError(
            f"That file is empty. Please send a photo ({_ACCEPTED_TEXT}).",
            reason="empty",
            detail="zero bytes",
        )
    if len(data) > limits.max_bytes:
        shown, limit = _shown_above(len(data), limits.max_bytes)
        raise ImageError(
            f"That file is too big ({shown} MB); the limit is {limit} MB.",
            reason="too_many_bytes",
            detail=f"{len(data)} bytes > max_bytes={limits.max_bytes}",
        )
    kind = sniff_kind(data)
    if kind not in ACCEPTED_FORMATS:
        raise _not_accepted(kind, data)
    declared = declared_size(kind, data)
    if declared is not None:
        _check_pixels(kind, declared, limits, source="declared by the header")
    try:
        image = Image.open(io.BytesIO(data), formats=[kind])
    except Image.DecompressionBombError as error:
        raise _too_many_pixels_from_pillow(error, limits) from error
    except _DECODE_ERRORS as error:  # UnidentifiedImageError is an OSError
        raise _unreadable(kind, data, error) from error
    try:
        _check_pixels(kind, image.size, limits, source="as opened by Pillow")
        stored_width, stored_height, orientation = _stored_size_and_orientation(image)
    except _DECODE_ERRORS as error:  # e.g. TIFF dimension tags of a nonsensical type
        image.close()
        raise _unreadable(kind, data, error) from error
    except BaseException:
        image.close()
        raise
    if orientation in (5, 6, 7, 8):  # stored sideways
        stored_width, stored_height = stored_height, stored_width
    return image, ImageInfo(kind, stored_width, stored_height), orientation


def _stored_size_and_orientation(image: ImageFile.ImageFile) -> tuple[int, int, int]:
    """Size as stored (before orientation) and the EXIF orientation, without decoding."""
    if isinstance(image, TiffImagePlugin.TiffImageFile):
        # Read the tags: recent Pillow reports a TIFF's size already turned upright.
        tags = image.tag_v2
        orientation = _valid_orientation(tags.get(ExifTags.Base.Orientation))
        return int(tags[256]), int(tags[257]), orientation
    width, height = image.size
    try:
        # PngImageFile.getexif() would decode the whole image to look for an eXIf chunk after
        # the pixels; the base method reads only what the header gave (as browsers do).
        exif = Image.Image.getexif(image)
        orientation = _valid_orientation(exif.get(ExifTags.Base.Orientation))
    except _DECODE_ERRORS as error:
        log.info("ignoring unreadable EXIF in a %s upload: %r", image.format, error)
        orientation = 1
    return width, height, orientation


def _valid_orientation(value: object) -> int:
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _check_pixels(kind: str, size: tuple[int, int], limits: ImageLimits, *, source: str) -> None:
    width, height = size
    if width < 1 or height < 1:
        raise ImageError(
            _CORRUPT_MESSAGE, reason="corrupt", detail=f"{kind} {source}: {width}x{height}"
        )
    if width * height > limits.max_pixels:
        shown, limit = _shown_above(width * height, limits.max_pixels)
        raise ImageError(
            f"That photo is too large ({shown} MP); the limit is {limit} megapixels.",
            reason="too_many_pixels",
            detail=f"{kind} {width}x{height} {source} > max_pixels={limits.max_pixels}",
        )


def _too_many_pixels_from_pillow(error: Exception, limits: ImageLimits) -> ImageError:
    _, limit = _shown_above(limits.max_pixels + 1, limits.max_pixels)
    return ImageError(
        f"That photo is too large; the limit is {limit} megapixels.",
        reason="too_many_pixels",
        detail=f"Pillow: {error}",
    )


_CORRUPT_MESSAGE: Final = (
    "That photo seems to be damaged and can't be opened. "
    "Please send it again, or save it as JPEG or PNG and send that."
)
_TRUNCATED_MESSAGE: Final = "That file looks cut off before the end; please send it again."
# How a complete file ends (trailing zero padding aside): JPEG EOI, PNG IEND + its CRC, GIF ";".
_END_MARKERS: Final = {"JPEG": b"\xff\xd9", "PNG": b"IEND\xaeB`\x82", "GIF": b";"}


def _unreadable(kind: str, data: bytes, error: BaseException) -> ImageError:
    """Pillow could not open or decode data that starts like a `kind` file."""
    if kind in _END_MARKERS:  # the file's own end says whether it arrived whole
        cut_off = not data[-64:].rstrip(b"\x00").endswith(_END_MARKERS[kind])
    else:
        cut_off = isinstance(error, EOFError) or "truncated" in str(error).lower()
    return ImageError(
        _TRUNCATED_MESSAGE if cut_off else _CORRUPT_MESSAGE,
        reason="truncated" if cut_off else "corrupt",
        detail=f"{kind}, {len(data)} bytes: {type(error).__name__}: {error}",
    )


def _not_accepted(kind: str | None, data: bytes) -> ImageError:
    if kind is not None and is_unsupported_image(kind):
        return ImageError(
            f"{kind} images aren't supported. Please send the photo as {_ACCEPTED_TEXT}.",
            reason="unsupported_format",
            detail=f"{kind} file, {len(data)} bytes",
        )
    what = _NOT_AN_IMAGE_NAMES.get(kind or "")
    opening = f"That file is {what}, not a photo." if what else "That file isn't a photo."
    return ImageError(
        f"{opening} Please send a photo ({_ACCEPTED_TEXT}).",
        reason="not_an_image",
        detail=f"sniffed {kind or 'unknown'}, {len(data)} bytes, starts {data[:16]!r}",
    )


def _shown_above(amount: int, limit: int) -> tuple[str, str]:
    """`amount` and `limit` in millions, with just enough decimals that the shown amount is
    visibly over the shown limit (40.4 MP, not 40 MP, against a 40 MP limit)."""
    limit_millions = limit / 1e6
    shown = f"{amount / 1e6:.6f}"
    for decimals in range(7):
        candidate = f"{amount / 1e6:.{decimals}f}"
        if float(candidate) > limit_millions:
            shown = candidate
            break
    return shown, f"{limit_millions:g}"
