"""The durable queue on SQLite and PostgreSQL: dedupe, claims, leases, retries, backpressure."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.intake import Intake
from db.engine import Database
from db.jobs import (
    Enqueued,
    LeaseLostError,
    NewJob,
    NewResult,
    QueueFullError,
    QueueLimits,
    UserRateLimitedError,
    claim_job,
    clear_reply_started,
    complete_job,
    enqueue_job,
    enqueue_jobs,
    fail_job,
    get_job,
    mark_reply_started,
    queue_depth,
    queue_position,
    release_job,
    renew_lease,
    requeue_expired,
    retry_job,
)
from db.models import Job, JobStatus, Result

LIMITS = QueueLimits(max_queue=1000, user_jobs_per_hour=1000)


def new_job(event: str, user: str | None = "u1") -> NewJob:
    return NewJob(
        channel="web",
        event_id=event,
        operation="filter",
        filter_name="Lo-Fi",
        user_external_id=user,
        source={"media": "abc"},
    )


async def count_jobs(db: Database) -> int:
    async with db.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Job)) or 0)


async def test_the_same_event_three_times_makes_one_job(database: Database) -> None:
    outcomes = [await enqueue_job(database, new_job("e1"), LIMITS) for _ in range(3)]
    assert [o.created for o in outcomes] == [True, False, False]
    assert len({o.job.id for o in outcomes}) == 1
    assert await count_jobs(database) == 1


async def test_concurrent_redelivery_makes_one_job(database: Database) -> None:
    outcomes = await asyncio.gather(
        *(enqueue_job(database, new_job("e1"), LIMITS) for _ in range(5))
    )
    assert sum(o.created for o in outcomes) == 1
    assert await count_jobs(database) == 1


async def test_claims_are_oldest_first_and_never_shared(database: Database) -> None:
    for i in range(20):
        await enqueue_job(database, new_job(f"e{i}"), LIMITS)
    claims = await asyncio.gather(*(claim_job(database, f"w{i}", 60) for i in range(25)))
    claimed = [job for job in claims if job is not None]
    assert len(claimed) == 20
    assert len({job.id for job in claimed}) == 20
    assert all(job.status == JobStatus.RUNNING and job.attempts == 1 for job in claimed)
    assert await claim_job(database, "late", 60) is None


async def test_queue_position_and_depth(database: Database) -> None:
    jobs = [(await enqueue_job(database, new_job(f"e{i}"), LIMITS)) for i in range(3)]
    assert [o.position for o in jobs] == [1, 2, 3]
    await claim_job(database, "w", 60)
    third = await get_job(database, jobs[2].job.id)
    assert third is not None
    assert await queue_position(database, third) == 2
    assert await queue_depth(database) == 2


async def test_an_expired_lease_puts_the_job_back(database: Database) -> None:
    await enqueue_job(database, new_job("e1"), LIMITS)
    job = await claim_job(database, "crashed-worker", lease_seconds=0.05)
    assert job is not None
    await asyncio.sleep(0.1)
    await requeue_expired(database)
    again = await claim_job(database, "worker-2", 60)
    assert again is not None and again.id == job.id and again.attempts == 2
    # the crashed worker can no longer finish it
    with pytest.raises(LeaseLostError):
        await complete_job(
            database,
            job,
            "crashed-worker",
            result=None,
            reply_message_id="x",
            inference_seconds=0.1,
        )
    assert not await renew_lease(database, job.id, "crashed-worker", 60)
    assert await renew_lease(database, job.id, "worker-2", 60)


async def test_complete_stores_result_and_reply_together(database: Database) -> None:
    await enqueue_job(database, new_job("e1"), LIMITS)
    job = await claim_job(database, "w", 60)
    assert job is not None
    assert await mark_reply_started(database, job.id, "w")
    assert not await mark_reply_started(database, job.id, "w")  # only once
    result = NewResult(media="m1", input_media="abc", width=10, height=20, bytes=300)
    stored = await complete_job(
        database, job, "w", result=result, reply_message_id="msg-9", inference_seconds=0.25
    )
    assert stored is not None
    done = await get_job(database, job.id)
    assert done is not None
    assert done.status == JobStatus.DONE
    assert done.reply_message_id == "msg-9" and done.replied_at is not None
    assert done.total_seconds is not None and done.total_seconds >= 0
    assert done.inference_seconds == 0.25
    async with database.sessions() as session:
        rows = (await session.scalars(select(Result))).all()
    assert [(r.job_id, r.media, r.width, r.height) for r in rows] == [(job.id, "m1", 10, 20)]


async def test_retry_waits_and_release_does_not_count(database: Database) -> None:
    await enqueue_job(database, new_job("e1"), LIMITS)
    job = await claim_job(database, "w", 60)
    assert job is not None
    await retry_job(database, job, "w", delay_seconds=30, reason="429 from the platform")
    assert await claim_job(database, "w", 60) is None  # not before run_after
    async with database.sessions.begin() as session:
        row = await session.get(Job, job.id)
        assert row is not None and row.error_kind == "retrying"
        row.run_after = row.run_after - timedelta(seconds=31)
    again = await claim_job(database, "w", 60)
    assert again is not None and again.attempts == 2
    await release_job(database, again, "w")
    released = await get_job(database, job.id)
    assert released is not None
    assert released.status == JobStatus.QUEUED and released.attempts == 1


async def test_failed_job_keeps_the_friendly_message(database: Database) -> None:
    await enqueue_job(database, new_job("e1"), LIMITS)
    job = await claim_job(database, "w", 60)
    assert job is not None
    await mark_reply_started(database, job.id, "w")
    await clear_reply_started(database, job.id, "w")
    assert await mark_reply_started(database, job.id, "w")  # cleared, so allowed again
    await fail_job(
        database, job, "w", kind="bad_image", message="That file is empty.", reply_message_id="m2"
    )
    failed = await get_job(database, job.id)
    assert failed is not None
    assert (failed.status, failed.error_kind, failed.error_message) == (
        JobStatus.FAILED,
        "bad_image",
        "That file is empty.",
    )


async def test_a_full_queue_answers_busy(database: Database) -> None:
    limits = QueueLimits(max_queue=3, user_jobs_per_hour=1000)
    for i in range(3):
        await enqueue_job(database, new_job(f"e{i}", user=f"u{i}"), limits)
    with pytest.raises(QueueFullError) as caught:
        await enqueue_job(database, new_job("e9", user="u9"), limits)
    assert "try again in a few minutes" in caught.value.user_message
    assert await count_jobs(database) == 3
    # a re-delivery of an accepted event is still answered, not refused
    again = await enqueue_job(database, new_job("e0", user="u0"), limits)
    assert again.created is False


async def test_the_per_user_limit_says_when_to_come_back(database: Database) -> None:
    limits = QueueLimits(max_queue=1000, user_jobs_per_hour=2)
    await enqueue_job(database, new_job("e1"), limits)
    await enqueue_job(database, new_job("e2"), limits)
    with pytest.raises(UserRateLimitedError) as caught:
        await enqueue_job(database, new_job("e3"), limits)
    assert "try again in about 60 minutes" in caught.value.user_message
    # other users are not affected
    assert (await enqueue_job(database, new_job("e4", user="u2"), limits)).created


async def test_a_batch_is_one_transaction_with_each_request_answered(database: Database) -> None:
    limits = QueueLimits(max_queue=4, user_jobs_per_hour=2)
    await enqueue_job(database, new_job("old", user="u1"), limits)
    batch = [
        new_job("old", user="u1"),  # a re-delivery: the existing job, never refused
        new_job("a", user="u1"),  # u1's second job of the hour
        new_job("b", user="u1"),  # u1's third: over the limit
        new_job("a", user="u1"),  # the same event twice in one batch: one job
        new_job("c", user="u2"),
        new_job("d", user="u3"),  # the queue is now full (4)
        new_job("e", user="u4"),  # busy
    ]
    outcomes = await enqueue_jobs(database, batch, limits)
    old, first, limited, again, third, fourth, busy = outcomes
    assert isinstance(old, Enqueued) and not old.created and old.position == 1
    assert isinstance(first, Enqueued) and first.created and first.position == 2
    assert isinstance(limited, UserRateLimitedError)
    assert isinstance(again, Enqueued) and not again.created and again.job.id == first.job.id
    assert isinstance(third, Enqueued) and third.position == 3
    assert isinstance(fourth, Enqueued) and fourth.position == 4
    assert isinstance(busy, QueueFullError)
    assert await count_jobs(database) == 4


async def test_the_intake_gathers_concurrent_submissions(database: Database) -> None:
    woken: list[int] = []
    intake = Intake(database, lambda: LIMITS, lambda: woken.append(1))
    outcomes = await asyncio.gather(
        *(intake.enqueue(new_job(f"e{i % 30}", user=f"u{i % 7}")) for i in range(60)),
        return_exceptions=True,
    )
    assert all(isinstance(outcome, Enqueued) for outcome in outcomes)
    assert await count_jobs(database) == 30
    assert len(woken) == 30  # once per new job
    positions = sorted(o.position for o in outcomes if isinstance(o, Enqueued) and o.created)
    assert positions == list(range(1, 31))
    await intake.close()


async def test_background_work_makes_way_for_submissions_being_written(
    database: Database,
) -> None:
    intake = Intake(database, lambda: LIMITS, lambda: None)
    started = asyncio.get_running_loop().time()
    await intake.make_way(5.0)  # nothing being written: no wait
    assert asyncio.get_running_loop().time() - started < 1.0
    submissions = [asyncio.create_task(intake.enqueue(new_job(f"e{i}"))) for i in range(40)]
    await asyncio.sleep(0)  # the writer has started
    await intake.make_way(30.0)
    assert await count_jobs(database) == 40  # everything pending was written first
    await asyncio.gather(*submissions)
    await intake.close()
