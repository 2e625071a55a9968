"""Uploading a video or GIF to X in chunks, and waiting until X has processed it.

This is X API v2's chunked upload in its current shape (the dedicated endpoints X moved to in
2025; the `command=INIT|APPEND|FINALIZE` forms of `POST /2/media/upload` are deprecated and
v1.1's upload.twitter.com was retired):

  1. `POST /2/media/upload/initialize`, JSON `{media_type, total_bytes, media_category}`
     -> `{"data": {"id", "media_key", "expires_after_secs"}}`;
  2. `POST /2/media/upload/{id}/append`, multipart `segment_index` (0, 1, ...) and `media`
     (the raw bytes of one chunk, at most 5 MB; we send 4 MB);
  3. `POST /2/media/upload/{id}/finalize` -> `{"data": {..., "processing_info"}}`;
  4. while `processing_info.state` is `pending` or `in_progress`: wait `check_after_secs`,
     then `GET /2/media/upload?command=STATUS&media_id={id}`, until `succeeded` (the id can
     now be posted) or `failed` (with `error.message`).

Categories: `tweet_video` / `tweet_gif` for a post, `dm_video` / `dm_gif` for a DM. X's
limits for them (what the engine's byte budget is set from): a video up to 512 MB and 140 s,
a GIF up to 15 MB.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from core.errors import RetryLater, UserError
from handlers.x.api import XApi

log = logging.getLogger(__name__)

CHUNK_BYTES = 4 * 1024 * 1024
APPEND_TIMEOUT_S = 120.0  # 4 MB on a slow uplink
MAX_CHECK_AFTER_S = 60.0
PROCESSING_WAIT_S = 600.0  # then the job is tried again later (X may be backed up)


@dataclass(frozen=True)
class ClipLimits:
    max_bytes: int
    max_seconds: float | None


VIDEO_LIMITS = ClipLimits(512 * 1024 * 1024, 140.0)
GIF_LIMITS = ClipLimits(15 * 1024 * 1024, None)


def clip_category(*, gif: bool, dm: bool) -> str:
    return f"{'dm' if dm else 'tweet'}_{'gif' if gif else 'video'}"


def clip_limits(category: str) -> ClipLimits:
    return GIF_LIMITS if category.endswith("_gif") else VIDEO_LIMITS


class MediaProcessingFailedError(UserError):
    """X took the upload but could not process it: nothing was posted."""

    kind = "x_media_failed"

    def __init__(self, detail: str) -> None:
        super().__init__(
            "X couldn't process the colourised clip, so I couldn't post it, sorry. "
            "Please try again later, or with a shorter clip.",
            detail=detail,
        )


Sleep = Callable[[float], Awaitable[None]]


async def upload_clip(
    api: XApi,
    path: Path,
    *,
    media_type: str,
    category: str,
    sleep: Sleep = asyncio.sleep,
    processing_wait_s: float = PROCESSING_WAIT_S,
    chunk_bytes: int | None = None,
) -> str:
    """Upload the file at `path` and wait until X has processed it; its media id. Raises
    `MediaProcessingFailedError` when processing fails, `XRequestError` when X refuses a
    step, `RetryLater` when X is unavailable or processing takes too long."""
    total = (await asyncio.to_thread(path.stat)).st_size
    started = await api.request(
        "POST",
        "/2/media/upload/initialize",
        json={"media_type": media_type, "total_bytes": total, "media_category": category},
    )
    media_id = str(_data(started)["id"])
    segments = 0
    chunk_bytes = chunk_bytes or CHUNK_BYTES
    file = await asyncio.to_thread(path.open, "rb")
    with file:
        while chunk := await asyncio.to_thread(file.read, chunk_bytes):
            await api.request(
                "POST",
                f"/2/media/upload/{media_id}/append",
                form=_chunk_form(segments, chunk),
                timeout_s=APPEND_TIMEOUT_S,
            )
            segments += 1
    finished = await api.request("POST", f"/2/media/upload/{media_id}/finalize")
    log.info("X upload %s: %d bytes in %d chunks (%s)", media_id, total, segments, category)
    await _wait_until_processed(api, media_id, _data(finished), sleep, processing_wait_s)
    return media_id


async def _wait_until_processed(
    api: XApi, media_id: str, answer: Mapping[str, Any], sleep: Sleep, wait_s: float
) -> None:
    waited = 0.0
    while True:
        info = answer.get("processing_info")
        if not isinstance(info, Mapping):
            return  # no processing_info: the media is ready as it is
        state = info.get("state")
        if state == "succeeded":
            return
        if state == "failed":
            error = info.get("error")
            reason = error.get("message") if isinstance(error, Mapping) else None
            raise MediaProcessingFailedError(f"X media {media_id} processing failed: {reason}")
        check_after = info.get("check_after_secs")
        wait = float(check_after) if isinstance(check_after, int | float) else 1.0
        wait = min(MAX_CHECK_AFTER_S, max(0.0, wait))
        if waited + wait > wait_s:
            raise RetryLater(f"X media {media_id} still {state} after {waited:.0f} s")
        waited += wait
        log.debug(
            "X media %s: %s (%s %%); checking again in %.0f s",
            media_id,
            state,
            info.get("progress_percent"),
            wait,
        )
        await sleep(wait)
        answer = _data(
            await api.request(
                "GET", "/2/media/upload", params={"command": "STATUS", "media_id": media_id}
            )
        )


def _chunk_form(index: int, chunk: bytes) -> Callable[[], aiohttp.FormData]:
    def form() -> aiohttp.FormData:  # made anew for each try of the request
        data = aiohttp.FormData()
        data.add_field("segment_index", str(index))
        data.add_field("media", chunk, filename="chunk", content_type="application/octet-stream")
        return data

    return form


def _data(answer: Mapping[str, Any]) -> Mapping[str, Any]:
    """v2 answers wrap the upload in `data` (older answers had the fields at the top)."""
    data = answer.get("data")
    return data if isinstance(data, Mapping) else answer
