"""The gallery's and the stats page's periodic work, run by the service's scheduler:
ranking scores, thumbnails for new gallery items, and the daily latency roll-up."""

from __future__ import annotations

import logging
from datetime import timedelta

from bot.pages.thumbnails import ThumbnailMaker
from bot.services import Services
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
