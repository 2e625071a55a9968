"""The queries the Telegram channel added, on SQLite and PostgreSQL: album lookups, the
progress message's compare-and-set, job counts, gallery consent."""

from __future__ import annotations

from datetime import timedelta

from db.albums import find_album_jobs
from db.engine import Database
from db.jobs import NewJob, NewResult, QueueLimits, claim_job, complete_job, enqueue_job
from db.models import Job, utcnow
from db.progress import CLOSED, close_progress, store_progress_message
from db.results import get_result_and_job, share_result
from db.stats import count_jobs, recent_job_counts

LIMITS = QueueLimits(user_jobs_per_hour=100)


async def new_job(db: Database, event: str, **fields: object) -> int:
    new = NewJob(
        channel="telegram", event_id=event, operation="filter", filter_name="Lo-Fi", **fields
    )
    return (await enqueue_job(db, new, LIMITS)).job.id


async def test_album_jobs_are_found_by_their_media_group(database: Database) -> None:
    since = utcnow() - timedelta(minutes=5)
    for event, group in (("1", "g1"), ("2", "g2"), ("3", "g1")):
        await new_job(
            database, event, reply_to={"chat_id": 5, "message_id": 1, "media_group_id": group}
        )
    await new_job(database, "4", reply_to={"chat_id": 5, "message_id": 1})
    found = await find_album_jobs(database, "telegram", "g1", since)
    assert [job.event_id for job in found] == ["1", "3"]
    assert await find_album_jobs(database, "x", "g1", since) == []
    assert await find_album_jobs(database, "telegram", "g1", utcnow() + timedelta(seconds=1)) == []


async def test_the_progress_message_is_edited_by_whoever_comes_second(database: Database) -> None:
    first, second = await new_job(database, "1"), await new_job(database, "2")
    # The in-line message is stored first: the reply edits it.
    assert await store_progress_message(database, first, "77")
    assert await close_progress(database, first) == "77"
    # The reply comes first: storing fails, so the sender edits its own message.
    assert await close_progress(database, second) is None
    assert not await store_progress_message(database, second, "78")
    async with database.sessions() as session:
        stored = await session.get(Job, second)
    assert stored is not None and stored.progress_message_id == CLOSED


async def test_job_counts_by_status_and_operation(database: Database) -> None:
    await new_job(database, "1")
    await new_job(database, "2")
    job = await claim_job(database, "w", 60)
    assert job is not None
    await complete_job(database, job, "w", result=None, reply_message_id="9", inference_seconds=0.1)
    today, week = await recent_job_counts(database)
    assert today.by_status == {"done": 1, "queued": 1} and today.by_operation == {"filter": 2}
    assert week.total == 2
    assert (await count_jobs(database, utcnow() - timedelta(days=1), channel="web")).total == 0
    assert (await count_jobs(database, utcnow() + timedelta(seconds=1))).total == 0


async def test_sharing_needs_one_consent_and_counts_one_vote(database: Database) -> None:
    await new_job(database, "1", user_external_id="55")
    job = await claim_job(database, "w", 60)
    assert job is not None
    result = NewResult(
        media="m.jpg", input_media="i.jpg", width=1, height=1, bytes=1, public_id="pub"
    )
    stored = await complete_job(
        database, job, "w", result=result, reply_message_id="9", inference_seconds=0.1
    )
    assert stored is not None
    found = await get_result_and_job(database, "pub")
    assert found is not None and found[1].id == job.id and not found[0].gallery
    assert await share_result(database, stored.id, "telegram:55")
    assert not await share_result(database, stored.id, "telegram:55")
    found = await get_result_and_job(database, "pub")
    assert found is not None and found[0].gallery and found[0].votes == 1
    assert await get_result_and_job(database, "nope") is None
