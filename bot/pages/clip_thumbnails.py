"""What a video's or GIF's gallery item needs besides a photo's: the two halves of its
thumbnail are poster frames (the result's, stored with it, and one of the original), and the
original it shows beside the result is a plain copy of the uploaded clip (re-encoded without
its metadata: `inference.video.plain_copy`), never the uploaded file itself. The decoding and
encoding run on the video engine's threads, which give way to photo work."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from bot.services import Services
from db.thumbnails import ThumbnailSource
from inference.images import encode_jpeg
from inference.video import VideoError, plain_copy, poster_frame, probe_media

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ClipPictures:
    after: bytes  # a JPEG frame of the result
    before: bytes | None  # a JPEG frame of the original (None: the original is gone)
    before_clip: str | None  # the media key of the original's plain copy


async def clip_pictures(services: Services, source: ThumbnailSource) -> ClipPictures:
    """Raises VideoError when the result itself cannot be read; a broken or missing original
    only leaves the before side out."""
    media = services.media
    compute = services.video.compute
    limits = services.video_limits
    if source.poster is not None and media.exists(source.poster):
        after = await asyncio.to_thread(media.read, source.poster)
    else:
        frame = await compute.run(poster_frame, media.path(source.media), limits)
        after = await compute.run(encode_jpeg, frame)
    if source.input_media is None or not media.exists(source.input_media):
        return ClipPictures(after, None, None)
    original = media.path(source.input_media)
    scratch = await asyncio.to_thread(media.scratch, f"gallery-{source.id}")
    try:
        info = await compute.run(probe_media, original, limits)
        before = await compute.run(encode_jpeg, await compute.run(poster_frame, original, limits))
        extension = "gif" if info.kind == "gif" else "mp4"
        copy = await compute.run(plain_copy, original, scratch / f"before.{extension}", limits)
        key = await asyncio.to_thread(media.put_file, copy, extension)
    except VideoError as exc:
        log.warning("result %s: the original clip cannot be shown: %s", source.id, exc.detail)
        return ClipPictures(after, None, None)
    finally:
        await asyncio.to_thread(media.remove_scratch, scratch)
    return ClipPictures(after, before, key)
