"""Periodic work run by the service's scheduler: the gallery's and the stats page's (ranking
scores, thumbnails for new gallery items, the daily latency roll-up) and the media store's
(deleting files that no row references)."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from bot.media import StoredFile
from bot.pages.thumbnails import ThumbnailMaker
from bot.services import Services
from db.media import media_in_use
from db.models import utcnow
from db.ranking import refresh_scores
from db.usage import days_without_latency, roll_up_latency
from handlers.platform import PeriodicTask

log = logging.getLogger(__name__)

SCORE_SECONDS = 120
THUMBNAIL_SECONDS = 30
THUMBNAILS_PER_RUN = 20
LATENCY_SECONDS = 600
BACKFILL_DAYS = 90
SWEEP_SECONDS = 3600
UNREFERENCED_AFTER_S = 3600.0  # a file no row references is deleted once it is this old
SWEEP_BATCH = 500


def gallery_tasks(services: Services) -> list[PeriodicTask]:
    cursor: list[int | None] = [None]  # where the rolling score sweep goes on
    maker = ThumbnailMaker(services)

    async def rescore() -> None:
        sweep = await refresh_scores(services.db, cursor=cursor[0])
        cursor[0] = sweep.cursor
        if sweep.updated:
            log.info("gallery: %d of %d score(s) updated", sweep.updated, sweep.examined)

    async def thumbnails() -> None:
        made = await maker.make_missing(THUMBNAILS_PER_RUN)
        if made:
            log.info("gallery: made thumbnails for %d item(s)", made)

    async def latency() -> None:
        today = utcnow().date()
        missing = await days_without_latency(services.db, today - timedelta(BACKFILL_DAYS), today)
        for day in sorted({*missing, today - timedelta(days=1), today}):
            await roll_up_latency(services.db, day)

    return [
        PeriodicTask("gallery-scores", SCORE_SECONDS, rescore),
        PeriodicTask("gallery-thumbnails", THUMBNAIL_SECONDS, thumbnails),
        PeriodicTask("roll-up-latency", LATENCY_SECONDS, latency),
    ]


async def sweep_unreferenced_media(services: Services) -> int:
    """Delete media files older than UNREFERENCED_AFTER_S that no job or result references
    (left by a process that died between writing a file and recording it), temporaries of
    writes that never finished, and scratch folders of clip work nothing has touched for as
    long (a killed worker's). Returns how many files and folders were deleted."""
    media = services.media
    stale = await asyncio.to_thread(media.stale_scratch, UNREFERENCED_AFTER_S)
    for folder in stale:
        await asyncio.to_thread(media.remove_scratch, folder)
    if stale:
        log.info("media: removed %d scratch folder(s) left by interrupted work", len(stale))
    old = await asyncio.to_thread(lambda: list(media.files_older_than(UNREFERENCED_AFTER_S)))
    deleted = 0
    for start in range(0, len(old), SWEEP_BATCH):
        batch = old[start : start + SWEEP_BATCH]
        keys = {stored.key for stored in batch if stored.key is not None}
        used = await media_in_use(services.db, keys)
        doomed = [stored for stored in batch if stored.key not in used]
        deleted += await asyncio.to_thread(_delete_old, services, doomed)
    if deleted:
        log.info("media: deleted %d file(s) that nothing referenced", deleted)
    return deleted + len(stale)


def _delete_old(services: Services, files: list[StoredFile]) -> int:
    return sum(services.media.delete_if_older_than(f, UNREFERENCED_AFTER_S) for f in files)


def media_tasks(services: Services) -> list[PeriodicTask]:
    async def sweep() -> None:
        await sweep_unreferenced_media(services)

    return [PeriodicTask("sweep-unreferenced-media", SWEEP_SECONDS, sweep)]
