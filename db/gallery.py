"""Gallery queries: ranked and recent pages (keyset pagination), one item, votes, moderation
(thumbnails: `db.thumbnails`). Hidden items and results not shared to the gallery are excluded
by every read here.

Pages never use OFFSET: the ranked page continues after the last item's (score, id) and the
recent page after its id, so page 50 costs what page 1 costs (one range scan of
`ix_results_gallery_rank` or `ix_results_gallery_recent`). The ranking itself: `db.ranking`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, false, func, select, true, tuple_
from sqlalchemy.dialects import postgresql, sqlite

from db.engine import Database
from db.models import Result, Vote
from db.ranking import score_of

PAGE_SIZE = 24


@dataclass(frozen=True)
class GalleryItem:
    """What a gallery page may show of a result: nothing personal beyond public attribution."""

    id: int
    public_id: str
    channel: str
    operation: str
    filter_name: str | None
    media: str
    width: int
    height: int
    featured: bool
    votes: int
    external_likes: int
    score: float
    author_handle: str | None
    display_name: str | None
    post_url: str | None
    thumb_webp: str | None
    thumb_jpeg: str | None
    before_display: str | None
    created_at: datetime
    media_kind: str  # "photo", "video" (an MP4) or "gif"
    mime_type: str
    poster: str | None  # a clip's JPEG frame
    duration_seconds: float | None


_ITEM_COLUMNS = tuple(getattr(Result, name) for name in GalleryItem.__dataclass_fields__)


def _item(row: Row[Any]) -> GalleryItem:
    return GalleryItem(**row._asdict())


def visible() -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    # `= true` (not `IS true`) so that PostgreSQL can use the (gallery, hidden, ...) indexes.
    return Result.gallery == true(), Result.hidden == false()


@dataclass(frozen=True)
class RankCursor:
    """Where a ranked page ends: the last item's (score, id). Encoded as `<score>_<id>`."""

    score: float
    id: int

    def encode(self) -> str:
        return f"{self.score!r}_{self.id}"

    @classmethod
    def decode(cls, text: str) -> RankCursor:
        """Raises ValueError for anything that is not a cursor this module made."""
        score_text, _, id_text = text.partition("_")
        score = float(score_text)
        if not math.isfinite(score) or not id_text.isdigit():
            raise ValueError(f"not a gallery cursor: {text!r}")
        return cls(score, int(id_text))


@dataclass(frozen=True)
class GalleryPage:
    items: list[GalleryItem]
    next_cursor: str | None  # None on the last page


def ranked_query(after: RankCursor | None, limit: int) -> Select[Any]:
    statement = select(*_ITEM_COLUMNS).where(*visible())
    if after is not None:
        statement = statement.where(tuple_(Result.score, Result.id) < (after.score, after.id))
    return statement.order_by(Result.score.desc(), Result.id.desc()).limit(limit)


def recent_query(before_id: int | None, limit: int) -> Select[Any]:
    statement = select(*_ITEM_COLUMNS).where(*visible())
    if before_id is not None:
        statement = statement.where(Result.id < before_id)
    return statement.order_by(Result.id.desc()).limit(limit)


async def _page(db: Database, statement: Select[Any], limit: int) -> list[GalleryItem]:
    async with db.sessions() as session:
        return [_item(row) for row in (await session.execute(statement)).all()]


async def ranked_page(
    db: Database, after: RankCursor | None = None, limit: int = PAGE_SIZE
) -> GalleryPage:
    """Best first. One row more than shown is read to know whether a next page exists."""
    items = await _page(db, ranked_query(after, limit + 1), limit)
    more = len(items) > limit
    items = items[:limit]
    cursor = RankCursor(items[-1].score, items[-1].id).encode() if more else None
    return GalleryPage(items, cursor)


async def recent_page(
    db: Database, before_id: int | None = None, limit: int = PAGE_SIZE
) -> GalleryPage:
    """Newest first."""
    items = await _page(db, recent_query(before_id, limit + 1), limit)
    more = len(items) > limit
    items = items[:limit]
    return GalleryPage(items, str(items[-1].id) if more else None)


async def find_item(db: Database, public_id: str) -> GalleryItem | None:
    """The gallery item with this public id; None when it is not shared, hidden or gone."""
    async with db.sessions() as session:
        row = (
            await session.execute(
                select(*_ITEM_COLUMNS).where(Result.public_id == public_id, *visible())
            )
        ).first()
    return None if row is None else _item(row)


async def voted_ids(db: Database, voter: str, result_ids: Iterable[int]) -> set[int]:
    """Which of these results `voter` has voted for (one lookup in the votes' unique index)."""
    ids = list(result_ids)
    if not ids:
        return set()
    async with db.sessions() as session:
        rows = await session.scalars(
            select(Vote.result_id).where(Vote.voter == voter, Vote.result_id.in_(ids))
        )
        return set(rows.all())


@dataclass(frozen=True)
class VoteOutcome:
    counted: bool  # False: this voter had already voted for it
    votes: int


def _insert_vote(db: Database, result_id: int, voter: str) -> Any:
    insert = postgresql.insert if db.is_postgresql else sqlite.insert
    return (
        insert(Vote)
        .values(result_id=result_id, voter=voter)
        .on_conflict_do_nothing(index_elements=["result_id", "voter"])
        .returning(Vote.id)
    )


async def add_vote(db: Database, public_id: str, voter: str) -> VoteOutcome | None:
    """One vote per voter per item (the votes table's unique (result_id, voter)); the item's
    count and score are updated in the same transaction. None: no such visible item."""
    async with db.sessions.begin() as session:
        result = await session.scalar(
            select(Result).where(Result.public_id == public_id, *visible()).with_for_update()
        )
        if result is None:
            return None
        inserted = await session.scalar(_insert_vote(db, result.id, voter))
        if inserted is None:
            return VoteOutcome(False, result.votes)
        result.votes += 1
        result.score = score_of(result)
        return VoteOutcome(True, result.votes)


@dataclass(frozen=True)
class Moderation:
    public_id: str
    hidden: bool
    featured: bool
    gallery: bool


async def moderate(
    db: Database, public_id: str, *, hidden: bool | None = None, featured: bool | None = None
) -> Moderation | None:
    """Hide/unhide or feature/unfeature a result (score recomputed); None: no such result."""
    async with db.sessions.begin() as session:
        result = await session.scalar(
            select(Result).where(Result.public_id == public_id).with_for_update()
        )
        if result is None:
            return None
        if hidden is not None:
            result.hidden = hidden
        if featured is not None:
            result.featured = featured
        result.score = score_of(result)
        return Moderation(result.public_id, result.hidden, result.featured, result.gallery)


@dataclass(frozen=True)
class GalleryTotals:
    items: int
    votes: int


async def gallery_totals(db: Database) -> GalleryTotals:
    async with db.sessions() as session:
        row = (
            await session.execute(
                select(func.count(), func.coalesce(func.sum(Result.votes), 0)).where(*visible())
            )
        ).one()
    return GalleryTotals(int(row[0]), int(row[1]))


async def explain(db: Database, statement: Select[Any]) -> list[str]:
    """The database's plan for a query: EXPLAIN QUERY PLAN on SQLite, EXPLAIN on PostgreSQL
    (to show that the pages read an index, in tests and the benchmark)."""
    compiled = statement.compile(dialect=db.engine.dialect, compile_kwargs={"literal_binds": True})
    prefix = "EXPLAIN QUERY PLAN " if db.is_sqlite else "EXPLAIN "
    async with db.engine.connect() as connection:
        rows = (await connection.exec_driver_sql(prefix + str(compiled))).all()
    return [str(row[-1]) for row in rows]
