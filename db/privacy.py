"""Forgetting: everything stored for a user, or one result, removed at once.

These return the media keys that no remaining row references, so the caller deletes exactly
those files (content-addressed media can be shared by identical uploads).
"""

from __future__ import annotations

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.engine import Database
from db.models import Job, Result, User


async def _unreferenced(session: AsyncSession, keys: set[str]) -> list[str]:
    if not keys:
        return []
    used: set[str | None] = set(
        (await session.scalars(select(Job.input_media).where(Job.input_media.in_(keys)))).all()
    )
    for column in (
        Result.media,
        Result.input_media,
        Result.thumb_webp,
        Result.thumb_jpeg,
        Result.before_display,
    ):
        used |= set((await session.scalars(select(column).where(column.in_(keys)))).all())
    return sorted(key for key in keys if key not in used)


def _result_keys(result: Result) -> set[str]:
    keys = {
        result.media,
        result.input_media,
        result.thumb_webp,
        result.thumb_jpeg,
        result.before_display,
    }
    return {key for key in keys if key}


async def forget_user(db: Database, channel: str, external_id: str) -> tuple[bool, list[str]]:
    """Delete the user, their jobs and results. -> (whether anything was stored, media keys
    now unreferenced)."""
    async with db.sessions.begin() as session:
        user = await session.scalar(
            select(User).where(User.channel == channel, User.external_id == external_id)
        )
        if user is None:
            return False, []
        keys: set[str] = set()
        for result in await session.scalars(select(Result).where(Result.user_id == user.id)):
            keys |= _result_keys(result)
        jobs = (await session.scalars(select(Job).where(Job.user_id == user.id))).all()
        keys |= {job.input_media for job in jobs if job.input_media}
        await session.execute(delete(Result).where(Result.user_id == user.id))
        await session.execute(delete(Job).where(Job.user_id == user.id))
        await session.execute(delete(User).where(User.id == user.id))
        return True, await _unreferenced(session, keys)


async def delete_result(db: Database, result_id: int) -> list[str]:
    """Remove one result (and its original) everywhere; the job row stays, without media, so
    the re-delivered event is still recognised. -> media keys now unreferenced."""
    async with db.sessions.begin() as session:
        result = await session.get(Result, result_id)
        if result is None:
            return []
        keys = _result_keys(result)
        await session.execute(update(Job).where(Job.id == result.job_id).values(input_media=None))
        await session.delete(result)
        await session.flush()
        return await _unreferenced(session, keys)


async def find_result_by_reply(db: Database, channel: str, reply_message_id: str) -> Result | None:
    """The result the bot posted as message `reply_message_id` on `channel`."""
    async with db.sessions() as session:
        job_id = select(Job.id).where(
            Job.channel == channel, Job.reply_message_id == reply_message_id
        )
        return await session.scalar(select(Result).where(Result.job_id.in_(job_id)))


__all__ = ["delete_result", "find_result_by_reply", "forget_user"]
