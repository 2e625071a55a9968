"""One summary per album: when every photo of a Telegram album (a media group) has been
answered, say how it went, once.

Album photos arrive as separate updates a few milliseconds apart and are separate jobs. The
process that takes in an album watches its jobs in the database until all of them are done or
failed and no new one has come for `settle_s`; then it claims the album's summary (an event
row, so several processes never both send it) and sends it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from db.albums import find_album_jobs
from db.engine import Database
from db.jobs import record_event
from db.models import JobStatus, utcnow
from handlers.telegram import texts

log = logging.getLogger(__name__)

SendText = Callable[[int, str, int | None], Awaitable[None]]
FINISHED = (JobStatus.DONE, JobStatus.FAILED)


class AlbumSummaries:
    def __init__(
        self,
        db: Database,
        channel: str,
        send_text: SendText,
        *,
        settle_s: float = 2.0,
        poll_s: float = 0.5,
        give_up_s: float = 3600.0,
    ) -> None:
        self.db = db
        self.channel = channel
        self.send_text = send_text
        self.settle = timedelta(seconds=settle_s)
        self.poll_s = poll_s
        self.give_up_s = give_up_s
        self._watching: dict[str, asyncio.Task[None]] = {}

    def watch(self, chat_id: int, album_id: str) -> None:
        if album_id in self._watching:
            return
        task = asyncio.create_task(self._watch(chat_id, album_id), name=f"album {album_id}")
        self._watching[album_id] = task
        task.add_done_callback(lambda _: self._watching.pop(album_id, None))

    async def _watch(self, chat_id: int, album_id: str) -> None:
        try:
            await self._summarise(chat_id, album_id)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("album %s: the summary failed", album_id)

    async def _summarise(self, chat_id: int, album_id: str) -> None:
        since = utcnow() - timedelta(hours=1)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.give_up_s
        while True:
            await asyncio.sleep(self.poll_s)
            jobs = [
                job
                for job in await find_album_jobs(self.db, self.channel, album_id, since)
                if job.reply_to.get("chat_id") == chat_id
            ]
            if not jobs:
                return  # forgotten meanwhile
            settled = utcnow() - max(job.created_at for job in jobs) >= self.settle
            if settled and all(job.status in FINISHED for job in jobs):
                break
            if loop.time() > deadline:
                log.warning(
                    "album %s: unfinished after %.0f s; no summary", album_id, self.give_up_s
                )
                return
        if not await record_event(self.db, self.channel, f"album:{album_id}"):
            return  # another process summarised it
        done = sum(job.status == JobStatus.DONE for job in jobs)
        names = {job.filter_name for job in jobs}
        filter_name = names.pop() if len(names) == 1 else None
        first = jobs[0].reply_to.get("message_id")
        text = texts.album_summary(done, len(jobs), filter_name)
        await self.send_text(chat_id, text, int(first) if first is not None else None)

    async def stop(self) -> None:
        tasks = list(self._watching.values())
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)
