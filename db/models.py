"""SQLAlchemy 2 models: users per channel, jobs, results, votes, events, usage stats, cursors.

Every timestamp is UTC (`UTCDateTime` stores naive UTC and hands back aware datetimes, the same
on SQLite and PostgreSQL). The schema itself is created only by Alembic migrations.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

# SQLite only auto-increments INTEGER PRIMARY KEY, PostgreSQL wants BIGINT for big tables.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
    }


class JobStatus:
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class Operation:
    COLORIZE = "colorize"
    FILTER = "filter"


class InputKind:
    """What a job's input is (decided at intake by the channel, from the platform's metadata
    or by sniffing the content; the runner corrects it if the content says otherwise)."""

    PHOTO = "photo"
    VIDEO = "video"  # any video container (MP4, MOV, WebM, ...); the result is an MP4
    GIF = "gif"  # an animated GIF; the result is a GIF
    CLIPS = ("video", "gif")


class User(Base):
    """A person as one channel knows them; `external_id` is the channel's own id."""

    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(128))
    handle: Mapped[str | None] = mapped_column(String(64))
    blocked: Mapped[bool] = mapped_column(Boolean, default=False)
    # When the user was last sent a usage hint (e.g. "send me a photo"), to rate-limit hints.
    last_hint_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Event(Base):
    """Every platform event seen, so a re-delivered one is recognised even after a restart."""

    __tablename__ = "events"

    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class Job(Base):
    """One request: queued -> running -> done | failed, with a lease and a reply record."""

    __tablename__ = "jobs"
    __table_args__ = (
        UniqueConstraint("channel", "event_id"),
        Index("ix_jobs_claim", "status", "run_after", "id"),
        # Photos only (a worker whose clip slots are full): see `db.jobs.claim_job`.
        Index("ix_jobs_claim_kind", "status", "input_kind", "id"),
        Index("ix_jobs_user_created", "user_id", "created_at"),
        Index("ix_jobs_created", "created_at"),
        Index("ix_jobs_reply", "channel", "reply_message_id"),
        Index("ix_jobs_input_media", "input_media"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    channel: Mapped[str] = mapped_column(String(16))
    event_id: Mapped[str] = mapped_column(String(128))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # Where the answer goes (chat id, message to reply to, ...), as the channel needs it.
    reply_to: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Where the photo comes from (a stored media key, a platform file id or URL, ...).
    source: Mapped[dict[str, Any]] = mapped_column(default=dict)
    operation: Mapped[str] = mapped_column(String(16))
    filter_name: Mapped[str | None] = mapped_column(String(32))
    share: Mapped[bool] = mapped_column(Boolean, default=False)
    input_media: Mapped[str | None] = mapped_column(String(80))
    # "photo", "video" or "gif" (`InputKind`).
    input_kind: Mapped[str] = mapped_column(
        String(8), default=InputKind.PHOTO, server_default=InputKind.PHOTO
    )
    status: Mapped[str] = mapped_column(String(16), default=JobStatus.QUEUED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    run_after: Mapped[datetime] = mapped_column(default=utcnow)
    lease_expires_at: Mapped[datetime | None]
    leased_by: Mapped[str | None] = mapped_column(String(64))
    error_kind: Mapped[str | None] = mapped_column(String(32))
    error_message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    queue_seconds: Mapped[float | None] = mapped_column(Float)
    inference_seconds: Mapped[float | None] = mapped_column(Float)
    total_seconds: Mapped[float | None] = mapped_column(Float)
    progress_message_id: Mapped[str | None] = mapped_column(String(64))
    # A clip's progress, as last reported by the worker running it (fraction of its frames
    # done, 0..1; the seconds it expected to need then; when): status polls read it, and a
    # restarted attempt starts it again from 0.
    progress: Mapped[float | None] = mapped_column(Float)
    eta_seconds: Mapped[float | None] = mapped_column(Float)
    progress_at: Mapped[datetime | None]
    reply_started_at: Mapped[datetime | None]
    reply_message_id: Mapped[str | None] = mapped_column(String(64))
    replied_at: Mapped[datetime | None]


class Result(Base):
    """The picture a job made, and its place in the gallery (only with consent)."""

    __tablename__ = "results"
    __table_args__ = (
        Index("ix_results_gallery_rank", "gallery", "hidden", "score", "id"),
        Index("ix_results_gallery_recent", "gallery", "hidden", "id"),
        Index("ix_results_user", "user_id"),
        # Which rows reference a media key (serving /media, the sweep of unreferenced files).
        Index("ix_results_media", "media"),
        Index("ix_results_input_media", "input_media"),
        Index("ix_results_thumb_webp", "thumb_webp"),
        Index("ix_results_thumb_jpeg", "thumb_jpeg"),
        Index("ix_results_before_display", "before_display"),
        Index("ix_results_poster", "poster"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    operation: Mapped[str] = mapped_column(String(16))
    filter_name: Mapped[str | None] = mapped_column(String(32))
    media: Mapped[str] = mapped_column(String(80))
    input_media: Mapped[str | None] = mapped_column(String(80))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    bytes: Mapped[int] = mapped_column(Integer)
    # "photo" (a JPEG), "video" (an MP4) or "gif" (a GIF): what `media` is.
    media_kind: Mapped[str] = mapped_column(
        String(8), default=InputKind.PHOTO, server_default=InputKind.PHOTO
    )
    mime_type: Mapped[str] = mapped_column(
        String(32), default="image/jpeg", server_default="image/jpeg"
    )
    # Clips only: seconds of footage, and a JPEG frame of the result (gallery thumbnails,
    # a channel's video thumbnail).
    duration_seconds: Mapped[float | None] = mapped_column(Float)
    poster: Mapped[str | None] = mapped_column(String(80))
    gallery: Mapped[bool] = mapped_column(Boolean, default=False)
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    featured: Mapped[bool] = mapped_column(Boolean, default=False)
    votes: Mapped[int] = mapped_column(Integer, default=0)
    score: Mapped[float] = mapped_column(Float, default=0.0)
    # Public attribution only: the X @handle of a public post, or a name a Telegram user
    # chose to share. Nothing else personal is shown.
    author_handle: Mapped[str | None] = mapped_column(String(64))
    display_name: Mapped[str | None] = mapped_column(String(64))
    post_url: Mapped[str | None] = mapped_column(String(256))
    # Likes the platform reports for the bot's reply (e.g. X), refreshed by the scheduler.
    external_likes: Mapped[int] = mapped_column(Integer, default=0)
    # Gallery thumbnails, generated once (WebP with a JPEG fallback).
    thumb_webp: Mapped[str | None] = mapped_column(String(80))
    thumb_jpeg: Mapped[str | None] = mapped_column(String(80))
    # The original re-encoded for the gallery's item page (no metadata), made with the thumbnails.
    before_display: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Vote(Base):
    __tablename__ = "votes"
    __table_args__ = (UniqueConstraint("result_id", "voter"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    result_id: Mapped[int] = mapped_column(ForeignKey("results.id", ondelete="CASCADE"))
    voter: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class UsageDay(Base):
    """Daily roll-up of jobs by channel, operation and filter (the stats page reads these)."""

    __tablename__ = "usage_days"
    __table_args__ = (UniqueConstraint("day", "channel", "operation", "filter_name"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    channel: Mapped[str] = mapped_column(String(16))
    operation: Mapped[str] = mapped_column(String(16))
    filter_name: Mapped[str] = mapped_column(String(32), default="")
    succeeded: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    p50_seconds: Mapped[float | None] = mapped_column(Float)
    p95_seconds: Mapped[float | None] = mapped_column(Float)
    # Of these jobs, the videos and GIFs, and the seconds of footage of the finished ones.
    clips: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    clip_seconds: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")


class LatencyDay(Base):
    """p50/p95 end-to-end seconds of one day's finished jobs (all channels together)."""

    __tablename__ = "latency_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    samples: Mapped[int] = mapped_column(Integer, default=0)
    p50_seconds: Mapped[float | None] = mapped_column(Float)
    p95_seconds: Mapped[float | None] = mapped_column(Float)


class Cursor(Base):
    """Small named positions that must survive restarts (e.g. the X mentions since_id)."""

    __tablename__ = "cursors"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(256))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
