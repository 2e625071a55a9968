"""The durable job queue, the running side: atomic claim, leases, retries, replies, results.

Getting work in (dedupe, backpressure, positions) is `db.intake`, whose names are re-exported
here so callers can treat the queue as one thing. Workers claim the oldest runnable job
atomically with one `UPDATE ... RETURNING` (on PostgreSQL the inner SELECT takes
`FOR UPDATE SKIP LOCKED`, so any number of worker processes on any number of machines can share
one database). A claimed job holds a lease that the worker
renews; an expired lease puts the job back in the queue (`requeue_expired`). The reply id and
`replied_at` are written in the same transaction that marks the job done.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, func, select, update

from db.engine import Database
from db.intake import (
    Enqueued,
    NewJob,
    Outcome,
    QueueFullError,
    QueueLimits,
    UserRateLimitedError,
    enqueue_job,
    enqueue_jobs,
    job_by_event,
    new_public_id,
    position_in_queue,
    record_event,
    upsert_user,
    user_id_for,
)
from db.models import InputKind, Job, JobStatus, Result, utcnow
from db.ranking import gallery_score

__all__ = [
    "Enqueued",
    "LeaseLostError",
    "NewJob",
    "NewResult",
    "Outcome",
    "QueueFullError",
    "QueueLimits",
    "UserRateLimitedError",
    "begin_reply",
    "claim_job",
    "clear_reply_started",
    "complete_job",
    "enqueue_job",
    "enqueue_jobs",
    "fail_job",
    "find_job_by_event",
    "get_job",
    "get_job_by_public_id",
    "mark_reply_started",
    "new_public_id",
    "queue_depth",
    "queue_position",
    "record_event",
    "record_progress",
    "release_job",
    "renew_lease",
    "requeue_expired",
    "retry_job",
    "update_job_fields",
    "upsert_user",
    "user_id_for",
    "withdraw_reply",
]


async def find_job_by_event(db: Database, channel: str, event_id: str) -> Job | None:
    async with db.sessions() as session:
        return await job_by_event(session, channel, event_id)


async def get_job(db: Database, job_id: int) -> Job | None:
    async with db.sessions() as session:
        return await session.get(Job, job_id)


async def get_job_by_public_id(db: Database, public_id: str) -> Job | None:
    async with db.sessions() as session:
        return await session.scalar(select(Job).where(Job.public_id == public_id))


async def queue_position(db: Database, job: Job) -> int | None:
    """1 for the next job to run; None unless the job is queued."""
    if job.status != JobStatus.QUEUED:
        return None
    async with db.sessions() as session:
        return await position_in_queue(session, job)


async def queue_depth(db: Database) -> int:
    async with db.sessions() as session:
        depth = await session.scalar(
            select(func.count()).select_from(Job).where(Job.status == JobStatus.QUEUED)
        )
    return int(depth or 0)


async def claim_job(
    db: Database, worker_id: str, lease_seconds: float, *, clips: bool = True
) -> Job | None:
    """Atomically take the oldest runnable queued job, or None. Without `clips` only a photo
    job is taken (a worker whose clip slots are full keeps photos flowing)."""
    now = utcnow()
    runnable = [Job.status == JobStatus.QUEUED, Job.run_after <= now]
    if not clips:
        runnable.append(Job.input_kind == InputKind.PHOTO)
    candidate = select(Job.id).where(*runnable).order_by(Job.id).limit(1)
    if db.is_postgresql:
        candidate = candidate.with_for_update(skip_locked=True)
    statement = (
        update(Job)
        .where(Job.id == candidate.scalar_subquery(), Job.status == JobStatus.QUEUED)
        .values(
            status=JobStatus.RUNNING,
            attempts=Job.attempts + 1,
            leased_by=worker_id,
            lease_expires_at=now + timedelta(seconds=lease_seconds),
            started_at=func.coalesce(Job.started_at, now),
            progress=None,
            eta_seconds=None,
            progress_at=None,
        )
        .returning(Job)
        .execution_options(synchronize_session=False)
    )
    async with db.sessions.begin() as session:
        return (await session.execute(statement)).scalar_one_or_none()


def _held(job_id: int, worker_id: str) -> Any:
    return and_(Job.id == job_id, Job.status == JobStatus.RUNNING, Job.leased_by == worker_id)


async def renew_lease(db: Database, job_id: int, worker_id: str, lease_seconds: float) -> bool:
    """Extend the lease; False when the job is no longer ours (it expired and moved on)."""
    async with db.sessions.begin() as session:
        updated = await session.execute(
            update(Job)
            .where(_held(job_id, worker_id))
            .values(lease_expires_at=utcnow() + timedelta(seconds=lease_seconds))
        )
    return _rowcount(updated) == 1


async def update_job_fields(db: Database, job_id: int, **values: Any) -> None:
    """Record progress facts on a job (input media key, progress message id, timings)."""
    async with db.sessions.begin() as session:
        await session.execute(update(Job).where(Job.id == job_id).values(**values))


async def record_progress(
    db: Database, job_id: int, worker_id: str, fraction: float, eta_seconds: float | None
) -> bool:
    """Store a running clip's progress (the status poll and a restarted worker read it);
    False when the job is no longer this worker's."""
    async with db.sessions.begin() as session:
        updated = await session.execute(
            update(Job)
            .where(_held(job_id, worker_id))
            .values(
                progress=min(1.0, max(0.0, fraction)),
                eta_seconds=eta_seconds,
                progress_at=utcnow(),
            )
        )
    return _rowcount(updated) == 1


async def mark_reply_started(db: Database, job_id: int, worker_id: str) -> bool:
    """Commit that a reply is about to be sent; a job found with this set but no `replied_at`
    (the process died mid-send) is never replied to again (at most one reply)."""
    async with db.sessions.begin() as session:
        updated = await session.execute(
            update(Job)
            .where(_held(job_id, worker_id), Job.reply_started_at.is_(None))
            .values(reply_started_at=utcnow())
        )
    return _rowcount(updated) == 1


async def clear_reply_started(db: Database, job_id: int, worker_id: str) -> None:
    """The send failed in a way that proves nothing was delivered (e.g. HTTP 429/5xx)."""
    await _update_held(db, job_id, worker_id, reply_started_at=None)


async def withdraw_reply(db: Database, job: Job, worker_id: str) -> None:
    """The channel refused to send the result in a way that proves nothing reached the user
    (e.g. X could not process an uploaded video): the result stored by `begin_reply` goes
    and the reply mark is cleared, in one transaction, so the one error message can be sent
    instead."""
    async with db.sessions.begin() as session:
        updated = await session.execute(
            update(Job).where(_held(job.id, worker_id)).values(reply_started_at=None)
        )
        if _rowcount(updated) != 1:
            raise LeaseLostError(job.id)
        await session.execute(delete(Result).where(Result.job_id == job.id))


@dataclass(frozen=True)
class NewResult:
    media: str
    input_media: str | None
    width: int
    height: int
    bytes: int
    gallery: bool = False
    author_handle: str | None = None
    post_url: str | None = None
    public_id: str | None = None
    media_kind: str = InputKind.PHOTO  # "photo", "video" (an MP4) or "gif"
    mime_type: str = "image/jpeg"
    duration_seconds: float | None = None  # clips: seconds of footage
    poster: str | None = None  # clips: a JPEG frame of the result


async def begin_reply(db: Database, job: Job, worker_id: str, result: NewResult) -> Result | None:
    """Store the result and commit that its reply is about to be sent, in one transaction
    (a result from an earlier, interrupted attempt is replaced). None when a reply was already
    started: then nothing may be sent. After a crash mid-send the result is still there, so
    whatever the user received keeps working (buttons, gallery), and the job is completed
    without a second reply."""
    async with db.sessions.begin() as session:
        updated = await session.execute(
            update(Job)
            .where(_held(job.id, worker_id), Job.reply_started_at.is_(None))
            .values(reply_started_at=utcnow())
        )
        if _rowcount(updated) != 1:
            return None
        if job.attempts > 1:  # an interrupted earlier attempt may have stored one
            await session.execute(delete(Result).where(Result.job_id == job.id))
        row = _result_row(job, result)
        session.add(row)
        return row


async def complete_job(
    db: Database,
    job: Job,
    worker_id: str,
    *,
    result: NewResult | None,
    reply_message_id: str | None,
    inference_seconds: float | None,
) -> Result | None:
    """Mark done, store the result and the reply in one transaction."""
    now = utcnow()
    async with db.sessions.begin() as session:
        updated = await session.execute(
            update(Job)
            .where(_held(job.id, worker_id))
            .values(
                status=JobStatus.DONE,
                finished_at=now,
                lease_expires_at=None,
                reply_message_id=reply_message_id,
                replied_at=now if reply_message_id is not None else None,
                inference_seconds=inference_seconds,
                queue_seconds=_seconds_between(job.created_at, job.started_at),
                total_seconds=(now - job.created_at).total_seconds(),
                error_kind=None,
                error_message=None,
            )
        )
        if _rowcount(updated) != 1:
            raise LeaseLostError(job.id)
        if result is None:
            return None
        row = _result_row(job, result)
        session.add(row)
        return row


def _result_row(job: Job, result: NewResult) -> Result:
    created = utcnow()
    return Result(
        public_id=result.public_id or new_public_id(),
        job_id=job.id,
        user_id=job.user_id,
        channel=job.channel,
        operation=job.operation,
        filter_name=job.filter_name,
        media=result.media,
        input_media=result.input_media,
        width=result.width,
        height=result.height,
        bytes=result.bytes,
        media_kind=result.media_kind,
        mime_type=result.mime_type,
        duration_seconds=result.duration_seconds,
        poster=result.poster,
        gallery=result.gallery,
        author_handle=result.author_handle,
        post_url=result.post_url,
        created_at=created,
        # Scored at once, so a new gallery item is ranked before the scheduler's next pass.
        score=gallery_score(0, 0, False, created),
    )


async def fail_job(
    db: Database,
    job: Job,
    worker_id: str,
    *,
    kind: str,
    message: str,
    reply_message_id: str | None,
) -> None:
    now = utcnow()
    await _update_held(
        db,
        job.id,
        worker_id,
        status=JobStatus.FAILED,
        finished_at=now,
        lease_expires_at=None,
        error_kind=kind,
        error_message=message,
        reply_message_id=reply_message_id,
        replied_at=now if reply_message_id is not None else None,
        total_seconds=(now - job.created_at).total_seconds(),
    )


async def retry_job(
    db: Database, job: Job, worker_id: str, *, delay_seconds: float, reason: str
) -> None:
    """Back to the queue, runnable after `delay_seconds` (the caller caps attempts)."""
    await _update_held(
        db,
        job.id,
        worker_id,
        status=JobStatus.QUEUED,
        run_after=utcnow() + timedelta(seconds=delay_seconds),
        lease_expires_at=None,
        leased_by=None,
        error_kind="retrying",
        error_message=reason[:2000],
    )


async def release_job(db: Database, job: Job, worker_id: str) -> None:
    """Shutdown: give a running job back untouched (this attempt does not count)."""
    await _update_held(
        db,
        job.id,
        worker_id,
        status=JobStatus.QUEUED,
        attempts=Job.attempts - 1,
        lease_expires_at=None,
        leased_by=None,
    )


async def requeue_expired(db: Database) -> int:
    """Put jobs whose lease expired (their worker died) back in the queue."""
    async with db.sessions.begin() as session:
        updated = await session.execute(
            update(Job)
            .where(Job.status == JobStatus.RUNNING, Job.lease_expires_at < utcnow())
            .values(status=JobStatus.QUEUED, lease_expires_at=None, leased_by=None)
        )
    return _rowcount(updated)


class LeaseLostError(RuntimeError):
    def __init__(self, job_id: int) -> None:
        super().__init__(f"job {job_id}: the lease was lost (expired and taken over)")


async def _update_held(db: Database, job_id: int, worker_id: str, **values: Any) -> None:
    async with db.sessions.begin() as session:
        updated = await session.execute(
            update(Job).where(_held(job_id, worker_id)).values(**values)
        )
    if _rowcount(updated) != 1:
        raise LeaseLostError(job_id)


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0))


def _seconds_between(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return (end - start).total_seconds()
