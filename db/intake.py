"""Getting work into the durable queue: one INSERT per job with a unique (channel, event id),
so a re-delivered event does nothing; backpressure (`MAX_QUEUE`) and a per-user hourly limit,
each answered with a friendly `UserError`; and the queue position, for "you're #N in line".

`enqueue_jobs` takes many requests in one transaction (the service's intake batches concurrent
submissions through it: on SQLite, one transaction for a burst costs about what one request
did); `enqueue_job` is the same for one.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, false, func, select, tuple_
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import UserError
from db.engine import Database
from db.models import Event, InputKind, Job, JobStatus, User, utcnow


class QueueFullError(UserError):
    kind = "busy"

    def __init__(self) -> None:
        super().__init__(
            "I'm very busy right now. Please try again in a few minutes.",
            detail="queue is above MAX_QUEUE",
        )


class UserRateLimitedError(UserError):
    kind = "rate_limited"

    def __init__(self, retry_at: datetime, limit: int) -> None:
        self.retry_at = retry_at
        minutes = max(1, round((retry_at - utcnow()).total_seconds() / 60))
        what = "1 photo or video" if limit == 1 else f"{limit} photos or videos"
        super().__init__(
            f"You've sent {what} in the last hour, which is the limit. "
            f"Please try again in about {minutes} minute{'s' if minutes != 1 else ''} "
            f"(after {retry_at:%H:%M} UTC).",
            detail=f"user rate limit {limit}/h reached",
        )


@dataclass(frozen=True)
class NewJob:
    channel: str
    event_id: str
    operation: str
    user_external_id: str | None = None
    user_handle: str | None = None
    filter_name: str | None = None
    source: dict[str, Any] = field(default_factory=dict)
    reply_to: dict[str, Any] = field(default_factory=dict)
    share: bool = False
    input_media: str | None = None
    input_kind: str = InputKind.PHOTO  # "photo", "video" or "gif" (`db.models.InputKind`)


@dataclass(frozen=True)
class Enqueued:
    job: Job
    created: bool
    position: int | None


@dataclass(frozen=True)
class QueueLimits:
    max_queue: int = 1000
    user_jobs_per_hour: int = 10


def new_public_id() -> str:
    return secrets.token_urlsafe(12)


async def user_id_for(
    session: AsyncSession, channel: str, external_id: str, handle: str | None = None
) -> int:
    """The id of the user row, created (or its handle refreshed) in one statement:
    `INSERT ... ON CONFLICT DO UPDATE ... RETURNING id`, so two first requests of a new user at
    the same moment cannot collide."""
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(User).values(
        channel=channel,
        external_id=external_id,
        handle=handle,
        blocked=False,
        created_at=utcnow(),
    )
    upsert = statement.on_conflict_do_update(
        index_elements=["channel", "external_id"],
        set_={"handle": func.coalesce(statement.excluded.handle, User.__table__.c.handle)},
    ).returning(User.id)
    return int((await session.execute(upsert)).scalar_one())


async def upsert_user(
    session: AsyncSession, channel: str, external_id: str, handle: str | None = None
) -> User:
    """The user row, created if needed (see `user_id_for`)."""
    user = await session.get(User, await user_id_for(session, channel, external_id, handle))
    assert user is not None
    await session.refresh(user)
    return user


async def record_event(db: Database, channel: str, event_id: str) -> bool:
    """Remember a platform event; False when it was seen before (a re-delivery)."""
    try:
        async with db.sessions.begin() as session:
            session.add(Event(channel=channel, event_id=event_id))
    except IntegrityError:
        return False
    return True


Outcome = Enqueued | UserError
"""What `enqueue_jobs` answers for each request: the job, or the refusal to send the user."""


async def enqueue_job(db: Database, new: NewJob, limits: QueueLimits) -> Enqueued:
    """Insert a job, or return the existing one for a re-delivered (channel, event id), with
    its queue position. Raises `QueueFullError` above `max_queue`, `UserRateLimitedError` over
    the user's hourly limit (a re-delivery of an accepted event is never refused)."""
    outcome = (await enqueue_jobs(db, [new], limits))[0]
    if isinstance(outcome, UserError):
        raise outcome
    return outcome


async def enqueue_jobs(db: Database, requests: list[NewJob], limits: QueueLimits) -> list[Outcome]:
    """`enqueue_job` for many requests in one transaction; one outcome per request, in order."""
    try:
        async with db.sessions.begin() as session:
            return await _enqueue_in(session, requests, limits)
    except IntegrityError:
        # Another process inserted one of these events between our check and our insert.
        if len(requests) > 1:
            return [(await enqueue_jobs(db, [request], limits))[0] for request in requests]
        async with db.sessions() as session:
            existing = await job_by_event(session, requests[0].channel, requests[0].event_id)
            if existing is None:
                raise
            return [Enqueued(existing, False, await position_in_queue(session, existing))]


async def job_by_event(session: AsyncSession, channel: str, event_id: str) -> Job | None:
    return await session.scalar(select(Job).where(Job.channel == channel, Job.event_id == event_id))


async def position_in_queue(session: AsyncSession, job: Job) -> int | None:
    if job.status != JobStatus.QUEUED:
        return None
    ahead = await session.scalar(
        select(func.count()).select_from(Job).where(Job.status == JobStatus.QUEUED, Job.id < job.id)
    )
    return int(ahead or 0) + 1


async def _enqueue_in(
    session: AsyncSession, requests: list[NewJob], limits: QueueLimits
) -> list[Outcome]:
    now = utcnow()
    keys = {(request.channel, request.event_id) for request in requests}
    found = await session.scalars(select(Job).where(tuple_(Job.channel, Job.event_id).in_(keys)))
    known: dict[tuple[str, str], Job] = {(job.channel, job.event_id): job for job in found}
    user_ids = await _user_ids(session, requests)
    depth, recent = await _depth_and_recent(session, set(user_ids.values()), now)
    outcomes: list[UserError | Job] = []
    positions: dict[int, int] = {}  # id(job) -> position, for the new ones
    for request in requests:
        key = (request.channel, request.event_id)
        if key in known:  # a re-delivery: never refused, never inserted twice
            outcomes.append(known[key])
            continue
        user_id = user_ids.get((request.channel, request.user_external_id or ""))
        if user_id is not None:
            count, oldest = recent[user_id]
            if count >= limits.user_jobs_per_hour:
                retry_at = (oldest or now) + timedelta(hours=1)
                outcomes.append(UserRateLimitedError(retry_at, limits.user_jobs_per_hour))
                continue
            recent[user_id] = (count + 1, oldest or now)
        if depth >= limits.max_queue:
            outcomes.append(QueueFullError())
            continue
        job = _new_job(request, user_id, now)
        session.add(job)
        known[key] = job
        depth += 1
        positions[id(job)] = depth
        outcomes.append(job)
    await session.flush()
    answers: list[Outcome] = []
    for outcome in outcomes:
        if isinstance(outcome, UserError):
            answers.append(outcome)
        elif id(outcome) in positions:
            answers.append(Enqueued(outcome, True, positions.pop(id(outcome))))
        else:
            answers.append(Enqueued(outcome, False, await position_in_queue(session, outcome)))
    return answers


async def _depth_and_recent(
    session: AsyncSession, user_ids: set[int], now: datetime
) -> tuple[int, dict[int, tuple[int, datetime | None]]]:
    """One round trip: the queue's depth, and each user's jobs in the last hour (count, oldest).
    The one-row depth subquery is left-joined, so there is always a row to read it from."""
    depth = (
        select(func.count().label("depth")).select_from(Job).where(Job.status == JobStatus.QUEUED)
    ).subquery()
    recent_jobs = and_(Job.user_id.in_(user_ids), Job.created_at > now - timedelta(hours=1))
    rows = (
        await session.execute(
            select(depth.c.depth, Job.user_id, func.count(Job.id), func.min(Job.created_at))
            .select_from(depth)
            .outerjoin(Job, recent_jobs if user_ids else false())
            .group_by(depth.c.depth, Job.user_id)
        )
    ).all()
    recent: dict[int, tuple[int, datetime | None]] = defaultdict(lambda: (0, None))
    for _, user, count, oldest in rows:
        if user is not None:
            recent[int(user)] = (int(count), oldest)
    return int(rows[0][0]), recent


async def _user_ids(session: AsyncSession, requests: list[NewJob]) -> dict[tuple[str, str], int]:
    """(channel, external id) -> user id for every user in `requests`, created as needed."""
    handles: dict[tuple[str, str], str | None] = {}
    for request in requests:
        if request.user_external_id is not None:
            key = (request.channel, request.user_external_id)
            handles[key] = request.user_handle or handles.get(key)
    return {
        key: await user_id_for(session, key[0], key[1], handle) for key, handle in handles.items()
    }


def _new_job(request: NewJob, user_id: int | None, now: datetime) -> Job:
    return Job(
        public_id=new_public_id(),
        channel=request.channel,
        event_id=request.event_id,
        user_id=user_id,
        reply_to=request.reply_to,
        source=request.source,
        operation=request.operation,
        filter_name=request.filter_name,
        share=request.share,
        input_media=request.input_media,
        input_kind=request.input_kind,
        status=JobStatus.QUEUED,
        attempts=0,
        run_after=now,
        created_at=now,
    )
