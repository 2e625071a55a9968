"""Gallery queries on SQLite and PostgreSQL: the ranking, keyset pagination (ties included),
hidden and unshared results never read, one vote per voter, moderation, score upkeep, and
query plans that use the gallery indexes."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from bot.media import MediaStore
from db.engine import Database
from db.gallery import (
    GalleryItem,
    RankCursor,
    add_vote,
    explain,
    find_item,
    gallery_totals,
    moderate,
    ranked_page,
    ranked_query,
    recent_page,
    recent_query,
)
from db.models import Result, Vote, utcnow
from db.privacy import delete_result
from db.ranking import FEATURED_BONUS, gallery_score, refresh_scores
from db.results import set_external_likes, share_result
from db.thumbnails import set_thumbnails
from tests.gallery_seed import seed_item, seed_many


@pytest.fixture
def media(tmp_path: Path) -> MediaStore:
    return MediaStore(tmp_path / "media")


async def all_pages(db: Database, limit: int, *, recent: bool = False) -> list[GalleryItem]:
    """Every item, following the next-page cursors."""
    items: list[GalleryItem] = []
    cursor: str | None = None
    for _ in range(1000):
        if recent:
            page = await recent_page(db, int(cursor) if cursor else None, limit)
        else:
            page = await ranked_page(db, RankCursor.decode(cursor) if cursor else None, limit)
        assert len(page.items) <= limit
        items.extend(page.items)
        cursor = page.next_cursor
        if cursor is None:
            return items
    raise AssertionError("pagination never ended")


def test_the_score_is_the_documented_formula() -> None:
    now = utcnow()
    fresh = gallery_score(0, 0, False, now)
    assert gallery_score(9, 0, False, now - timedelta(days=1)) == pytest.approx(fresh, abs=1e-6)
    assert gallery_score(4, 5, False, now) == gallery_score(9, 0, False, now)  # likes count
    assert gallery_score(0, 0, True, now) == pytest.approx(fresh + FEATURED_BONUS, abs=1e-6)
    assert gallery_score(-3, -1, False, now) == fresh  # never below zero points
    assert gallery_score(1, 0, False, now) > fresh


async def test_ranking_order(database: Database, media: MediaStore) -> None:
    now = utcnow()
    old_popular = await seed_item(database, media, votes=99, created_at=now - timedelta(days=1))
    fresh = await seed_item(database, media, created_at=now)
    liked = await seed_item(database, media, external_likes=3, created_at=now)
    old_featured = await seed_item(
        database, media, featured=True, created_at=now - timedelta(days=1, hours=6)
    )
    stale = await seed_item(database, media, votes=1, created_at=now - timedelta(days=30))
    await seed_item(database, media, votes=500, hidden=True)
    await seed_item(database, media, votes=500, gallery=False)
    page = await ranked_page(database)
    order = [item.public_id for item in page.items]
    # 99 votes a day old (2 - 1) > featured 1.25 days old (2 - 1.25) > 3 likes (0.6) > 0.
    assert order == [
        old_popular.public_id,
        old_featured.public_id,
        liked.public_id,
        fresh.public_id,
        stale.public_id,
    ]
    assert page.next_cursor is None
    scores = [item.score for item in page.items]
    assert scores == sorted(scores, reverse=True)


async def test_keyset_pages_cover_everything_once_even_with_ties(
    database: Database, media: MediaStore
) -> None:
    now = utcnow()
    same = now - timedelta(hours=5)
    for _ in range(12):  # twelve items with exactly the same score
        await seed_item(database, media, votes=2, created_at=same)
    for n in range(15):
        await seed_item(database, media, votes=n % 4, created_at=now - timedelta(hours=n))
    await seed_item(database, media, hidden=True)
    async with database.sessions() as session:
        expected = [
            row.public_id
            for row in await session.execute(
                select(Result.public_id)
                .where(Result.gallery.is_(True), Result.hidden.is_(False))
                .order_by(Result.score.desc(), Result.id.desc())
            )
        ]
        newest = list(
            await session.scalars(
                select(Result.public_id)
                .where(Result.gallery.is_(True), Result.hidden.is_(False))
                .order_by(Result.id.desc())
            )
        )
    assert len(expected) == 27
    for limit in (1, 5, 7, 12, 27, 30):
        assert [i.public_id for i in await all_pages(database, limit)] == expected, limit
        assert [i.public_id for i in await all_pages(database, limit, recent=True)] == newest
    # A page ends exactly at a full page: no empty last page is promised.
    assert (await ranked_page(database, None, 27)).next_cursor is None


def test_cursors_round_trip_and_reject_garbage() -> None:
    cursor = RankCursor(1057.4707715, 29)
    assert RankCursor.decode(cursor.encode()) == cursor
    assert RankCursor.decode(RankCursor(-0.1, 3).encode()) == RankCursor(-0.1, 3)
    for bad in ("", "x_1", "1.5", "1.5_", "nan_3", "inf_3", "1.5_-3", "1.5_3x"):
        with pytest.raises(ValueError):
            RankCursor.decode(bad)


async def test_hidden_and_unshared_items_are_never_read(
    database: Database, media: MediaStore
) -> None:
    shown = await seed_item(database, media, votes=1)
    hidden = await seed_item(database, media, votes=5, hidden=True)
    private = await seed_item(database, media, votes=5, gallery=False)
    assert [i.public_id for i in (await ranked_page(database)).items] == [shown.public_id]
    assert [i.public_id for i in (await recent_page(database)).items] == [shown.public_id]
    assert await find_item(database, shown.public_id) is not None
    assert await find_item(database, hidden.public_id) is None
    assert await find_item(database, private.public_id) is None
    assert await add_vote(database, hidden.public_id, "web:v") is None
    assert await add_vote(database, private.public_id, "web:v") is None
    assert await add_vote(database, "no-such-id", "web:v") is None
    totals = await gallery_totals(database)
    assert (totals.items, totals.votes) == (1, 1)


async def test_one_vote_per_voter(database: Database, media: MediaStore) -> None:
    item = await seed_item(database, media, votes=0, age=timedelta(hours=2))
    first = await add_vote(database, item.public_id, "web:alice")
    assert first is not None and (first.counted, first.votes) == (True, 1)
    again = await add_vote(database, item.public_id, "web:alice")
    assert again is not None and (again.counted, again.votes) == (False, 1)
    other = await add_vote(database, item.public_id, "web:bob")
    assert other is not None and (other.counted, other.votes) == (True, 2)
    found = await find_item(database, item.public_id)
    assert found is not None and found.votes == 2
    assert found.score == gallery_score(2, 0, False, found.created_at)  # rescored at once
    async with database.sessions() as session:
        voters = await session.scalars(select(Vote.voter).where(Vote.result_id == item.id))
        assert sorted(voters) == ["web:alice", "web:bob"]


async def test_telegram_share_counts_as_the_owners_vote(
    database: Database, media: MediaStore
) -> None:
    item = await seed_item(database, media, channel="telegram", gallery=False)
    assert await share_result(database, item.id, "telegram:42")
    vote = await add_vote(database, item.public_id, "telegram:42")
    assert vote is not None and (vote.counted, vote.votes) == (False, 1)


async def test_refresh_scores_catches_shares_likes_and_stale_rows(
    database: Database, media: MediaStore
) -> None:
    shared = await seed_item(database, media, channel="telegram", gallery=False, score=0.0)
    await share_result(database, shared.id, "telegram:7")  # a vote, no score yet
    liked = await seed_item(database, media, channel="x", age=timedelta(days=2))
    await set_external_likes(database, {liked.id: 40})
    stale = [await seed_item(database, media, score=1.0, age=timedelta(days=9)) for _ in range(5)]
    # Small batches: the rolling sweep needs several runs to reach every row.
    cursor: int | None = None
    for _ in range(10):
        sweep = await refresh_scores(database, cursor=cursor, sweep=2, newest=1)
        cursor = sweep.cursor
    async with database.sessions() as session:
        rows = (await session.scalars(select(Result))).all()
    for row in rows:
        assert row.score == gallery_score(
            row.votes, row.external_likes, row.featured, row.created_at
        ), row.public_id
    assert {r.id for r in rows} >= {shared.id, liked.id, *(s.id for s in stale)}
    again = await refresh_scores(database, cursor=None)
    assert again.updated == 0


async def test_moderation_hides_and_features(database: Database, media: MediaStore) -> None:
    top = await seed_item(database, media, votes=50)
    other = await seed_item(database, media, votes=0, age=timedelta(hours=1))
    state = await moderate(database, top.public_id, hidden=True)
    assert state is not None and (state.hidden, state.featured) == (True, False)
    assert [i.public_id for i in (await ranked_page(database)).items] == [other.public_id]
    await moderate(database, top.public_id, hidden=False)
    await moderate(database, other.public_id, featured=True)
    order = [i.public_id for i in (await ranked_page(database)).items]
    assert order == [other.public_id, top.public_id]  # +2 beats log10(51) = 1.7
    featured = await find_item(database, other.public_id)
    assert featured is not None and featured.featured
    assert await moderate(database, "nope", hidden=True) is None


async def test_thumbnails_of_a_forgotten_result_are_not_recorded(
    database: Database, media: MediaStore
) -> None:
    item = await seed_item(database, media)
    assert await set_thumbnails(database, item.id, webp="w", jpeg="j", before_display=None)
    keys = await delete_result(database, item.id)
    assert "w" in keys and "j" in keys  # forgetting also removes the thumbnails
    assert not await set_thumbnails(database, item.id, webp="w", jpeg="j", before_display="b")


async def test_page_queries_use_the_gallery_indexes(database: Database) -> None:
    # As in life, most results are private: one in ten is shared to the gallery.
    await seed_many(database, 3000, media="m.jpg", shared=lambda n: n % 10 == 0)
    async with database.engine.connect() as connection:
        await connection.execute(text("ANALYZE"))
        await connection.commit()
    async with database.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Result)) == 3000
    cursor = RankCursor(gallery_score(3, 0, False, utcnow() - timedelta(days=100)), 10**9)
    plans = {
        ("ix_results_gallery_rank",): [ranked_query(None, 25), ranked_query(cursor, 25)],
        # Newest first is id order: PostgreSQL may as well walk the primary key backwards when
        # its statistics say that is as cheap (it is, on a table this small).
        ("ix_results_gallery_recent", "results_pkey"): [
            recent_query(None, 25),
            recent_query(2000, 25),
        ],
    }
    for indexes, statements in plans.items():
        for statement in statements:
            plan = "\n".join(await explain(database, statement))
            assert any(index in plan for index in indexes), plan
            assert "TEMP B-TREE" not in plan and "Sort" not in plan, plan  # no sort step
            assert "Seq Scan" not in plan and "SCAN results" not in plan.replace("INDEX", ""), plan
