"""Fitting a finished clip under a byte budget (a channel's upload limit).

An MP4 over the budget is re-encoded from the result itself (not from the source: the model
does not run again) at the average bitrate that fits, the sound copied; a GIF, whose size
follows its pixel count, is scaled down instead. Each try aims 10 % under, and up to
`ATTEMPTS` tries shrink further; a clip that cannot fit (the sound alone is too big, or the
picture would be unwatchable) is refused with a VideoError saying so.
"""

from __future__ import annotations

import logging
import math
from dataclasses import replace
from pathlib import Path

import av

from inference.video.copies import copy_frames
from inference.video.errors import VideoError, over_by
from inference.video.gif_writer import GifWriter
from inference.video.limits import VideoLimits
from inference.video.probe import probe_media
from inference.video.reader import ClipReader
from inference.video.results import VideoResult
from inference.video.writers import Mp4Writer

log = logging.getLogger(__name__)

ATTEMPTS = 3
HEADROOM = 0.9
MIN_VIDEO_BITRATE = 48_000  # bits/s below which the picture is not worth sending
MIN_GIF_SIDE = 48
# Our own output passed every limit already; re-reading it must not refuse it again.
_OWN_OUTPUT = VideoLimits(max_seconds=1e9, max_pixels=1 << 40, max_bytes=1 << 62)


def fit_under(result: VideoResult, max_bytes: int) -> VideoResult:
    """`result` itself when it fits, else the same clip re-encoded (in place) to fit. When it
    cannot fit, the output is removed (nothing is half-sent) and a VideoError raised."""
    if result.size_bytes <= max_bytes:
        return result
    try:
        return _fit(result, max_bytes)
    except BaseException:
        result.path.unlink(missing_ok=True)
        raise


class _NoRoom(Exception):
    """Fitting would leave too little for the picture."""


def _fit(result: VideoResult, max_bytes: int) -> VideoResult:
    fitted = result
    for attempt in range(ATTEMPTS):
        ratio = HEADROOM ** (attempt + 1) * max_bytes / fitted.size_bytes
        try:
            fitted = _shrunk(fitted, ratio) if result.kind == "mp4" else _scaled_gif(fitted, ratio)
        except _NoRoom as error:
            log.info("cannot fit %s in %d bytes: %s", result.path.name, max_bytes, error)
            break
        log.info(
            "re-encoded %s for a %d byte budget: %d bytes (try %d)",
            result.path.name,
            max_bytes,
            fitted.size_bytes,
            attempt + 1,
        )
        if fitted.size_bytes <= max_bytes:
            return replace(fitted, reencoded_for_size=True)
    raise _cannot_fit(result.size_bytes, max_bytes)


def _shrunk(result: VideoResult, ratio: float) -> VideoResult:
    """The MP4 re-encoded at `ratio` times its current size (the sound kept as it is)."""
    info = probe_media(result.path, _OWN_OUTPUT)
    video_bytes = result.size_bytes * ratio - _audio_bytes(result.path)
    bitrate = int(video_bytes * 8 / max(info.duration, 1e-3))
    if bitrate < MIN_VIDEO_BITRATE:
        raise _NoRoom(f"{bitrate} bit/s for the picture")
    with ClipReader(result.path, info, _OWN_OUTPUT) as reader:
        temp = result.path.with_name(f".{result.path.name}.fit.mp4")
        writer = Mp4Writer(
            temp,
            info.width,
            info.height,
            time_base=reader.time_base,
            rate=reader.rate,
            audio_from=result.path if info.has_audio else None,
            bitrate=bitrate,
        )
        _rewrite(reader, writer, temp, result.path)
    return replace(result, size_bytes=result.path.stat().st_size)


def _scaled_gif(result: VideoResult, ratio: float) -> VideoResult:
    info = probe_media(result.path, _OWN_OUTPUT)
    scale = math.sqrt(ratio)
    width, height = round(info.width * scale), round(info.height * scale)
    if min(width, height) < MIN_GIF_SIDE:
        raise _NoRoom(f"{width}x{height}")
    info = replace(info, work_width=width, work_height=height)
    with ClipReader(result.path, info, _OWN_OUTPUT) as reader:
        temp = result.path.with_name(f".{result.path.name}.fit.gif")
        writer = GifWriter(
            temp,
            width,
            height,
            time_base=reader.time_base,
            loop=info.loop,
            last_delay=info.last_frame_seconds,
        )
        _rewrite(reader, writer, temp, result.path)
    return replace(
        result,
        width=width,
        height=height,
        scaled_down=True,
        size_bytes=result.path.stat().st_size,
    )


def _rewrite(reader: ClipReader, writer: Mp4Writer | GifWriter, temp: Path, path: Path) -> None:
    """Every frame of `reader` through `writer` (at `temp`), which then replaces `path`."""
    copy_frames(reader, writer)
    temp.replace(path)


def _audio_bytes(path: Path) -> int:
    with av.open(str(path)) as container:
        total = 0
        for stream in container.streams.audio:
            entries = stream.index_entries
            total += sum(entries[i].size for i in range(len(entries))) if entries else 0
        return total


def _cannot_fit(size: int, max_bytes: int) -> VideoError:
    return VideoError(
        f"The result is too big to send here ({over_by(size / 1e6, max_bytes / 1e6, 'MB')}), "
        "even at a lower quality. Please send a shorter clip.",
        reason="output_too_big",
        detail=f"{size} bytes > budget {max_bytes}",
    )
