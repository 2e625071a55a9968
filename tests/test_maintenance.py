"""Scheduler housekeeping: retention of originals, daily usage roll-up, lease expiry."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select, update

from db.engine import Database
from db.jobs import NewJob, NewResult, QueueLimits, claim_job, complete_job, enqueue_job, fail_job
from db.maintenance import percentile, purge_originals, roll_up_day
from db.models import Job, Result, UsageDay, utcnow

LIMITS = QueueLimits(max_queue=1000, user_jobs_per_hour=1000)


async def run_one(
    db: Database,
    event: str,
    *,
    upload: str,
    gallery: bool = False,
    fail: bool = False,
    filter_name: str | None = "Lo-Fi",
) -> int:
    new = NewJob(
        channel="web",
        event_id=event,
        operation="filter" if filter_name else "colorize",
        filter_name=filter_name,
        user_external_id="u",
        input_media=upload,
    )
    await enqueue_job(db, new, LIMITS)
    job = await claim_job(db, "w", 60)
    assert job is not None
    if fail:
        await fail_job(db, job, "w", kind="bad_image", message="nope", reply_message_id=None)
    else:
        await complete_job(
            db,
            job,
            "w",
            result=NewResult(
                media=f"out-{event}",
                input_media=upload,
                width=1,
                height=1,
                bytes=1,
                gallery=gallery,
            ),
            reply_message_id=None,
            inference_seconds=0.1,
        )
    return job.id


async def age(db: Database, days: float) -> None:
    async with db.sessions.begin() as session:
        await session.execute(update(Job).values(created_at=utcnow() - timedelta(days=days)))


async def test_old_originals_are_purged_unless_in_the_gallery(database: Database) -> None:
    await run_one(database, "private", upload="up-private")
    await run_one(database, "shared", upload="up-shared", gallery=True)
    await run_one(database, "failed", upload="up-failed", fail=True)
    assert await purge_originals(database, timedelta(days=30)) == []  # all fresh
    await age(database, 31)
    await run_one(database, "fresh", upload="up-private")  # a new job reuses the same upload
    assert await purge_originals(database, timedelta(days=30)) == ["up-failed"]
    async with database.sessions() as session:
        uploads = dict((await session.execute(select(Job.event_id, Job.input_media))).all())
        kept = (await session.execute(select(Result.media, Result.input_media))).all()
    assert uploads == {
        "private": None,
        "shared": "up-shared",
        "failed": None,
        "fresh": "up-private",
    }
    assert ("out-private", None) in kept and ("out-shared", "up-shared") in kept


async def test_daily_roll_up_counts_and_times(database: Database) -> None:
    for index in range(4):
        await run_one(database, f"ok{index}", upload=f"u{index}")
    await run_one(database, "bad", upload="ub", fail=True)
    await run_one(database, "col", upload="uc", filter_name=None)
    today = utcnow().date()
    assert await roll_up_day(database, today) == 2
    assert await roll_up_day(database, today) == 2  # idempotent
    async with database.sessions() as session:
        rows = {
            (r.operation, r.filter_name): r
            for r in (await session.scalars(select(UsageDay).where(UsageDay.day == today))).all()
        }
    lofi = rows[("filter", "Lo-Fi")]
    assert (lofi.succeeded, lofi.failed) == (4, 1)
    assert lofi.p50_seconds is not None and lofi.p95_seconds is not None
    assert rows[("colorize", "")].succeeded == 1
    assert await roll_up_day(database, date(2001, 1, 1)) == 0


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.5) == 50.0
    assert percentile(values, 0.95) == 95.0
    assert percentile([3.0], 0.95) == 3.0
    assert percentile([], 0.5) is None
