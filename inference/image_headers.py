"""What a file claims to be, read from its first bytes only: pure functions over `bytes`.

`sniff_kind` names the file from its magic bytes (an accepted photo format, or a recognised
non-photo such as a PDF, so the user can be told what went wrong). `declared_size` reads the
pixel dimensions a header declares without decoding anything, so a decompression bomb can be
refused before any decoder (Pillow's WebP and GIF openers allocate canvases while opening)
sees it. Both answer `None` rather than raise when the bytes don't say.
"""

from __future__ import annotations

import struct
from typing import Final

ACCEPTED_FORMATS: Final = ("JPEG", "PNG", "WEBP", "BMP", "TIFF", "GIF")

# Recognised formats that are images but that we don't take, by user-facing name.
_UNSUPPORTED_IMAGES: Final = {"HEIC", "AVIF", "JPEG 2000", "SVG", "PSD", "ICO", "JPEG XL"}

_PNG_SIGNATURE: Final = b"\x89PNG\r\n\x1a\n"
_HEIF_BRANDS: Final = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}
_AVIF_BRANDS: Final = {b"avif", b"avis"}
# JPEG start-of-frame markers (they carry the dimensions); C4, C8 and CC are other segments.
_SOF_MARKERS: Final = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def sniff_kind(data: bytes) -> str | None:
    """The file's kind from its magic bytes: one of ACCEPTED_FORMATS, an unsupported image
    format ("HEIC", "SVG", ...), "PDF", "HTML", "VIDEO", "ARCHIVE", or None if unrecognised."""
    head = data[:32]
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(_PNG_SIGNATURE):
        return "PNG"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "WEBP"
    if head.startswith(b"BM"):
        return "BMP"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "TIFF"
    return _sniff_other(data)


def is_unsupported_image(kind: str) -> bool:
    return kind in _UNSUPPORTED_IMAGES


def _sniff_other(data: bytes) -> str | None:
    head = data[:32]
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _AVIF_BRANDS:
            return "AVIF"
        if brand in _HEIF_BRANDS:
            return "HEIC"
        return "VIDEO"  # mp4, mov, 3gp ... all ISO base media files
    if head.startswith((b"\x00\x00\x00\x0cjP  \r\n\x87\n", b"\xff\x4f\xff\x51")):
        return "JPEG 2000"
    if head.startswith((b"\xff\x0a", b"\x00\x00\x00\x0cJXL \r\n\x87\n")):
        return "JPEG XL"
    if head.startswith(b"8BPS"):
        return "PSD"
    if head.startswith(b"\x00\x00\x01\x00") and len(data) > 6 and (data[4] | data[5]) > 0:
        return "ICO"
    if head.startswith(b"%PDF"):
        return "PDF"
    if head.startswith((b"PK\x03\x04", b"Rar!", b"7z\xbc\xaf", b"\x1f\x8b")):
        return "ARCHIVE"
    if head.startswith(b"\x1aE\xdf\xa3") or (head.startswith(b"RIFF") and head[8:12] == b"AVI "):
        return "VIDEO"  # Matroska / WebM, AVI
    text = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if b"<svg" in text:
        return "SVG"
    if text.startswith((b"<!doctype html", b"<html", b"<head", b"<body")):
        return "HTML"
    return None


def declared_size(kind: str, data: bytes) -> tuple[int, int] | None:
    """(width, height) as stored in the header of an accepted format, before any EXIF
    orientation; None when the header is too short or malformed to say."""
    try:
        if kind == "PNG":
            return _png_size(data)
        if kind == "GIF":
            return _gif_size(data)
        if kind == "WEBP":
            return _webp_size(data)
        if kind == "BMP":
            return _bmp_size(data)
        if kind == "JPEG":
            return _jpeg_size(data)
        if kind == "TIFF":
            return _tiff_size(data)
    except (struct.error, IndexError):
        return None
    return None


def _png_size(data: bytes) -> tuple[int, int] | None:
    if data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def _gif_size(data: bytes) -> tuple[int, int] | None:
    """The logical screen, grown to cover the first frame (as Pillow does when opening)."""
    width, height, flags = struct.unpack("<HHB", data[6:11])
    pos = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
    while pos < len(data):
        block = data[pos]
        if block == 0x21:  # extension: label, then data sub-blocks up to a zero length
            pos += 2
            while pos < len(data) and data[pos]:
                pos += data[pos] + 1
            pos += 1
        elif block == 0x2C:  # image descriptor
            left, top, frame_w, frame_h = struct.unpack("<HHHH", data[pos + 1 : pos + 9])
            return max(width, left + frame_w), max(height, top + frame_h)
        else:  # trailer or garbage: no frame to grow the screen
            break
    return int(width), int(height)


def _webp_size(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if len(data) < 30:  # every variant's dimensions end by byte 30
        return None
    if chunk == b"VP8X":
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return width, height
    if chunk == b"VP8 " and data[23:26] == b"\x9d\x01\x2a":
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L" and data[20] == 0x2F:
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    return None


def _bmp_size(data: bytes) -> tuple[int, int] | None:
    (header_size,) = struct.unpack("<I", data[14:18])
    if header_size == 12:  # OS/2 BITMAPCOREHEADER
        width, height = struct.unpack("<HH", data[18:22])
        return int(width), int(height)
    width, height = struct.unpack("<ii", data[18:26])
    return abs(int(width)), abs(int(height))  # a negative height means top-down rows


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:  # standalone markers
            pos += 2
            continue
        if marker in (0xD9, 0xDA):  # end of image / start of scan before any frame header
            return None
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if marker in _SOF_MARKERS:
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
            return int(width), int(height)
        pos += 2 + length
    return None


def _tiff_size(data: bytes) -> tuple[int, int] | None:
    """ImageWidth and ImageLength of the first IFD (classic and BigTIFF, either byte order)."""
    endian = "<" if data[:2] == b"II" else ">"
    (version,) = struct.unpack(endian + "H", data[2:4])
    if version == 42:
        (ifd,) = struct.unpack(endian + "I", data[4:8])
        (count,) = struct.unpack(endian + "H", data[ifd : ifd + 2])
        first, entry_size, entry_format = ifd + 2, 12, "HHI4s"
    else:
        (ifd,) = struct.unpack(endian + "Q", data[8:16])
        (count,) = struct.unpack(endian + "Q", data[ifd : ifd + 8])
        first, entry_size, entry_format = ifd + 8, 20, "HHQ8s"
    found: dict[int, int] = {}
    for index in range(min(count, 4096)):
        at = first + index * entry_size
        tag, kind, _, value = struct.unpack(endian + entry_format, data[at : at + entry_size])
        if tag in (256, 257):
            if kind == 3:  # SHORT
                found[tag] = struct.unpack(endian + "H", value[:2])[0]
            elif kind == 4:  # LONG
                found[tag] = struct.unpack(endian + "I", value[:4])[0]
            elif kind == 16:  # LONG8 (BigTIFF)
                found[tag] = struct.unpack(endian + "Q", value[:8])[0]
    if 256 in found and 257 in found:
        return found[256], found[257]
    return None
