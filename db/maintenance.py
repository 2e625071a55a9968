"""Housekeeping queries for the scheduler: purge old originals, roll up daily usage."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Select, delete, or_, select, update

from db.engine import Database
from db.models import InputKind, Job, JobStatus, Result, UsageDay, utcnow


async def purge_originals(db: Database, older_than: timedelta) -> list[str]:
    """Forget the uploaded originals of finished jobs older than `older_than` whose result is
    not in the gallery. Returns the media keys no longer referenced by anything (the caller
    deletes those files)."""
    cutoff = utcnow() - older_than
    async with db.sessions.begin() as session:
        in_gallery = select(Result.job_id).where(Result.gallery.is_(True))
        rows = (
            await session.execute(
                select(Job.id, Job.input_media).where(
                    Job.input_media.is_not(None),
                    Job.created_at < cutoff,
                    Job.status.in_((JobStatus.DONE, JobStatus.FAILED)),
                    Job.id.not_in(in_gallery),
                )
            )
        ).all()
        if not rows:
            return []
        ids = [row[0] for row in rows]
        keys: set[str] = {row[1] for row in rows if row[1] is not None}
        await session.execute(update(Job).where(Job.id.in_(ids)).values(input_media=None))
        await session.execute(update(Result).where(Result.job_id.in_(ids)).values(input_media=None))
        still_used = set(
            (await session.scalars(select(Job.input_media).where(Job.input_media.in_(keys)))).all()
        ) | set(
            (
                await session.scalars(
                    select(Result.media).where(
                        or_(Result.media.in_(keys), Result.input_media.in_(keys))
                    )
                )
            ).all()
        )
    return sorted(key for key in keys if key not in still_used)


def percentile(values: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile (None for no values)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, math.ceil(fraction * len(ordered)) - 1))
    return ordered[rank]


def finished_jobs(
    start: datetime, end: datetime
) -> Select[str, str, str | None, str, float | None, bool, float | None]:
    """The jobs created in [start, end) that are done or failed: channel, operation, filter,
    status, end-to-end seconds, whether a clip, and a done clip's seconds of footage."""
    return (
        select(
            Job.channel,
            Job.operation,
            Job.filter_name,
            Job.status,
            Job.total_seconds,
            Job.input_kind.in_(InputKind.CLIPS),
            Result.duration_seconds,
        )
        .outerjoin(Result, Result.job_id == Job.id)
        .where(
            Job.created_at >= start,
            Job.created_at < end,
            Job.status.in_((JobStatus.DONE, JobStatus.FAILED)),
        )
    )


@dataclass
class _Group:
    succeeded: int = 0
    failed: int = 0
    clips: int = 0
    clip_seconds: float = 0.0
    times: list[float] = field(default_factory=list)


async def roll_up_day(db: Database, day: date) -> int:
    """Recompute the usage rows of `day` (UTC) from the jobs table; returns rows written."""
    start = datetime.combine(day, time(), tzinfo=UTC)
    end = start + timedelta(days=1)
    async with db.sessions.begin() as session:
        rows = (await session.execute(finished_jobs(start, end))).all()
        groups: dict[tuple[str, str, str], _Group] = defaultdict(_Group)
        for channel, operation, filter_name, status, seconds, clip, footage in rows:
            group = groups[(channel, operation, filter_name or "")]
            done = status == JobStatus.DONE
            group.succeeded += done
            group.failed += not done
            group.clips += bool(clip)
            group.clip_seconds += float(footage or 0.0) if clip and done else 0.0
            if done and seconds is not None:
                group.times.append(float(seconds))
        await session.execute(delete(UsageDay).where(UsageDay.day == day))
        for (channel, operation, filter_name), group in groups.items():
            session.add(
                UsageDay(
                    day=day,
                    channel=channel,
                    operation=operation,
                    filter_name=filter_name,
                    succeeded=group.succeeded,
                    failed=group.failed,
                    p50_seconds=percentile(group.times, 0.5),
                    p95_seconds=percentile(group.times, 0.95),
                    clips=group.clips,
                    clip_seconds=group.clip_seconds,
                )
            )
    return len(groups)
