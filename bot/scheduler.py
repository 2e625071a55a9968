"""The APScheduler jobs of a running service: lease expiry, retention, usage roll-up, queue
gauge, and whatever periodic tasks the channels ask for (e.g. X mention polling)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.services import Services
from bot.upkeep import gallery_tasks, media_tasks
from db import jobs as queue
from db.maintenance import purge_originals, roll_up_day
from db.models import utcnow
from handlers.platform import PeriodicTask

log = logging.getLogger(__name__)


def housekeeping_tasks(services: Services) -> list[PeriodicTask]:
    async def requeue_expired() -> None:
        count = await queue.requeue_expired(services.db)
        if count:
            log.warning("requeued %d job(s) whose worker stopped renewing its lease", count)

    async def purge() -> None:
        days = services.settings.retention_days
        keys = await purge_originals(services.db, timedelta(days=days))
        removed = 0
        for key in keys:
            removed += await asyncio.to_thread(services.media.delete, key)
        if keys:
            log.info("retention: forgot %d original(s), deleted %d file(s)", len(keys), removed)

    async def roll_up() -> None:
        today = utcnow().date()
        for day in (today - timedelta(days=1), today):
            await roll_up_day(services.db, day)

    async def gauge_queue() -> None:
        services.metrics.queue_depth.set(await queue.queue_depth(services.db))

    lease_check_seconds = max(1.0, min(15.0, services.settings.job_lease_seconds / 4))
    return [
        PeriodicTask("requeue-expired-leases", lease_check_seconds, requeue_expired),
        PeriodicTask("purge-old-originals", 3600, purge),
        PeriodicTask("roll-up-usage", 600, roll_up),
        PeriodicTask("gauge-queue-depth", 10, gauge_queue),
        *gallery_tasks(services),
        *media_tasks(services),
    ]


class Scheduler:
    """An APScheduler `AsyncIOScheduler` whose stop also waits for the runs in flight, so that
    nothing scheduled is still touching the database when the service closes it."""

    def __init__(self, tasks: list[PeriodicTask]) -> None:
        self._scheduler = AsyncIOScheduler(timezone="UTC")
        self._running: set[asyncio.Task[None]] = set()
        for task in tasks:
            self._scheduler.add_job(
                self._tracked(task),
                "interval",
                seconds=task.seconds,
                id=task.name,
                name=task.name,
                next_run_time=utcnow(),  # also run once right away
                max_instances=1,
                coalesce=True,
                misfire_grace_time=None,
            )

    def start(self) -> None:
        self._scheduler.start()

    async def stop(self, grace_seconds: float = 10.0) -> None:
        # Pause first: APScheduler's shutdown cancels the runs in flight, mid-query.
        self._scheduler.pause()
        if self._running:
            await asyncio.wait(set(self._running), timeout=grace_seconds)
        self._scheduler.shutdown(wait=False)
        for task in set(self._running):
            task.cancel()
        await asyncio.gather(*self._running, return_exceptions=True)

    def _tracked(self, task: PeriodicTask) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            current = asyncio.current_task()
            if current is not None:
                self._running.add(current)
            try:
                await task.run()
            except Exception:  # a periodic task must not kill the scheduler: logged, runs again
                log.exception(
                    "scheduled task %s failed; it runs again in %.0f s", task.name, task.seconds
                )
            finally:
                if current is not None:
                    self._running.discard(current)

        return run
