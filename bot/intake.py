"""`Intake`: the process's one door into the queue. Concurrent submissions (web uploads,
webhook deliveries) that arrive while a transaction is in flight are gathered and written by the
next transaction, so under load many requests share one commit instead of queueing for the
database one by one (group commit). A lone request goes straight through."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from core.errors import UserError
from db.engine import Database
from db.intake import Enqueued, NewJob, Outcome, QueueLimits, enqueue_jobs

log = logging.getLogger(__name__)

MAX_BATCH = 200


class Intake:
    def __init__(
        self, db: Database, limits: Callable[[], QueueLimits], on_new: Callable[[], None]
    ) -> None:
        self._db = db
        self._limits = limits
        self._on_new = on_new
        self._pending: list[tuple[NewJob, asyncio.Future[Outcome]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def enqueue(self, new: NewJob) -> Enqueued:
        """Queue one job (or find it, for a re-delivered event); raises the `UserError` to
        send the user when the queue is full or they are over their limit."""
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._pending.append((new, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write(), name="intake-writer")
        outcome = await future
        if isinstance(outcome, UserError):
            raise outcome
        if outcome.created:
            self._on_new()
        return outcome

    async def _write(self) -> None:
        while self._pending:
            batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
            try:
                outcomes = await enqueue_jobs(self._db, [new for new, _ in batch], self._limits())
            except Exception as exc:  # noqa: BLE001 - handed on: every waiter raises it
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), outcome in zip(batch, outcomes, strict=True):
                if not future.done():  # a waiter that gave up (client gone) is skipped
                    future.set_result(outcome)

    async def make_way(self, most_seconds: float = 0.05) -> None:
        """Background work (the workers) calls this before touching the database: while
        submissions are being written it waits (at most `most_seconds`), so that on a single
        SQLite connection the people waiting for an answer go first."""
        writer = self._writer
        if writer is not None and not writer.done():
            await asyncio.wait({writer}, timeout=most_seconds)

    async def close(self) -> None:
        if self._writer is not None:
            await asyncio.gather(self._writer, return_exceptions=True)
