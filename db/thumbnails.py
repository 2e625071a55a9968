"""Thumbnail bookkeeping for the gallery: which items still need thumbnails, and recording
them (which media keys are still referenced: `db.media`)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update

from db.engine import Database
from db.gallery import visible
from db.models import Result


@dataclass(frozen=True)
class ThumbnailSource:
    id: int
    media: str
    input_media: str | None
    media_kind: str = "photo"  # "photo", "video" or "gif"
    poster: str | None = None  # a clip's JPEG frame


_SOURCE = (Result.id, Result.media, Result.input_media, Result.media_kind, Result.poster)


async def missing_thumbnails(
    db: Database, limit: int, among_newest: int = 1000
) -> list[ThumbnailSource]:
    """Visible gallery items without thumbnails, newest first, among the newest `among_newest`
    (older ones get theirs when a page shows them)."""
    newest = (
        select(Result.id).where(*visible()).order_by(Result.id.desc()).limit(among_newest)
    ).subquery()
    async with db.sessions() as session:
        rows = await session.execute(
            select(*_SOURCE)
            .where(Result.id.in_(select(newest.c.id)), Result.thumb_webp.is_(None))
            .order_by(Result.id.desc())
            .limit(limit)
        )
        return [ThumbnailSource(*row) for row in rows.all()]


async def thumbnail_source(db: Database, result_id: int) -> ThumbnailSource | None:
    async with db.sessions() as session:
        row = (await session.execute(select(*_SOURCE).where(Result.id == result_id))).first()
    return None if row is None else ThumbnailSource(*row)


async def set_thumbnails(
    db: Database, result_id: int, *, webp: str, jpeg: str, before_display: str | None
) -> bool:
    """Record a result's thumbnails; False when the result is gone (forgotten meanwhile)."""
    async with db.sessions.begin() as session:
        updated = await session.execute(
            update(Result)
            .where(Result.id == result_id)
            .values(thumb_webp=webp, thumb_jpeg=jpeg, before_display=before_display)
        )
    return int(getattr(updated, "rowcount", 0)) == 1
