"""Small facts a channel keeps between events: named cursors (e.g. the X mentions since_id),
events already seen, blocked users, and when a user was last sent a usage hint."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from db.engine import Database
from db.jobs import upsert_user
from db.models import Cursor, Event, User, utcnow


async def get_cursor(db: Database, name: str) -> str | None:
    async with db.sessions() as session:
        return await session.scalar(select(Cursor.value).where(Cursor.name == name))


async def set_cursor(db: Database, name: str, value: str) -> None:
    async with db.sessions.begin() as session:
        cursor = await session.get(Cursor, name)
        if cursor is None:
            session.add(Cursor(name=name, value=value, updated_at=utcnow()))
        else:
            cursor.value = value
            cursor.updated_at = utcnow()


async def event_seen(db: Database, channel: str, event_id: str) -> bool:
    """Whether `db.jobs.record_event` recorded the event (one that made no job: jobs are
    deduped by their own unique (channel, event id))."""
    async with db.sessions() as session:
        found = await session.scalar(
            select(Event.event_id).where(Event.channel == channel, Event.event_id == event_id)
        )
    return found is not None


async def is_user_blocked(db: Database, channel: str, external_id: str) -> bool:
    async with db.sessions() as session:
        blocked = await session.scalar(
            select(User.blocked).where(User.channel == channel, User.external_id == external_id)
        )
    return bool(blocked)


async def user_external_id(db: Database, user_id: int | None) -> str | None:
    if user_id is None:
        return None
    async with db.sessions() as session:
        return await session.scalar(select(User.external_id).where(User.id == user_id))


async def claim_hint(
    db: Database, channel: str, external_id: str, handle: str | None, *, period: timedelta
) -> bool:
    """Atomically take the user's hint slot: True (and `last_hint_at` set to now) when no hint
    was sent to them within `period`, else False."""
    for _ in range(2):  # a concurrent first insert of the same user: read it back and retry
        try:
            async with db.sessions.begin() as session:
                user = await upsert_user(session, channel, external_id, handle)
                now = utcnow()
                claimed = await session.execute(
                    update(User)
                    .where(
                        User.id == user.id,
                        or_(User.last_hint_at.is_(None), User.last_hint_at < now - period),
                    )
                    .values(last_hint_at=now)
                    .execution_options(synchronize_session=False)
                )
                return int(getattr(claimed, "rowcount", 0)) == 1
        except IntegrityError:
            continue
    return False
