"""Worker tasks: claim jobs from the database queue and run them, with lease heartbeats and a
graceful stop (running jobs finish within a timeout; the rest go back to the queue). Videos
and GIFs run in their own slots (VIDEO_CONCURRENCY), beside the photo loops."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket

from bot.runner import run_job
from bot.services import Services
from db import jobs as queue
from db.models import InputKind, Job

log = logging.getLogger(__name__)

# How long a stopping loop may take to finish its claim and give the job back.
STOP_LOOPS_SECONDS = 10.0


class Worker:
    """`concurrency` loops in this process, each running one photo job at a time; a loop
    that claims a video or GIF hands it to a clip slot (at most `clip_concurrency` clips run
    at once, VIDEO_CONCURRENCY) and goes back to claiming, so photos keep flowing while a
    long clip runs. While every clip slot is taken the loops claim photos only."""

    def __init__(
        self,
        services: Services,
        *,
        concurrency: int,
        clip_concurrency: int | None = None,
        poll_interval: float = 0.5,
    ) -> None:
        self.services = services
        self.concurrency = concurrency
        self.clip_concurrency = (
            services.settings.video_concurrency if clip_concurrency is None else clip_concurrency
        )
        self.poll_interval = poll_interval
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._loops: list[asyncio.Task[None]] = []
        self._running: dict[int, tuple[Job, asyncio.Task[str]]] = {}
        self._clip_slots = 0  # taken by running clips and by claims that may return one
        self._clips: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        self._loops = [
            asyncio.create_task(self._loop(index), name=f"worker-{index}")
            for index in range(self.concurrency)
        ]
        log.info(
            "worker %s started with %d loops and %d clip slot(s)",
            self.worker_id,
            self.concurrency,
            self.clip_concurrency,
        )

    def notify(self) -> None:
        """New work was queued in this process: wake an idle loop now rather than at the next
        poll."""
        self._wake.set()

    @property
    def busy(self) -> int:
        return len(self._running)

    @property
    def clips_running(self) -> int:
        return len(self._clips)

    async def _loop(self, index: int) -> None:
        lease = float(self.services.settings.job_lease_seconds)
        while not self._stopping.is_set():
            # A clip slot is reserved before the claim, so two loops claiming at once can
            # never start more clips than there are slots.
            clips = self._clip_slots < self.clip_concurrency
            self._clip_slots += clips
            try:
                await self.services.intake.make_way()
                job = await queue.claim_job(self.services.db, self.worker_id, lease, clips=clips)
            except (OSError, ConnectionError, TimeoutError) as exc:
                log.warning("worker loop %d: cannot reach the database (%s)", index, exc)
                job = None
            except BaseException:
                self._clip_slots -= clips
                raise
            is_clip = job is not None and job.input_kind in InputKind.CLIPS
            if clips and not is_clip:
                self._clip_slots -= 1
            if job is None:
                await self._idle()
                continue
            if self._stopping.is_set():  # claimed just as the stop came: give it back
                self._clip_slots -= is_clip
                await self._release(job)
                break
            if is_clip:
                clip = asyncio.create_task(self._run_clip(job, lease), name=f"clip-{job.id}")
                self._clips.add(clip)
                clip.add_done_callback(self._clips.discard)
                continue
            await self._supervise(job, lease)

    async def _run_clip(self, job: Job, lease: float) -> None:
        try:
            await self._supervise(job, lease)
        finally:
            self._clip_slots -= 1
            self._wake.set()  # a loop may take the next clip now

    async def _supervise(self, job: Job, lease: float) -> None:
        """Run one claimed job to its outcome, renewing its lease meanwhile."""
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
        if self._loops or self._clips:
            await asyncio.wait([*self._loops, *self._clips], timeout=max(grace_seconds, 0.001))
        for job, task in list(self._running.values()):
            if not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
                await self._release(job)
        if self._loops or self._clips:
            tasks = [*self._loops, *self._clips]
            _, stuck = await asyncio.wait(tasks, timeout=STOP_LOOPS_SECONDS)
            for loop in stuck:
                log.warning("a worker task did not stop in time; cancelling it")
                loop.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        self._loops = []

    async def _release(self, job: Job) -> None:
        try:
            await queue.release_job(self.services.db, job, self.worker_id)
            log.info("job %s released back to the queue", job.id)
        except queue.LeaseLostError:
            log.warning("job %s: lease already lost while releasing", job.id)
