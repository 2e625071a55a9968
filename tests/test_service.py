"""The service as processes: crash recovery, several workers on PostgreSQL, graceful stop,
and what `serve` does on an unmigrated database."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.media import MediaStore
from db.engine import Database, connect
from db.migrate import upgrade
from db.models import Job, JobStatus, Result
from tests.conftest import create_postgres_database
from tests.service_process import ROOT, enqueue_web_jobs, service_env, start, wait_ready

pytestmark = pytest.mark.slow


async def job_counts(db: Database) -> dict[str, int]:
    async with db.sessions() as session:
        rows = (await session.execute(select(Job.status, func.count()).group_by(Job.status))).all()
    return {status: int(count) for status, count in rows}


async def results_per_job(db: Database) -> list[int]:
    async with db.sessions() as session:
        rows = (
            await session.execute(select(func.count()).select_from(Result).group_by(Result.job_id))
        ).all()
    return [int(row[0]) for row in rows]


async def wait_for(
    db: Database, predicate: Callable[[dict[str, int]], bool], timeout: float
) -> dict[str, int]:
    deadline = time.monotonic() + timeout
    counts: dict[str, int] = {}
    while time.monotonic() < deadline:
        counts = await job_counts(db)
        if predicate(counts):
            return counts
        await asyncio.sleep(0.2)
    raise TimeoutError(f"gave up waiting; job counts {counts}")


def stop(process: subprocess.Popen[bytes], signum: int = signal.SIGTERM) -> int:
    if process.poll() is None:
        process.send_signal(signum)
    return process.wait(timeout=60)


async def test_sigkill_mid_queue_then_restart_finishes_every_job_exactly_once(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/colorbot.db"
    db = connect(url)
    await upgrade(db)
    await enqueue_web_jobs(db, MediaStore(tmp_path / "media"), 100, prefix="crash")
    env = service_env(tmp_path, url, JOB_LEASE_SECONDS="5", WORKER_CONCURRENCY="2")
    log = tmp_path / "serve.log"
    first = start("serve", env, log)
    try:
        await wait_for(db, lambda c: c.get(JobStatus.DONE, 0) >= 15, timeout=120)
    finally:
        stop(first, signal.SIGKILL)
    before_restart = await job_counts(db)
    assert before_restart.get(JobStatus.DONE, 0) < 100, "the kill came too late to test anything"
    second = start("serve", env, log)
    try:
        counts = await wait_for(db, lambda c: c.get(JobStatus.DONE, 0) == 100, timeout=180)
    finally:
        assert stop(second) == 0
    assert counts == {JobStatus.DONE: 100}
    per_job = await results_per_job(db)
    assert len(per_job) == 100 and set(per_job) == {1}
    await db.close()


@pytest.mark.postgres
async def test_two_workers_share_200_jobs_on_postgresql_each_done_once(
    tmp_path: Path, postgres_url: str
) -> None:
    url = await create_postgres_database(postgres_url)
    db = connect(url)
    await upgrade(db)
    await enqueue_web_jobs(db, MediaStore(tmp_path / "media"), 200, prefix="pg")
    env = service_env(tmp_path, url, WORKER_CONCURRENCY="2")
    workers = [start("worker", env, tmp_path / f"worker{i}.log") for i in range(2)]
    try:
        counts = await wait_for(db, lambda c: c.get(JobStatus.DONE, 0) == 200, timeout=300)
    finally:
        codes = [stop(worker) for worker in workers]
    assert codes == [0, 0]
    assert counts == {JobStatus.DONE: 200}
    assert set(await results_per_job(db)) == {1} and len(await results_per_job(db)) == 200
    async with db.sessions() as session:
        per_worker = (
            await session.execute(select(Job.leased_by, func.count()).group_by(Job.leased_by))
        ).all()
        attempts = set((await session.scalars(select(Job.attempts))).all())
    assert len(per_worker) == 2, per_worker  # both processes did work
    assert attempts == {1}
    await db.close()


async def test_sigterm_stops_intake_and_leaves_nothing_running(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/colorbot.db"
    db = connect(url)
    await upgrade(db)
    await enqueue_web_jobs(db, MediaStore(tmp_path / "media"), 60, prefix="term")
    env = service_env(tmp_path, url, SHUTDOWN_TIMEOUT_S="0", WORKER_CONCURRENCY="2")
    process = start("serve", env, tmp_path / "serve.log")
    try:
        wait_ready(env, process)
        await wait_for(db, lambda c: c.get(JobStatus.DONE, 0) >= 5, timeout=120)
    finally:
        code = stop(process, signal.SIGTERM)
    assert code == 0, (tmp_path / "serve.log").read_text()[-3000:]
    counts = await job_counts(db)
    assert JobStatus.RUNNING not in counts, counts
    assert counts.get(JobStatus.QUEUED, 0) > 0, "all jobs finished before the signal"
    async with db.sessions() as session:
        queued_attempts = set(
            (
                await session.scalars(select(Job.attempts).where(Job.status == JobStatus.QUEUED))
            ).all()
        )
    assert queued_attempts == {0}  # released jobs do not lose an attempt
    await db.close()


@pytest.mark.postgres
async def test_serve_refuses_an_unmigrated_postgres_until_db_upgrade(
    tmp_path: Path, postgres_url: str
) -> None:
    url = await create_postgres_database(postgres_url)
    env = service_env(tmp_path, url)
    refused = subprocess.run(
        [sys.executable, "-m", "bot.cli", "serve"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert refused.returncode == 1
    lines = refused.stderr.strip().splitlines()
    assert "run `colorbot db upgrade`" in lines[-1] and "none (empty)" in lines[-1]
    upgraded = subprocess.run(
        [sys.executable, "-m", "bot.cli", "db", "upgrade"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert upgraded.returncode == 0, upgraded.stderr
    process = start("serve", env, tmp_path / "serve.log")
    try:
        wait_ready(env, process)
    finally:
        assert stop(process) == 0


async def test_serve_migrates_a_fresh_sqlite_database_itself(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/fresh/colorbot.db"
    env = service_env(tmp_path, url)
    process = start("serve", env, tmp_path / "serve.log")
    try:
        wait_ready(env, process)
    finally:
        assert stop(process) == 0
    db = connect(url)
    assert await job_counts(db) == {}
    await db.close()
