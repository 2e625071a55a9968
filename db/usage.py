"""Usage over time for the stats page: per day, jobs by channel and operation, successes and
failures, p50/p95 end-to-end seconds, videos and GIFs and their seconds of footage, and the
most used filters.

Past days come from the scheduler's roll-ups (`usage_days`, and `latency_days` written by
`roll_up_latency` here); today is counted live from the jobs table. A job belongs to the UTC
day it was created on, and only finished jobs (done or failed) count, as in the roll-up.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import delete, func, select

from db.engine import Database
from db.maintenance import finished_jobs, percentile
from db.models import JobStatus, LatencyDay, UsageDay


@dataclass
class DayUsage:
    day: date
    by_channel_operation: Counter[str] = field(default_factory=Counter)  # "web/filter" -> jobs
    filters: Counter[str] = field(default_factory=Counter)  # filter name -> jobs
    succeeded: int = 0
    failed: int = 0
    p50_seconds: float | None = None
    p95_seconds: float | None = None
    clips: int = 0  # of the jobs, videos and GIFs
    clip_seconds: float = 0.0  # seconds of footage of the finished ones

    @property
    def jobs(self) -> int:
        return self.succeeded + self.failed

    def add(
        self,
        channel: str,
        operation: str,
        filter_name: str,
        succeeded: int,
        failed: int,
        clips: int = 0,
        clip_seconds: float = 0.0,
    ) -> None:
        self.by_channel_operation[f"{channel}/{operation}"] += succeeded + failed
        if filter_name:
            self.filters[filter_name] += succeeded + failed
        self.succeeded += succeeded
        self.failed += failed
        self.clips += clips
        self.clip_seconds += clip_seconds


@dataclass(frozen=True)
class UsageReport:
    days: list[DayUsage]  # oldest first, one per day (days without jobs included)

    @property
    def top_filters(self) -> list[tuple[str, int]]:
        total: Counter[str] = Counter()
        for day in self.days:
            total.update(day.filters)
        return sorted(total.items(), key=lambda item: (-item[1], item[0]))

    @property
    def clips(self) -> int:
        return sum(day.clips for day in self.days)

    @property
    def clip_seconds(self) -> float:
        return sum(day.clip_seconds for day in self.days)

    @property
    def series_names(self) -> list[str]:
        """Every "channel/operation" seen, in a stable order."""
        return sorted({name for day in self.days for name in day.by_channel_operation})


def _bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(), tzinfo=UTC)
    return start, start + timedelta(days=1)


async def _live_day(db: Database, day: date) -> tuple[DayUsage, list[float]]:
    """One day counted from the jobs table, and its done jobs' end-to-end seconds."""
    start, end = _bounds(day)
    usage = DayUsage(day)
    seconds: list[float] = []
    async with db.sessions() as session:
        rows = (await session.execute(finished_jobs(start, end))).all()
        for channel, operation, filter_name, status, total, clip, footage in rows:
            done = status == JobStatus.DONE
            usage.add(
                channel,
                operation,
                filter_name or "",
                int(done),
                int(not done),
                int(bool(clip)),
                float(footage or 0.0) if clip and done else 0.0,
            )
            if done and total is not None:
                seconds.append(float(total))
    usage.p50_seconds = percentile(seconds, 0.5)
    usage.p95_seconds = percentile(seconds, 0.95)
    return usage, seconds


async def roll_up_latency(db: Database, day: date) -> int:
    """Recompute the day's p50/p95 end-to-end seconds from the jobs table; returns the number
    of samples (done jobs with a time)."""
    usage, seconds = await _live_day(db, day)
    async with db.sessions.begin() as session:
        await session.execute(delete(LatencyDay).where(LatencyDay.day == day))
        session.add(
            LatencyDay(
                day=day,
                samples=len(seconds),
                p50_seconds=usage.p50_seconds,
                p95_seconds=usage.p95_seconds,
            )
        )
    return len(seconds)


async def days_without_latency(db: Database, since: date, until: date) -> list[date]:
    """Days in [since, until) that have usage rows but no latency row (to backfill)."""
    async with db.sessions() as session:
        used = set(
            (
                await session.scalars(
                    select(UsageDay.day)
                    .where(UsageDay.day >= since, UsageDay.day < until)
                    .group_by(UsageDay.day)
                )
            ).all()
        )
        rolled = set(
            (
                await session.scalars(
                    select(LatencyDay.day).where(LatencyDay.day >= since, LatencyDay.day < until)
                )
            ).all()
        )
    return sorted(used - rolled)


async def usage_report(db: Database, first_day: date, today: date) -> UsageReport:
    """Every day from `first_day` to `today` inclusive: past days from the roll-ups, today
    live."""
    days = {
        first_day + timedelta(days=n): DayUsage(first_day + timedelta(days=n))
        for n in range((today - first_day).days)
    }
    async with db.sessions() as session:
        rows = await session.execute(
            select(
                UsageDay.day,
                UsageDay.channel,
                UsageDay.operation,
                UsageDay.filter_name,
                func.sum(UsageDay.succeeded),
                func.sum(UsageDay.failed),
                func.sum(UsageDay.clips),
                func.sum(UsageDay.clip_seconds),
            )
            .where(UsageDay.day >= first_day, UsageDay.day < today)
            .group_by(UsageDay.day, UsageDay.channel, UsageDay.operation, UsageDay.filter_name)
        )
        for day, channel, operation, filter_name, succeeded, failed, clips, footage in rows.all():
            days[day].add(
                channel,
                operation,
                filter_name,
                int(succeeded),
                int(failed),
                int(clips or 0),
                float(footage or 0.0),
            )
        latencies = await session.scalars(
            select(LatencyDay).where(LatencyDay.day >= first_day, LatencyDay.day < today)
        )
        for latency in latencies.all():
            days[latency.day].p50_seconds = latency.p50_seconds
            days[latency.day].p95_seconds = latency.p95_seconds
    live, _ = await _live_day(db, today)
    return UsageReport([*days.values(), live])
