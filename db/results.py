"""Queries on results (the pictures jobs made)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update

from db.engine import Database
from db.models import Job, Result, User, Vote


async def get_result_for_job(db: Database, job_id: int) -> Result | None:
    async with db.sessions() as session:
        return await session.scalar(select(Result).where(Result.job_id == job_id))


async def get_result(db: Database, public_id: str) -> Result | None:
    async with db.sessions() as session:
        return await session.scalar(select(Result).where(Result.public_id == public_id))


async def set_attribution(
    db: Database, job_id: int, *, author_handle: str | None, post_url: str | None
) -> bool:
    """Attribute a job's result to a public post (e.g. the X @handle and the reply's URL)."""
    async with db.sessions.begin() as session:
        updated = await session.execute(
            update(Result)
            .where(Result.job_id == job_id)
            .values(author_handle=author_handle, post_url=post_url)
        )
    return int(getattr(updated, "rowcount", 0)) == 1


async def list_unattributed(db: Database, channel: str, limit: int) -> list[tuple[int, str, str]]:
    """(job id, reply message id, author handle) of gallery results on `channel` that lack
    their attribution (the process stopped between storing and attributing)."""
    async with db.sessions() as session:
        rows = await session.execute(
            select(Job.id, Job.reply_message_id, User.handle)
            .join(Result, Result.job_id == Job.id)
            .join(User, User.id == Job.user_id)
            .where(
                Result.channel == channel,
                Result.gallery.is_(True),
                Result.post_url.is_(None),
                Job.reply_message_id.is_not(None),
            )
            .limit(limit)
        )
        return [(int(a), str(b), str(c or "")) for a, b, c in rows.all()]


async def list_replied_results(
    db: Database, channel: str, since: datetime, limit: int
) -> list[tuple[int, str]]:
    """(result id, reply message id) of recent gallery results on `channel`, newest first."""
    async with db.sessions() as session:
        rows = await session.execute(
            select(Result.id, Job.reply_message_id)
            .join(Job, Job.id == Result.job_id)
            .where(
                Result.channel == channel,
                Result.gallery.is_(True),
                Result.created_at >= since,
                Job.reply_message_id.is_not(None),
            )
            .order_by(Result.id.desc())
            .limit(limit)
        )
        return [(int(a), str(b)) for a, b in rows.all()]


async def set_external_likes(db: Database, likes: dict[int, int]) -> None:
    """Store the likes a platform reports, by result id."""
    async with db.sessions.begin() as session:
        for result_id, count in likes.items():
            await session.execute(
                update(Result).where(Result.id == result_id).values(external_likes=count)
            )


async def get_result_and_job(db: Database, public_id: str) -> tuple[Result, Job] | None:
    """The result with this public id and the job that made it."""
    async with db.sessions() as session:
        row = (
            await session.execute(
                select(Result, Job)
                .join(Job, Job.id == Result.job_id)
                .where(Result.public_id == public_id)
            )
        ).first()
    return None if row is None else (row[0], row[1])


async def share_result(db: Database, result_id: int, voter: str) -> bool:
    """Put a result in the gallery with its owner's consent; the consent counts as the voter's
    vote (once). False when it was already shared."""
    async with db.sessions.begin() as session:
        result = await session.get(Result, result_id)
        if result is None:
            raise LookupError(f"result {result_id} does not exist")
        already = result.gallery
        voted = await session.scalar(
            select(Vote.id).where(Vote.result_id == result_id, Vote.voter == voter)
        )
        if voted is None:
            session.add(Vote(result_id=result_id, voter=voter))
            result.votes += 1
        result.gallery = True
    return not already
