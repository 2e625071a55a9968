"""Gallery items for tests and the benchmark: a finished job and its result, stored with the db
layer's own models, with real photos in the media store (shared/testdata pairs: the grey photo
is "before", the colour one, as JPEG, is "after")."""

from __future__ import annotations

import functools
import io
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from PIL import Image

from bot.media import MediaStore
from db.engine import Database
from db.models import Job, JobStatus, Result, User, utcnow
from db.ranking import gallery_score

TESTDATA = Path(__file__).resolve().parents[2] / "shared" / "testdata"
PAIRS = (
    ("coffee_grey.png", "coffee_color.png"),
    ("chelsea_grey.png", "chelsea_color.png"),
    ("astronaut_grey.png", "astronaut_color.png"),
    ("rocket_grey.png", "rocket_color.jpg"),
)


@functools.cache
def photo_pair(index: int) -> tuple[bytes, bytes, tuple[int, int]]:
    """(before PNG, after JPEG, (width, height)) of pair `index`."""
    before_name, after_name = PAIRS[index % len(PAIRS)]
    buffer = io.BytesIO()
    after = Image.open(TESTDATA / after_name).convert("RGB")
    after.save(buffer, "JPEG", quality=88)
    return (TESTDATA / before_name).read_bytes(), buffer.getvalue(), after.size


@dataclass(frozen=True)
class Seeded:
    id: int
    public_id: str
    job_id: int
    media: str
    input_media: str | None


async def seed_item(
    db: Database,
    media: MediaStore,
    *,
    channel: str = "web",
    operation: str = "filter",
    filter_name: str | None = "Lo-Fi",
    votes: int = 0,
    external_likes: int = 0,
    featured: bool = False,
    hidden: bool = False,
    gallery: bool = True,
    age: timedelta = timedelta(0),
    created_at: datetime | None = None,
    score: float | None = None,
    before: bool = True,
    pair: int = 0,
    user: str | None = None,
    author_handle: str | None = None,
    display_name: str | None = None,
    post_url: str | None = None,
) -> Seeded:
    """One shared result; its score is computed unless given."""
    before_bytes, after_bytes, (width, height) = photo_pair(pair)
    after_key = media.put(after_bytes, "jpg")
    before_key = media.put(before_bytes, "png") if before else None
    created = created_at or utcnow() - age
    if score is None:
        score = gallery_score(votes, external_likes, featured, created)
    async with db.sessions.begin() as session:
        user_id = None
        if user is not None:
            row = User(channel=channel, external_id=user)
            session.add(row)
            await session.flush()
            user_id = row.id
        job = Job(
            public_id=secrets.token_hex(8),
            channel=channel,
            event_id=secrets.token_hex(8),
            user_id=user_id,
            operation=operation,
            filter_name=filter_name,
            share=gallery,
            input_media=before_key,
            status=JobStatus.DONE,
            created_at=created,
            finished_at=created,
            total_seconds=1.0,
            reply_message_id=secrets.token_hex(4),
        )
        session.add(job)
        await session.flush()
        result = Result(
            public_id=secrets.token_urlsafe(12),
            job_id=job.id,
            user_id=user_id,
            channel=channel,
            operation=operation,
            filter_name=filter_name,
            media=after_key,
            input_media=before_key,
            width=width,
            height=height,
            bytes=len(after_bytes),
            gallery=gallery,
            hidden=hidden,
            featured=featured,
            votes=votes,
            external_likes=external_likes,
            score=score,
            author_handle=author_handle,
            display_name=display_name,
            post_url=post_url,
            created_at=created,
        )
        session.add(result)
        await session.flush()
        return Seeded(result.id, result.public_id, job.id, after_key, before_key)


async def seed_job(
    db: Database,
    *,
    created_at: datetime,
    channel: str = "web",
    operation: str = "filter",
    filter_name: str | None = "Lo-Fi",
    failed: bool = False,
    seconds: float = 2.0,
    input_kind: str = "photo",
    footage: float | None = None,
) -> int:
    """One finished job, for the stats: no result, unless it is a clip that is done with
    `footage` seconds (its result row says how long it is)."""
    async with db.sessions.begin() as session:
        job = Job(
            public_id=secrets.token_hex(8),
            channel=channel,
            event_id=secrets.token_hex(8),
            operation=operation,
            filter_name=filter_name if operation == "filter" else None,
            status=JobStatus.FAILED if failed else JobStatus.DONE,
            input_kind=input_kind,
            created_at=created_at,
            finished_at=created_at + timedelta(seconds=seconds),
            total_seconds=None if failed else seconds,
        )
        session.add(job)
        await session.flush()
        if footage is not None and not failed:
            session.add(
                Result(
                    public_id=secrets.token_hex(8),
                    job_id=job.id,
                    channel=channel,
                    operation=operation,
                    filter_name=job.filter_name,
                    media=f"{secrets.token_hex(32)}.mp4",
                    width=64,
                    height=48,
                    bytes=1000,
                    media_kind=input_kind,
                    mime_type="image/gif" if input_kind == "gif" else "video/mp4",
                    duration_seconds=footage,
                    created_at=created_at,
                )
            )
        return job.id


FILTER_MIX = ("Lo-Fi", "Clarendon", "Juno", "Valencia", "Nashville", "Lark", "Inkwell", "Amaro")


async def seed_usage_history(db: Database, days: int, today: datetime) -> int:
    """A plausible few weeks of jobs before `today` (deterministic), rolled up as the scheduler
    would; returns the number of jobs."""
    from db.maintenance import roll_up_day
    from db.usage import roll_up_latency

    total = 0
    for back in range(days, 0, -1):
        # from that day's midnight, so the day's jobs (8 hours at most) stay on that day
        start = (today - timedelta(days=back)).replace(hour=0, minute=0, second=0, microsecond=0)
        for n in range(3 + (back * 7) % 11):
            channel = ("web", "telegram", "x")[(n + back) % 3]
            operation = "colorize" if (n * 5 + back) % 4 == 0 else "filter"
            await seed_job(
                db,
                created_at=start + timedelta(minutes=37 * n),
                channel=channel,
                operation=operation,
                filter_name=FILTER_MIX[(n * 3 + back) % len(FILTER_MIX)],
                failed=(n + back) % 9 == 0,
                seconds=0.8 + ((n * 13 + back * 7) % 40) / 10,
            )
            total += 1
        await roll_up_day(db, start.date())
        await roll_up_latency(db, start.date())
    return total


async def seed_many(
    db: Database,
    count: int,
    *,
    media: str,
    input_media: str | None = None,
    thumbnails: tuple[str, str, str | None] | None = None,
    now: datetime | None = None,
    shared: Callable[[int], bool] = lambda n: True,
    chunk: int = 5000,
) -> None:
    """`count` results in bulk (one INSERT per chunk of jobs and of results), spread over a
    year, with vote counts that repeat (ties); result `n` is in the gallery if `shared(n)`,
    and every 50th is hidden."""
    from sqlalchemy import insert

    now = now or utcnow()
    webp, jpeg, before = thumbnails or (None, None, None)
    for start in range(0, count, chunk):
        numbers = range(start, min(count, start + chunk))
        created = [now - timedelta(minutes=(n * 5261) % 525_600) for n in numbers]
        async with db.sessions.begin() as session:
            job_ids = (
                await session.scalars(
                    insert(Job).returning(Job.id, sort_by_parameter_order=True),
                    [
                        {
                            "public_id": f"bulk-job-{n}",
                            "channel": ("web", "telegram", "x")[n % 3],
                            "event_id": f"bulk-{n}",
                            "operation": "filter",
                            "filter_name": FILTER_MIX[n % len(FILTER_MIX)],
                            "share": True,
                            "input_media": input_media,
                            "status": JobStatus.DONE,
                            "created_at": at,
                            "total_seconds": 1.0 + n % 7,
                        }
                        for n, at in zip(numbers, created, strict=True)
                    ],
                )
            ).all()
            rows = []
            for n, at, job_id in zip(numbers, created, job_ids, strict=True):
                votes, featured = (n * 7919) % 23, n % 997 == 0
                rows.append(
                    {
                        "public_id": f"bulk{n:08d}",
                        "job_id": job_id,
                        "channel": ("web", "telegram", "x")[n % 3],
                        "operation": "filter",
                        "filter_name": FILTER_MIX[n % len(FILTER_MIX)],
                        "media": media,
                        "input_media": input_media,
                        "width": 600,
                        "height": 400,
                        "bytes": 50_000,
                        "gallery": shared(n),
                        "hidden": n % 50 == 49,
                        "featured": featured,
                        "votes": votes,
                        "external_likes": 0,
                        "score": gallery_score(votes, 0, featured, at),
                        "thumb_webp": webp,
                        "thumb_jpeg": jpeg,
                        "before_display": before,
                        "created_at": at,
                    }
                )
            await session.execute(insert(Result), rows)
