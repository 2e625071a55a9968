"""A worker killed (SIGKILL) in the middle of a clip: the restarted service runs the clip again
from the start, answers it once, and leaves no partial file anywhere in the media store."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import pytest

from bot.media import MediaStore
from db import jobs as queue
from db.engine import connect
from db.migrate import upgrade
from db.models import JobStatus
from db.results import get_result_for_job
from tests.clip_helpers import enqueue_clip, grey_video, leftovers, wait_finished
from tests.service_process import service_env, start
from tests.test_clip_jobs import results_of
from tests.test_service import stop
from tests.video_builders import read_clip

pytestmark = pytest.mark.slow

FRAMES = 150


async def test_sigkill_mid_clip_then_restart_makes_one_complete_result(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/colorbot.db"
    db = connect(url)
    await upgrade(db)
    media = MediaStore(tmp_path / "media")
    clip = grey_video(tmp_path / "long.mp4", frames=FRAMES, size=(320, 240), fps=10)
    job = await enqueue_clip(db, media, clip, event_id="crash-clip")
    env = service_env(tmp_path, url, JOB_LEASE_SECONDS="5")
    log = tmp_path / "serve.log"
    first = start("serve", env, log)
    try:
        deadline = time.monotonic() + 180
        while True:  # until the clip is well under way (its progress is stored)
            running = await queue.get_job(db, job.id)
            assert running is not None and running.status != JobStatus.DONE, "killed too late"
            if running.progress is not None and running.progress >= 0.15:
                break
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            await asyncio.sleep(0.05)
    finally:
        stop(first, signal.SIGKILL)
    interrupted = await queue.get_job(db, job.id)
    assert interrupted is not None and interrupted.status == JobStatus.RUNNING
    assert interrupted.progress is not None and interrupted.progress < 1.0
    assert leftovers(media), "the kill left no partial work to clean up"

    second = start("serve", env, log)
    try:
        done = await wait_finished(db, job.id)
    finally:
        assert stop(second) == 0
    assert done.status == JobStatus.DONE, done.error_message
    assert done.attempts == 2 and done.progress == 1.0
    assert await results_of(db, job.id) == 1
    result = await get_result_for_job(db, job.id)
    assert result is not None
    assert read_clip(media.path(result.media)).frames == FRAMES
    assert leftovers(media) == []
    assert not (media.scratch_root / f"job-{job.id}").exists()
    await db.close()
