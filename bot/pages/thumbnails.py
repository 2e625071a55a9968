"""Gallery thumbnails, made once per result and kept in the media store.

The thumbnail is one picture holding both halves, [before | after], each a centred square
crop of THUMB_SIDE px (only [after] when the original is gone), as WebP with a JPEG fallback:
a gallery card shows one half and its toggle shifts to the other, one request per card. With
it comes `before_display`, the original re-encoded at most DISPLAY_SIDE px for the item page:
uploads can carry EXIF (GPS position, camera serial), and the gallery never serves the
uploaded file itself. The result (after) is the pipeline's own JPEG, with no metadata. A
video's or GIF's halves are poster frames and its `before_display` a plain copy of the
original clip (`bot.pages.clip_thumbnails`).

Pages never wait for these: a card without a thumbnail shows the result image itself and
asks the `ThumbnailMaker` for one (made in the background on a thread, one at a time), and
the scheduler makes them for new gallery items.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass

import cv2
import numpy as np

from bot.pages.clip_thumbnails import clip_pictures
from bot.services import Services
from db.media import media_in_use
from db.thumbnails import (
    ThumbnailSource,
    missing_thumbnails,
    set_thumbnails,
    thumbnail_source,
)
from inference.encoding import encode_jpeg, encode_webp, fit_within
from inference.images import ImageError, ImageLimits, decode_image
from inference.video import VideoError

log = logging.getLogger(__name__)

THUMB_SIDE = 400
DISPLAY_SIDE = 1600
WEBP_QUALITY = 78
JPEG_QUALITY = 82
DISPLAY_QUALITY = 88


@dataclass(frozen=True)
class Thumbnails:
    webp: bytes
    jpeg: bytes
    before_display: bytes | None  # None when there is no original to show


def square_tile(bgr: np.ndarray, side: int) -> np.ndarray:
    """The centred square crop, scaled down to `side` px when larger."""
    height, width = bgr.shape[:2]
    crop = min(height, width)
    top, left = (height - crop) // 2, (width - crop) // 2
    square = bgr[top : top + crop, left : left + crop]
    if crop <= side:
        return np.ascontiguousarray(square)
    return cv2.resize(square, (side, side), interpolation=cv2.INTER_AREA)


def make_thumbnails(after: bytes, before: bytes | None, limits: ImageLimits) -> Thumbnails:
    """Blocking (decode, resize, encode): run on a thread. Raises ImageError when the result
    itself cannot be decoded; an undecodable original is treated as missing."""
    after_bgr = decode_image(after, limits)
    before_bgr: np.ndarray | None = None
    if before is not None:
        try:
            before_bgr = decode_image(before, limits)
        except ImageError as exc:
            log.warning("thumbnail without the original, which cannot be decoded: %s", exc)
    tile = square_tile(after_bgr, THUMB_SIDE)
    display: bytes | None = None
    if before_bgr is not None:
        height, width = after_bgr.shape[:2]
        if before_bgr.shape[:2] != (height, width):  # crop the same part of both
            before_bgr = cv2.resize(before_bgr, (width, height), interpolation=cv2.INTER_AREA)
        tile = np.hstack([square_tile(before_bgr, tile.shape[0]), tile])
        display = encode_jpeg(fit_within(before_bgr, DISPLAY_SIDE), quality=DISPLAY_QUALITY)
    return Thumbnails(
        webp=encode_webp(tile, quality=WEBP_QUALITY),
        jpeg=encode_jpeg(tile, quality=JPEG_QUALITY),
        before_display=display,
    )


class ThumbnailMaker:
    """Makes thumbnails in the background, one at a time, each result at most once per
    process (a result whose pictures cannot be read is not retried until a restart)."""

    def __init__(self, services: Services, *, max_pending: int = 64) -> None:
        self.services = services
        self._max_pending = max_pending
        self._pending: set[int] = set()
        self._given_up: set[int] = set()
        self._tasks: set[asyncio.Task[bool]] = set()
        self._one_at_a_time = asyncio.Lock()

    def request(self, result_ids: Iterable[int]) -> int:
        """Start making these results' thumbnails in the background (those not already under
        way); returns how many were started."""
        started = 0
        for result_id in result_ids:
            if result_id in self._pending or result_id in self._given_up:
                continue
            if len(self._pending) >= self._max_pending:
                break
            self._pending.add(result_id)
            task = asyncio.create_task(self._make_pending(result_id), name=f"thumb-{result_id}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            started += 1
        return started

    async def _make_pending(self, result_id: int) -> bool:
        try:
            source = await thumbnail_source(self.services.db, result_id)
            return source is not None and await self.make(source)
        except Exception:  # a background task: nobody awaits it, so report here
            log.exception("result %s: making the thumbnails failed", result_id)
            return False
        finally:
            self._pending.discard(result_id)

    async def make(self, source: ThumbnailSource) -> bool:
        """Make and record one result's thumbnails; False when it cannot be done."""
        services = self.services
        media = services.media
        async with self._one_at_a_time:
            if not media.exists(source.media):
                log.warning("result %s: no thumbnail, its picture is missing", source.id)
                self._given_up.add(source.id)
                return False
            clip_display: str | None = None
            try:
                if source.media_kind == "photo":
                    after = await asyncio.to_thread(media.read, source.media)
                    before = None
                    if source.input_media and media.exists(source.input_media):
                        before = await asyncio.to_thread(media.read, source.input_media)
                else:  # a clip: posters for the thumbnail, a plain copy of the original
                    pictures = await clip_pictures(services, source)
                    after, before, clip_display = (
                        pictures.after,
                        pictures.before,
                        pictures.before_clip,
                    )
                made = await asyncio.to_thread(
                    make_thumbnails, after, before, services.image_limits
                )
            except (ImageError, VideoError) as exc:
                log.warning("result %s: no thumbnail: %s", source.id, exc)
                self._given_up.add(source.id)
                return False
            webp = await asyncio.to_thread(media.put, made.webp, "webp")
            jpeg = await asyncio.to_thread(media.put, made.jpeg, "jpg")
            display = clip_display
            if made.before_display is not None and source.media_kind == "photo":
                display = await asyncio.to_thread(media.put, made.before_display, "jpg")
        stored = await set_thumbnails(
            services.db, source.id, webp=webp, jpeg=jpeg, before_display=display
        )
        if not stored:  # forgotten meanwhile: leave nothing of it behind
            keys = {webp, jpeg} | ({display} if display else set())
            for key in keys - await media_in_use(services.db, keys):
                await asyncio.to_thread(media.delete, key)
        return stored

    async def make_missing(self, limit: int) -> int:
        """Make thumbnails for up to `limit` of the newest gallery items lacking them."""
        made = 0
        for source in await missing_thumbnails(self.services.db, limit):
            if source.id not in self._given_up and await self.make(source):
                made += 1
        return made

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
