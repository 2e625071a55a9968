"""What a file is, decided by its content, never its name: a photo, a GIF animation, a video,
sound alone, or none of these. Pure functions over bytes.

`gif_layout` walks a GIF's blocks without decoding any pixels (the logical screen, how many
frames, the loop count), so a GIF bomb (a huge canvas, thousands of frames) is refused before a
decoder allocates anything. A GIF of one frame is a photo.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Final, Literal

from inference.image_headers import ACCEPTED_FORMATS, sniff_kind

MediaKind = Literal["photo", "gif", "video", "audio"]
HEAD_BYTES: Final = 4096  # enough of the file for `sniff_media`, except to tell a GIF's frames

# Old QuickTime files start with a box like these instead of `ftyp`.
_BARE_QUICKTIME_BOXES: Final = {b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"}

# Delays under 2 cs are shown as 10 cs by browsers, and by FFmpeg's GIF reader.
MIN_GIF_DELAY_CS = 2
DEFAULT_GIF_DELAY_CS = 10

# ISO base media brands of files that hold sound alone (an .m4a may still carry video, so
# these only decide when the container has no picture: see `probe`).
AUDIO_BRANDS: Final = {b"M4A ", b"M4B ", b"M4P ", b"F4A ", b"F4B "}


@dataclass(frozen=True)
class GifLayout:
    width: int  # the logical screen
    height: int
    frames: int
    loop: int | None  # NETSCAPE2.0 loop count (0: for ever); None: no loop block (play once)
    largest_frame: tuple[int, int]  # the largest image descriptor, which may exceed the screen
    complete: bool  # the trailer was reached
    duration_cs: int = 0  # the frames' delays added up, as players (and FFmpeg) show them

    @property
    def duration(self) -> float:
        return self.duration_cs / 100


def sniff_media(data: bytes) -> MediaKind | None:
    """The kind of media in `data` (the whole file, or for anything but a GIF, its first
    `HEAD_BYTES`); None for anything else (text, documents, archives, unknown bytes)."""
    kind = sniff_kind(data)
    if kind == "GIF":
        try:
            return "gif" if gif_layout(data, stop_after=2).frames > 1 else "photo"
        except ValueError:
            return "gif"  # let the decoder say what is wrong with it
    if kind in ACCEPTED_FORMATS:
        return "photo"
    if _is_audio(data[:64]):
        return "audio"
    if kind == "VIDEO" or data[4:8] in _BARE_QUICKTIME_BOXES:
        return "video"
    return None


def _is_audio(head: bytes) -> bool:
    if head.startswith((b"ID3", b"fLaC", b"#!AMR", b"MThd")):
        return True
    if head[4:8] == b"ftyp" and head[8:12] in AUDIO_BRANDS:
        return True
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return True
    if head.startswith(b"OggS"):
        return b"vorbis" in head or b"OpusHead" in head or b"FLAC" in head
    # MPEG audio frame sync (mp3) or ADTS (aac)
    return len(head) > 1 and head[0] == 0xFF and (head[1] & 0xE0) == 0xE0


def gif_layout(data: bytes, *, stop_after: int | None = None) -> GifLayout:
    """The GIF's layout from its blocks; counting stops after `stop_after` frames. Raises
    ValueError when the bytes are not a GIF or its blocks are broken."""
    if data[:6] not in (b"GIF87a", b"GIF89a") or len(data) < 13:
        raise ValueError("not a GIF")
    width, height, flags = struct.unpack("<HHB", data[6:11])
    pos = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
    frames = 0
    loop: int | None = None
    largest = (0, 0)
    size = len(data)
    delay = total = 0
    while pos < size:
        block = data[pos]
        if block == 0x3B:  # trailer
            return GifLayout(width, height, frames, loop, largest, True, total)
        if block == 0x21:  # extension: label, then sub-blocks up to a zero length
            label = data[pos + 1] if pos + 1 < size else 0
            pos += 2
            first = pos
            while pos < size and data[pos]:
                pos += data[pos] + 1
            pos += 1
            if label == 0xF9 and data[first] == 4 and first + 5 <= size:
                delay = struct.unpack("<H", data[first + 2 : first + 4])[0]
            if label == 0xFF and data[first : first + 12] == b"\x0bNETSCAPE2.0":
                sub = data[first + 12 : first + 16]
                if len(sub) == 4 and sub[0] >= 3 and sub[1] == 1:
                    loop = struct.unpack("<H", sub[2:4])[0]
        elif block == 0x2C:  # image descriptor, optional local table, LZW data sub-blocks
            if pos + 10 > size:
                break
            frame_w, frame_h, frame_flags = struct.unpack("<HHB", data[pos + 5 : pos + 10])
            largest = max(largest, (frame_w, frame_h), key=lambda s: s[0] * s[1])
            pos += 10 + (3 << ((frame_flags & 7) + 1) if frame_flags & 0x80 else 0) + 1
            while pos < size and data[pos]:
                pos += data[pos] + 1
            pos += 1
            frames += 1
            total += delay if delay >= MIN_GIF_DELAY_CS else DEFAULT_GIF_DELAY_CS
            delay = 0
            if stop_after is not None and frames >= stop_after:
                return GifLayout(width, height, frames, loop, largest, False, total)
        elif block == 0x00:  # stray padding some encoders leave
            pos += 1
        else:
            raise ValueError(f"unknown GIF block 0x{block:02x} at byte {pos}")
    return GifLayout(width, height, frames, loop, largest, False, total)


def container_extension(head: bytes) -> str:
    """The file extension a clip is stored under, from its first bytes: "gif", "webm"
    (Matroska too), "mov" (QuickTime), "mp4" (any other ISO base media file), else "bin"."""
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "webm"
    if head[4:8] == b"ftyp":
        return "mov" if head[8:12] == b"qt  " else "mp4"
    if head[4:8] in _BARE_QUICKTIME_BOXES:
        return "mov"
    return "bin"
