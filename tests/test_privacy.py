"""Forgetting a user or a result removes rows and reports exactly the orphaned media."""

from __future__ import annotations

from sqlalchemy import func, select

from db.engine import Database
from db.jobs import NewJob, NewResult, QueueLimits, claim_job, complete_job, enqueue_job
from db.models import Job, Result, User
from db.privacy import delete_result, find_result_by_reply, forget_user

LIMITS = QueueLimits()


async def finished_job(db: Database, event: str, user: str, media: str, upload: str) -> int:
    new = NewJob(
        channel="telegram",
        event_id=event,
        operation="colorize",
        user_external_id=user,
        input_media=upload,
    )
    await enqueue_job(db, new, LIMITS)
    job = await claim_job(db, "w", 60)
    assert job is not None
    result = NewResult(media=media, input_media=upload, width=1, height=1, bytes=1)
    stored = await complete_job(
        db, job, "w", result=result, reply_message_id=f"m-{event}", inference_seconds=0.1
    )
    assert stored is not None
    return stored.id


async def count(db: Database, model: type) -> int:
    async with db.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_forget_user_removes_their_rows_and_only_unshared_media(database: Database) -> None:
    await finished_job(database, "1", "alice", "a-result", "shared-upload")
    await finished_job(database, "2", "alice", "a-result-2", "a-upload")
    await finished_job(database, "3", "bob", "b-result", "shared-upload")
    found, orphaned = await forget_user(database, "telegram", "alice")
    assert found
    assert orphaned == ["a-result", "a-result-2", "a-upload"]  # bob still uses shared-upload
    assert await count(database, User) == 1
    assert await count(database, Job) == 1 and await count(database, Result) == 1
    assert await forget_user(database, "telegram", "alice") == (False, [])


async def test_delete_result_keeps_the_job_for_dedupe(database: Database) -> None:
    result_id = await finished_job(database, "1", "carol", "c-result", "c-upload")
    found = await find_result_by_reply(database, "telegram", "m-1")
    assert found is not None and found.id == result_id
    assert await delete_result(database, result_id) == ["c-result", "c-upload"]
    assert await count(database, Result) == 0 and await count(database, Job) == 1
    assert await find_result_by_reply(database, "telegram", "m-1") is None
    assert await delete_result(database, result_id) == []
