"""Job counts for operators (the Telegram /stats command, and anything else that wants them),
straight from the jobs table."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select

from db.engine import Database
from db.models import Job, utcnow


@dataclass(frozen=True)
class JobCounts:
    """Jobs created in [since, until) (until: no end), counted by status and by operation."""

    since: datetime
    until: datetime | None
    by_status: dict[str, int] = field(default_factory=dict)
    by_operation: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.by_status.values())


async def count_jobs(
    db: Database, since: datetime, until: datetime | None = None, channel: str | None = None
) -> JobCounts:
    """Jobs created from `since` (up to `until` if given), optionally on one channel."""
    statement = (
        select(Job.status, Job.operation, func.count())
        .where(Job.created_at >= since)
        .group_by(Job.status, Job.operation)
    )
    if until is not None:
        statement = statement.where(Job.created_at < until)
    if channel is not None:
        statement = statement.where(Job.channel == channel)
    by_status: Counter[str] = Counter()
    by_operation: Counter[str] = Counter()
    async with db.sessions() as session:
        for status, operation, count in (await session.execute(statement)).all():
            by_status[status] += int(count)
            by_operation[operation] += int(count)
    return JobCounts(since, until, dict(by_status), dict(by_operation))


async def recent_job_counts(
    db: Database, now: datetime | None = None
) -> tuple[JobCounts, JobCounts]:
    """(today since 00:00 UTC, the last 7 days) on every channel."""
    now = now or utcnow()
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return await count_jobs(db, midnight), await count_jobs(db, now - timedelta(days=7))
