"""Jobs that came in together as one album (a Telegram media group)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select

from db.engine import Database
from db.models import Job

ALBUM_KEY = "media_group_id"  # the key in `Job.reply_to` naming the album


async def find_album_jobs(
    db: Database, channel: str, album_id: str, since: datetime
) -> Sequence[Job]:
    """The album's jobs created since `since`, oldest first."""
    async with db.sessions() as session:
        rows = await session.scalars(
            select(Job)
            .where(
                Job.channel == channel,
                Job.created_at >= since,
                Job.reply_to[ALBUM_KEY].as_string() == album_id,
            )
            .order_by(Job.id)
        )
        return rows.all()
