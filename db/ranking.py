"""The gallery's ranking score, and keeping the stored `results.score` up to date.

    score = log10(1 + votes + external_likes) + age_term + (2 if featured else 0)
    age_term = (created_at - 2024-01-01 UTC) / 1 day

A "hot" score with time decay (Reddit's, with a one-day time constant): an item needs ten
times the points to rank with one a day younger. Relative to now it is
`points x 10^(-age in days)`, but written this way the stored score never changes as time
passes, so the ranked page is one index range scan over
`ix_results_gallery_rank (gallery, hidden, score, id)` and nothing must be rewritten every
hour. Featuring adds two days' worth. Ties (same score) are broken by id, newest first.

The score changes only when its inputs do: a vote here recomputes it at once
(`db.gallery.add_vote`), moderation too; the scheduler's `refresh_scores` catches the rest
(Telegram "Share to gallery" votes, X like counts, new results, which are stored with 0).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import false, select, true, update

from db.engine import Database
from db.models import Result

EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
DECAY_SECONDS = 86_400.0
FEATURED_BONUS = 2.0
HOW_RANKING_WORKS = (
    "Ranked by log10(1 + votes + likes) + age in days (featured: +2), so ten times the votes "
    "outweighs one day of age."
)


def gallery_score(votes: int, external_likes: int, featured: bool, created_at: datetime) -> float:
    """The ranking score (see the module docstring); rounded so that recomputing it gives
    exactly the stored value."""
    points = max(0, votes) + max(0, external_likes)
    age_term = (created_at - EPOCH).total_seconds() / DECAY_SECONDS
    return round(math.log10(1 + points) + age_term + (FEATURED_BONUS if featured else 0.0), 7)


def score_of(result: Result) -> float:
    return gallery_score(result.votes, result.external_likes, result.featured, result.created_at)


_COLUMNS = (
    Result.id,
    Result.votes,
    Result.external_likes,
    Result.featured,
    Result.created_at,
    Result.score,
)


@dataclass(frozen=True)
class ScoreSweep:
    """What one `refresh_scores` run did; `cursor` is where the next rolling sweep starts."""

    examined: int
    updated: int
    cursor: int | None


async def _rescore(db: Database, rows: Sequence[Any]) -> int:
    changed = [
        {"id": row.id, "score": new}
        for row in rows
        if (new := gallery_score(row.votes, row.external_likes, row.featured, row.created_at))
        != row.score
    ]
    if changed:
        async with db.sessions.begin() as session:
            await session.execute(update(Result), changed)
    return len(changed)


async def refresh_scores(
    db: Database, *, cursor: int | None, sweep: int = 2000, newest: int = 500
) -> ScoreSweep:
    """Recompute stored scores where they differ, in three cheap index scans: gallery rows
    never scored (score 0), the `newest` gallery rows (where votes and likes change), and the
    next `sweep` rows of a rolling pass by id from `cursor` (None: from the start), so that
    every row is reconciled eventually."""
    in_gallery = (Result.gallery == true(), Result.hidden.in_([false(), true()]))
    statements = [
        select(*_COLUMNS).where(*in_gallery, Result.score == 0.0).limit(sweep),
        select(*_COLUMNS)
        .where(Result.gallery == true(), Result.hidden == false())
        .order_by(Result.id.desc())
        .limit(newest),
    ]
    rolling = select(*_COLUMNS).where(Result.gallery == true(), Result.hidden == false())
    if cursor is not None:
        rolling = rolling.where(Result.id > cursor)
    statements.append(rolling.order_by(Result.id).limit(sweep))
    examined = updated = 0
    next_cursor: int | None = None
    for index, statement in enumerate(statements):
        async with db.sessions() as session:
            rows = (await session.execute(statement)).all()
        examined += len(rows)
        updated += await _rescore(db, rows)
        if index == len(statements) - 1:
            next_cursor = rows[-1].id if len(rows) == sweep else None
    return ScoreSweep(examined, updated, next_cursor)
