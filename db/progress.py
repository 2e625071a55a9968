"""The "you're #N in line" message of a job, edited exactly once when the job replies.

The intake sends the message after the job is stored and a worker may reply before the
message's id is recorded, so both sides use compare-and-set on `jobs.progress_message_id`:
whoever comes second does the edit, and it is never done twice.
"""

from __future__ import annotations

from sqlalchemy import select, update

from db.engine import Database
from db.models import Job

CLOSED = "closed"  # the job has replied; no progress message is stored any more


async def store_progress_message(db: Database, job_id: int, message_id: str) -> bool:
    """Record the job's progress message. False when the job has already replied: the caller
    then edits its message to say so itself."""
    async with db.sessions.begin() as session:
        updated = await session.execute(
            update(Job)
            .where(Job.id == job_id, Job.progress_message_id.is_(None))
            .values(progress_message_id=message_id)
        )
    return int(getattr(updated, "rowcount", 0)) == 1


async def close_progress(db: Database, job_id: int) -> str | None:
    """The job has replied: the progress message to edit now, or None (there is none, or it is
    not recorded yet, in which case its sender will find the job closed and edit it)."""
    async with db.sessions.begin() as session:
        updated = await session.execute(
            update(Job)
            .where(Job.id == job_id, Job.progress_message_id.is_(None))
            .values(progress_message_id=CLOSED)
        )
        if int(getattr(updated, "rowcount", 0)) == 1:
            return None
        value = await session.scalar(select(Job.progress_message_id).where(Job.id == job_id))
    return None if value in (None, CLOSED) else value
