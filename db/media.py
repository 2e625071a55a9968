"""Which rows reference a media key: whether a picture is public (shown by the gallery), and
which keys are still in use at all (the rest are files to delete)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select, union_all

from db.engine import Database
from db.models import Job, Result

# Every column that holds a media key; each has an index (migrations 0003, 0004).
REFERENCES = (
    Job.input_media,
    Result.media,
    Result.input_media,
    Result.thumb_webp,
    Result.thumb_jpeg,
    Result.before_display,
    Result.poster,
)


async def is_public(db: Database, key: str) -> bool:
    """Whether a visible gallery item shows this picture: its result, its thumbnails, its
    re-encoded original or a clip's poster frame. An uploaded original itself
    (`input_media`) is never public. One index lookup per column (the gallery's own filter
    is applied to the few rows found, so the database never walks the gallery for it)."""
    shown_by = (
        Result.media,
        Result.thumb_webp,
        Result.thumb_jpeg,
        Result.before_display,
        Result.poster,
    )
    found = union_all(
        *(select(Result.gallery, Result.hidden).where(column == key) for column in shown_by)
    )
    async with db.sessions() as session:
        rows = (await session.execute(found)).all()
    return any(gallery and not hidden for gallery, hidden in rows)


async def media_in_use(db: Database, keys: Iterable[str]) -> set[str]:
    """Which of these media keys a job or a result still references."""
    wanted = set(keys)
    used: set[str] = set()
    if not wanted:
        return used
    async with db.sessions() as session:
        for column in REFERENCES:
            found = await session.scalars(select(column).where(column.in_(wanted)))
            used |= {key for key in found if key}
    return used
