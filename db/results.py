"""Queries on results (the pictures jobs made)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update

from db.engine import Database
from db.models import Job, Result, User


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
