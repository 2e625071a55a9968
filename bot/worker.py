"""Worker tasks: claim jobs from the database queue and run them, with lease heartbeats and a
graceful stop (running jobs finish within a timeout; the rest go back to the queue)."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket

from bot.runner import run_job
from bot.services import Services
from db import jobs as queue
from db.models import Job

log = logging.getLogger(__name__)

# How long a stopping loop may take to finish its claim and give the job back.
STOP_LOOPS_SECONDS = 10.0


class Worker:
    """`concurrency` loops in this process, each running one job at a time."""

    def __init__(self, services: Services, *, concurrency: int, poll_interval: float = 0.5) -> None:
        self.services = services
        self.concurrency = concurrency
        self.poll_interval = poll_interval
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._loops: list[asyncio.Task[None]] = []
        self._running: dict[int, tuple[Job, asyncio.Task[str]]] = {}

    def start(self) -> None:
        self._loops = [
            asyncio.create_task(self._loop(index), name=f"worker-{index}")
            for index in range(self.concurrency)
        ]
        log.info("worker %s started with %d loops", self.worker_id, self.concurrency)

    def notify(self) -> None:
        """New work was queued in this process: wake an idle loop now rather than at the next
        poll."""
        self._wake.set()

    @property
    def busy(self) -> int:
        return len(self._running)

    async def _loop(self, index: int) -> None:
        lease = float(self.services.settings.job_lease_seconds)
        while not self._stopping.is_set():
            try:
                await self.services.intake.make_way()
                job = await queue.claim_job(self.services.db, self.worker_id, lease)
            except (OSError, ConnectionError, TimeoutError) as exc:
                log.warning("worker loop %d: cannot reach the database (%s)", index, exc)
                job = None
            if job is None:
                await self._idle()
                continue
            if self._stopping.is_set():  # claimed just as the stop came: give it back
                await self._release(job)
                break
            task = asyncio.create_task(run_job(self.services, job, self.worker_id))
            self._running[job.id] = (job, task)
            heartbeat = asyncio.create_task(self._heartbeat(job.id, lease))
            try:
                outcome = await asyncio.shield(task)
                log.info("job %s (%s %s): %s", job.id, job.channel, job.operation, outcome)
            except asyncio.CancelledError:
                if not task.done():
                    raise
            except Exception:
                log.exception("job %s: the runner itself failed; its lease will expire", job.id)
            finally:
                heartbeat.cancel()
                self._running.pop(job.id, None)

    async def _idle(self) -> None:
        self._wake.clear()
        wake = asyncio.create_task(self._wake.wait())
        stop = asyncio.create_task(self._stopping.wait())
        await asyncio.wait(
            {wake, stop}, timeout=self.poll_interval, return_when=asyncio.FIRST_COMPLETED
        )
        wake.cancel()
        stop.cancel()

    async def _heartbeat(self, job_id: int, lease: float) -> None:
        while True:
            await asyncio.sleep(lease / 3)
            if not await queue.renew_lease(self.services.db, job_id, self.worker_id, lease):
                log.warning("job %s: lease could not be renewed", job_id)
                return

    async def stop(self, grace_seconds: float) -> None:
        """Stop claiming; let running jobs finish within `grace_seconds`; release the rest.

        Idle loops end at once; a busy loop ends when its job is done. Jobs still running after
        the grace period are cancelled and released back to the queue untouched. A loop is
        never cancelled in the middle of a claim (the claim may commit): it sees the stop and
        gives back what it claimed."""
        self._stopping.set()
        self._wake.set()
        if self._running:
            log.info(
                "waiting up to %.0f s for %d running job(s)", grace_seconds, len(self._running)
            )
        if self._loops:
            await asyncio.wait(self._loops, timeout=max(grace_seconds, 0.001))
        for job, task in list(self._running.values()):
            if not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
                await self._release(job)
        if self._loops:
            _, stuck = await asyncio.wait(self._loops, timeout=STOP_LOOPS_SECONDS)
            for loop in stuck:
                log.warning("a worker loop did not stop in time; cancelling it")
                loop.cancel()
            await asyncio.gather(*self._loops, return_exceptions=True)
        self._loops = []

    async def _release(self, job: Job) -> None:
        try:
            await queue.release_job(self.services.db, job, self.worker_id)
            log.info("job %s released back to the queue", job.id)
        except queue.LeaseLostError:
            log.warning("job %s: lease already lost while releasing", job.id)
