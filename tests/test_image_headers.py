"""Pure header parsing: what a file is and what size it declares, from bytes alone."""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest
from PIL import Image

from inference.image_headers import ACCEPTED_FORMATS, declared_size, sniff_kind
from tests.image_builders import (
    gif_bytes,
    pillow_bytes,
    png_declaring,
    tiff_bytes,
    webp_canvas_bomb,
)

SIZE = (37, 23)  # odd and non-square, so swapped or rounded dimensions show


def _sample(fmt: str, **params: object) -> bytes:
    pixels = np.random.default_rng(1).integers(0, 256, (SIZE[1], SIZE[0], 3), dtype=np.uint8)
    return pillow_bytes(Image.fromarray(pixels), fmt, **params)


SAMPLES = {
    "JPEG": lambda: _sample("JPEG"),
    "JPEG progressive": lambda: _sample("JPEG", progressive=True),
    "PNG": lambda: _sample("PNG"),
    "GIF": lambda: _sample("GIF"),
    "BMP": lambda: _sample("BMP"),
    "TIFF": lambda: _sample("TIFF"),
    "TIFF LZW": lambda: _sample("TIFF", compression="tiff_lzw"),
    "TIFF big-endian": lambda: tiff_bytes(*SIZE, big_endian=True),
    "WEBP lossy": lambda: _sample("WEBP", quality=80),
    "WEBP lossless": lambda: _sample("WEBP", lossless=True),
    "WEBP extended": lambda: _sample("WEBP", lossless=True, exif=b"Exif\x00\x00II*\x00"),
}


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_sniff_and_declared_size_agree_with_pillow(name: str) -> None:
    data = SAMPLES[name]()
    kind = name.split()[0]
    assert sniff_kind(data) == kind
    assert declared_size(kind, data) == SIZE
    with Image.open(io.BytesIO(data)) as image:
        assert image.size == SIZE


def test_webp_variants_really_use_the_three_chunk_kinds() -> None:
    assert SAMPLES["WEBP lossy"]()[12:16] == b"VP8 "
    assert SAMPLES["WEBP lossless"]()[12:16] == b"VP8L"
    assert SAMPLES["WEBP extended"]()[12:16] == b"VP8X"


def test_bigtiff_declared_size() -> None:
    data = _sample("TIFF", big_tiff=True)
    assert data[2:4] == b"+\x00"
    assert declared_size("TIFF", data) == SIZE


def test_bmp_stored_top_down_declares_a_positive_height() -> None:
    data = bytearray(SAMPLES["BMP"]())
    data[22:26] = struct.pack("<i", -SIZE[1])
    assert declared_size("BMP", bytes(data)) == SIZE


def test_gif_frame_larger_than_the_screen_grows_the_size() -> None:
    assert declared_size("GIF", gif_bytes((10, 10), (300, 20))) == (300, 20)
    assert declared_size("GIF", gif_bytes((65535, 65535), (1, 1))) == (65535, 65535)


def test_bomb_headers_declare_their_huge_sizes() -> None:
    assert declared_size("PNG", png_declaring(60000, 60000)) == (60000, 60000)
    assert declared_size("WEBP", webp_canvas_bomb(12000)) == (12000, 12000)
    assert declared_size("TIFF", tiff_bytes(100000, 70000)) == (100000, 70000)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_every_prefix_gives_a_size_or_none_never_an_exception(name: str) -> None:
    data = SAMPLES[name]()
    kind = name.split()[0]
    for end in range(len(data) + 1):
        size = declared_size(kind, data[:end])
        assert size is None or size == SIZE, (end, size)


def test_random_bytes_after_each_magic_never_raise() -> None:
    rng = np.random.default_rng(7)
    magics = {
        "JPEG": b"\xff\xd8\xff",
        "PNG": b"\x89PNG\r\n\x1a\n",
        "GIF": b"GIF89a",
        "BMP": b"BM",
        "TIFF": b"II*\x00",
        "WEBP": b"RIFF\x00\x00\x00\x00WEBPVP8X",
    }
    for kind, magic in magics.items():
        for _ in range(300):
            data = magic + rng.integers(0, 256, int(rng.integers(0, 80)), np.uint8).tobytes()
            size = declared_size(kind, data)
            assert size is None or (len(size) == 2 and min(size) >= 0)


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"%PDF-1.7\n%\xe2\xe3", "PDF"),
        (b"<!DOCTYPE html><html><body>hi</body></html>", "HTML"),
        (b"\n  <html lang='en'>", "HTML"),
        (b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>', "SVG"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", "HEIC"),
        (b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1", "AVIF"),
        (b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2", "VIDEO"),
        (b"\x00\x00\x00\x0cjP  \r\n\x87\n\x00\x00", "JPEG 2000"),
        (b"8BPS\x00\x01", "PSD"),
        (b"PK\x03\x04\x14\x00", "ARCHIVE"),
        (b"Just some notes, saved as photo.jpg\n", None),
        (b"", None),
    ],
)
def test_sniff_recognises_common_non_photos(data: bytes, kind: str | None) -> None:
    assert sniff_kind(data) == kind
    assert sniff_kind(data) not in ACCEPTED_FORMATS
