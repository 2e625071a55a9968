"""Clip jobs for the tests: small black-and-white clips made with PyAV, queued as web jobs
the way the upload route queues them (original in the media store), and what to wait for."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import cv2
import numpy as np

from bot.media import MediaStore
from db import jobs as queue
from db.engine import Database
from db.models import InputKind, Job, JobStatus
from tests.video_builders import AudioSpec, panning, write_gif, write_video

FINISHED = (JobStatus.DONE, JobStatus.FAILED)
LIMITS = queue.QueueLimits(max_queue=100_000, user_jobs_per_hour=100_000)


def grey(frames: list[np.ndarray]) -> list[np.ndarray]:
    return [cv2.cvtColor(cv2.cvtColor(f, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR) for f in frames]


def grey_video(
    path: Path,
    frames: int = 20,
    size: tuple[int, int] = (96, 64),
    *,
    fps: int = 10,
    audio: bool = True,
    seed: int = 0,
    container_format: str | None = None,
    metadata: dict[str, str] | None = None,
) -> Path:
    """A black-and-white panning MP4 (H.264), with a tone when `audio`."""
    width, height = size
    return write_video(
        path,
        grey(panning(frames, width, height, seed=seed)),
        fps=fps,
        audio=AudioSpec() if audio else None,
        container_format=container_format,
        metadata=metadata,
    )


def grey_gif(path: Path, frames: int = 8, size: tuple[int, int] = (64, 48)) -> Path:
    width, height = size
    return write_gif(path, grey(panning(frames, width, height)), [10] * frames)


async def enqueue_clip(
    db: Database,
    media: MediaStore,
    clip: Path,
    *,
    event_id: str,
    kind: str = InputKind.VIDEO,
    operation: str = "colorize",
    filter_name: str | None = None,
    share: bool = False,
) -> Job:
    """A web job for `clip`, stored as the upload route stores it."""
    ext = "gif" if kind == InputKind.GIF else "mp4"
    key = media.put(clip.read_bytes(), ext)
    new = queue.NewJob(
        channel="web",
        event_id=event_id,
        operation=operation,
        filter_name=filter_name,
        user_external_id="clip-tests",
        source={"media": key},
        input_media=key,
        input_kind=kind,
        share=share,
    )
    return (await queue.enqueue_job(db, new, LIMITS)).job


async def wait_finished(db: Database, job_id: int, timeout: float = 240.0) -> Job:
    """The job once it is done or failed (the deadline only stops a hung test)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = await queue.get_job(db, job_id)
        assert job is not None
        if job.status in FINISHED:
            return job
        await asyncio.sleep(0.1)
    raise TimeoutError(f"job {job_id} did not finish in {timeout} s")


def leftovers(media: MediaStore) -> list[Path]:
    """Files that must not exist once work is over: scratch files, half-written temporaries
    (the store's `.incoming-*`, the writers' `.*.part`)."""
    found = [p for p in media.scratch_root.rglob("*") if p.is_file()]
    found += [p for p in media.root.rglob(".*") if p.is_file()]
    return sorted(found)
