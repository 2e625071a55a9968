"""What every channel needs for videos and GIFs, whatever its platform: telling a clip from a
photo by its declared type, writing a download to a file within the byte limit, and the words
of a progress report. Pure or small I/O helpers; the channels call them."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path

import aiohttp

from db.models import InputKind
from inference.video import VideoError, VideoProgress
from inference.video.errors import over_by

CHUNK_BYTES = 256 * 1024


def clip_kind_for(mime_type: str | None) -> str | None:
    """The job's input kind for a platform's declared MIME type: "gif" for image/gif (which
    may still be one frame: the runner sniffs it and treats a still GIF as a photo), "video"
    for any video/*, None for anything else (a photo, or not media)."""
    mime = (mime_type or "").split(";")[0].strip().lower()
    if mime == "image/gif":
        return InputKind.GIF
    if mime.startswith("video/"):
        return InputKind.VIDEO
    return None


def too_big(size: int | None, max_bytes: int) -> VideoError:
    """The one message for a clip over the byte limit (by how much, when the size is known)."""
    limit_mb = max_bytes / 1e6
    if size is None:
        text = f"That file is too big (over the {limit_mb:g} MB limit)."
    else:
        text = f"That file is too big ({over_by(size / 1e6, limit_mb, 'MB')})."
    return VideoError(
        text + " Please send a shorter or smaller clip.",
        reason="too_many_bytes",
        detail=f"{size if size is not None else 'more than'} bytes > {max_bytes}",
    )


async def save_capped(response: aiohttp.ClientResponse, target: Path, max_bytes: int) -> int:
    """Stream an HTTP response's body into `target` (a scratch file), refusing it as soon as
    it is known to pass `max_bytes` (from Content-Length before reading, else while reading:
    the partial file is removed). Returns the bytes written. Network errors are the caller's
    (they are usually worth a retry)."""
    declared = response.content_length
    if declared is not None and declared > max_bytes:
        raise too_big(declared, max_bytes)
    written = 0
    stream = await asyncio.to_thread(target.open, "wb")
    try:
        async for chunk in response.content.iter_chunked(CHUNK_BYTES):
            written += len(chunk)
            if written > max_bytes:
                raise too_big(declared, max_bytes)
            await asyncio.to_thread(stream.write, chunk)
    except BaseException:
        stream.close()
        await asyncio.to_thread(target.unlink, missing_ok=True)
        raise
    await asyncio.to_thread(stream.close)
    return written


def progress_text(progress: VideoProgress, operation: str, kind: str = InputKind.VIDEO) -> str:
    """e.g. "Colourising your video: 40 % · about 12 s left" (a GIF is "your GIF")."""
    doing = "Colourising" if operation == "colorize" else "Filtering"
    what = "GIF" if kind == InputKind.GIF else "video"
    text = f"{doing} your {what}: {math.floor(progress.fraction * 100):d} %"
    if progress.fraction >= 1.0:
        return f"{doing} your {what}: done, sending it"
    if progress.eta_seconds is not None:
        text += f" · about {format_seconds(progress.eta_seconds)} left"
    return text


def format_seconds(seconds: float) -> str:
    """ "12 s", "1 min 5 s" (rounded up to whole seconds)."""
    whole = max(1, math.ceil(seconds))
    if whole < 60:
        return f"{whole} s"
    minutes, rest = divmod(whole, 60)
    return f"{minutes} min {rest} s" if rest else f"{minutes} min"
