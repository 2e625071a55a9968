"""Image files built in memory for the image tests: no binary fixtures in the repository."""

from __future__ import annotations

import io
import struct
import zlib
from typing import Any

import numpy as np
from PIL import Image

RED, GREEN, BLUE, WHITE = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)


def pillow_bytes(image: Image.Image, fmt: str, **params: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def quadrants_rgb(width: int, height: int) -> np.ndarray:
    """RGB uint8: top-left red, top-right green, bottom-left blue, bottom-right white."""
    image = np.zeros((height, width, 3), dtype=np.uint8)
    half_h, half_w = height // 2, width // 2
    image[:half_h, :half_w] = RED
    image[:half_h, half_w:] = GREEN
    image[half_h:, :half_w] = BLUE
    image[half_h:, half_w:] = WHITE
    return image


def quadrant_centres_bgr(bgr: np.ndarray) -> dict[str, tuple[int, int, int]]:
    """The BGR colour at the centre of each quadrant, keyed "tl", "tr", "bl", "br"."""
    height, width = bgr.shape[:2]
    rows = {"t": height // 4, "b": 3 * height // 4}
    cols = {"l": width // 4, "r": 3 * width // 4}
    return {
        r + c: tuple(int(v) for v in bgr[rows[r], cols[c]])  # type: ignore[misc]
        for r in "tb"
        for c in "lr"
    }


def bgr(rgb: tuple[int, int, int]) -> tuple[int, int, int]:
    return rgb[2], rgb[1], rgb[0]


def exif_with_orientation(orientation: int) -> Image.Exif:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif


# ---- PNG, by hand -----------------------------------------------------------------------


def png_chunk(tag: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(tag + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + tag + payload + struct.pack(">I", crc)


def png_bytes(
    width: int, height: int, idat: bytes, *, bit_depth: int = 8, colour_type: int = 2
) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", idat)
        + png_chunk(b"IEND", b"")
    )


def png_declaring(width: int, height: int) -> bytes:
    """A valid-looking PNG whose header declares width x height RGB but whose IDAT is tiny."""
    return png_bytes(width, height, zlib.compress(b"\x00" * 16))


def zlib_bomb_png(side: int) -> bytes:
    """A real decompression bomb: a side x side greyscale PNG, all black, that inflates to
    side * (side + 1) bytes from about a thousandth of that."""
    compressor = zlib.compressobj(9)
    row = b"\x00" * (side + 1)  # filter byte + samples
    parts = [compressor.compress(row) for _ in range(side)]
    parts.append(compressor.flush())
    return png_bytes(side, side, b"".join(parts), colour_type=0)


# ---- GIF, WebP, TIFF, by hand -----------------------------------------------------------

_ONE_PIXEL_LZW = b"\x02\x02\x44\x01\x00"  # min code size 2, one sub-block, terminator


def gif_bytes(screen: tuple[int, int], frame: tuple[int, int]) -> bytes:
    """A GIF with the given logical screen and one frame of the given size (data for one
    pixel only: enough to open, not to decode a large frame)."""
    palette = bytes((*WHITE, 0, 0, 0))
    return (
        b"GIF89a"
        + struct.pack("<HHBBB", screen[0], screen[1], 0x80, 0, 0)
        + palette
        + b","
        + struct.pack("<HHHHB", 0, 0, frame[0], frame[1], 0)
        + _ONE_PIXEL_LZW
        + b";"
    )


def riff_chunk(tag: bytes, payload: bytes) -> bytes:
    padding = b"\x00" if len(payload) % 2 else b""
    return tag + struct.pack("<I", len(payload)) + payload + padding


def webp_canvas_bomb(side: int) -> bytes:
    """An animated WebP with a side x side canvas and a single 1 x 1 frame: libwebp's
    animation decoder allocates the whole canvas (twice) as soon as Pillow opens it."""
    one_pixel = pillow_bytes(Image.new("RGB", (1, 1), RED), "WEBP", lossless=True)
    frame_chunk = one_pixel[12:]  # the VP8L chunk
    canvas = (side - 1).to_bytes(3, "little") * 2
    body = (
        b"WEBP"
        + riff_chunk(b"VP8X", bytes([0x02, 0, 0, 0]) + canvas)  # flag: animation
        + riff_chunk(b"ANIM", b"\x00" * 6)
        + riff_chunk(b"ANMF", b"\x00" * 12 + b"\x64\x00\x00\x00" + frame_chunk)
    )
    return b"RIFF" + struct.pack("<I", len(body)) + body


def tiff_bytes(
    width: int, height: int, *, big_endian: bool = False, padding_entries: int = 0
) -> bytes:
    """A minimal uncompressed 8-bit greyscale TIFF whose header declares width x height; the
    single strip holds only 16 bytes (enough to open it, not to decode a large one).
    `padding_entries` repeats a harmless NewSubfileType tag before the dimensions."""
    endian = ">" if big_endian else "<"
    strip = b"\x80" * 16
    entries = [(254, 4, 0)] * padding_entries + [  # (tag, type, value); 3 SHORT, 4 LONG
        (256, 4, width),
        (257, 4, height),
        (258, 3, 8),
        (259, 3, 1),
        (262, 3, 1),
        (273, 4, 0),  # StripOffsets, patched below
        (277, 3, 1),
        (278, 4, height),
        (279, 4, len(strip)),
    ]
    ifd_size = 2 + 12 * len(entries) + 4
    strip_offset = 8 + ifd_size
    ifd = struct.pack(endian + "H", len(entries))
    for tag, kind, value in entries:
        value = strip_offset if tag == 273 else value
        packed = struct.pack(endian + ("H2x" if kind == 3 else "I"), value)
        ifd += struct.pack(endian + "HHI", tag, kind, 1) + packed
    ifd += struct.pack(endian + "I", 0)
    header = (b"MM\x00*" if big_endian else b"II*\x00") + struct.pack(endian + "I", 8)
    return header + ifd + strip
