"""Channel state (db/channel_state.py) and the X attribution queries (db/results.py), on SQLite
and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import update

from db.channel_state import (
    claim_hint,
    event_seen,
    get_cursor,
    is_user_blocked,
    set_cursor,
    user_external_id,
)
from db.engine import Database
from db.jobs import NewJob, NewResult, QueueLimits, claim_job, complete_job, enqueue_job
from db.jobs import record_event as record
from db.models import Result, User, utcnow
from db.results import (
    get_result_for_job,
    list_replied_results,
    list_unattributed,
    set_attribution,
    set_external_likes,
)


async def test_cursor_survives_and_moves(database: Database) -> None:
    assert await get_cursor(database, "x:mentions:since_id") is None
    await set_cursor(database, "x:mentions:since_id", "100")
    await set_cursor(database, "x:mentions:since_id", "250")
    assert await get_cursor(database, "x:mentions:since_id") == "250"
    assert await get_cursor(database, "other") is None


async def test_events_and_blocked_users(database: Database) -> None:
    assert not await event_seen(database, "x", "7")
    assert await record(database, "x", "7")
    assert await event_seen(database, "x", "7") and not await event_seen(database, "telegram", "7")
    assert not await is_user_blocked(database, "x", "42")
    await claim_hint(database, "x", "42", "alice", period=timedelta(days=1))
    assert not await is_user_blocked(database, "x", "42")
    async with database.sessions.begin() as session:
        await session.execute(update(User).where(User.external_id == "42").values(blocked=True))
    assert await is_user_blocked(database, "x", "42")


async def test_one_hint_per_period_even_when_claimed_at_once(database: Database) -> None:
    day = timedelta(days=1)
    claims = await asyncio.gather(
        *(claim_hint(database, "x", "9", "bob", period=day) for _ in range(5))
    )
    assert sorted(claims) == [False, False, False, False, True]
    assert not await claim_hint(database, "x", "9", "bob", period=day)
    async with database.sessions.begin() as session:
        await session.execute(update(User).values(last_hint_at=utcnow() - timedelta(days=2)))
    assert await claim_hint(database, "x", "9", "bob", period=day)
    assert await claim_hint(database, "x", "10", None, period=day)  # another user


async def test_attribution_and_like_counts(database: Database) -> None:
    await enqueue_job(
        database,
        NewJob(
            channel="x",
            event_id="500",
            operation="filter",
            user_external_id="7",
            user_handle="alice",
        ),
        QueueLimits(),
    )
    job = await claim_job(database, "w", 60)
    assert job is not None
    result = NewResult(media="m.jpg", input_media=None, width=1, height=1, bytes=1, gallery=True)
    await complete_job(
        database, job, "w", result=result, reply_message_id="900", inference_seconds=0.1
    )
    assert await user_external_id(database, job.user_id) == "7"
    assert await user_external_id(database, None) is None
    assert await list_unattributed(database, "x", 10) == [(job.id, "900", "alice")]
    assert await set_attribution(
        database, job.id, author_handle="alice", post_url="https://x.com/i/status/900"
    )
    assert await list_unattributed(database, "x", 10) == []
    stored = await get_result_for_job(database, job.id)
    assert stored is not None and (stored.author_handle, stored.post_url) == (
        "alice",
        "https://x.com/i/status/900",
    )
    recent = await list_replied_results(database, "x", utcnow() - timedelta(days=7), 10)
    assert recent == [(stored.id, "900")]
    assert await list_replied_results(database, "x", utcnow() + timedelta(minutes=1), 10) == []
    assert await list_replied_results(database, "telegram", utcnow() - timedelta(days=7), 10) == []
    await set_external_likes(database, {stored.id: 12})
    async with database.sessions() as session:
        row = await session.get(Result, stored.id)
        assert row is not None and row.external_likes == 12
