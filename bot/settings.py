"""The one typed `Settings` object, read from the environment once at start-up.

Every variable is declared in `SETTINGS` with its default and meaning; the README's settings
table is checked against that catalogue by a test. A missing or invalid value raises
`SettingsError` naming the variable, so the service fails at start, never half-way through.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import platformdirs
from dotenv import dotenv_values

T = TypeVar("T")


class SettingsError(ValueError):
    """A setting is missing or invalid; the message names the variable."""


@dataclass(frozen=True)
class Setting:
    env: str
    default: str
    meaning: str


SETTINGS: tuple[Setting, ...] = (
    Setting("COLORBOT_HOST", "127.0.0.1", "where the web server listens"),
    Setting("PORT", "8080", "the web server's port (the Procfile convention)"),
    Setting(
        "DATABASE_URL",
        "sqlite+aiosqlite:///<data dir>/colorbot.db",
        "any SQLAlchemy async URL; postgresql+asyncpg://... in production",
    ),
    Setting("COLORBOT_DATA_DIR", "./var", "media files, the SQLite file"),
    Setting("COLORBOT_MODEL_DIR", "user cache dir", "where pulled/converted models live"),
    Setting("COLORIZE_MODEL", "embedded", "which colourisation model to serve"),
    Setting("PUBLIC_BASE_URL", "unset", "the public https URL (webhooks, links in replies)"),
    Setting("ADMIN_TOKEN", "unset", "bearer token for admin routes; off when unset"),
    Setting(
        "COOKIE_SECRET",
        "a random key kept in <data dir>/cookie-secret",
        "signs visitor cookies, vote CSRF tokens, job tokens and private media links (set the "
        "same value on every web process when they do not share one data dir)",
    ),
    Setting(
        "TRUSTED_PROXIES",
        "unset",
        "comma-separated addresses or CIDR networks of reverse proxies whose X-Forwarded-For "
        "is believed; from any other peer the header is ignored",
    ),
    Setting(
        "REQUEST_BODY_TIMEOUT_S",
        "120",
        "seconds a request with a body may take to send it and be answered; slower ones get "
        "408 and their connection is closed",
    ),
    Setting("TELEGRAM_TOKEN", "unset", "enables Telegram"),
    Setting("TELEGRAM_WEBHOOK_SECRET", "unset", "required in Telegram webhook mode"),
    Setting(
        "TELEGRAM_MODE",
        "webhook if PUBLIC_BASE_URL is set, else polling",
        "`webhook` or `polling`",
    ),
    Setting("TELEGRAM_ADMIN_IDS", "unset", "comma-separated admin Telegram user ids"),
    Setting("TELEGRAM_API_URL", "https://api.telegram.org", "Bot API base URL"),
    Setting("X_CONSUMER_KEY", "unset", "X app key (OAuth 1.0a); the four X_* keys enable X"),
    Setting("X_CONSUMER_SECRET", "unset", "X app secret; also signs webhook CRC and payloads"),
    Setting("X_ACCESS_TOKEN", "unset", "the bot account's access token"),
    Setting("X_ACCESS_TOKEN_SECRET", "unset", "the bot account's access token secret"),
    Setting("X_BOT_USER_ID", "unset", "the bot account's numeric id"),
    Setting("X_MODE", "webhook if PUBLIC_BASE_URL is set, else poll", "`webhook` or `poll`"),
    Setting("X_API_URL", "https://api.x.com", "X API base, for v2 calls and media upload"),
    Setting(
        "X_MEDIA_HOSTS",
        "pbs.twimg.com,ton.twitter.com,video.twimg.com",
        "the only hosts photos and videos are downloaded from (video.twimg.com serves videos "
        "and GIFs)",
    ),
    Setting("X_POLL_INTERVAL_S", "60", "seconds between mention polls in poll mode"),
    Setting("INFERENCE_THREADS", "0", "onnxruntime intra-op threads per session (0: all cores)"),
    Setting("BATCH_MAX_SIZE", "8", "largest micro-batch run by one model call"),
    Setting("BATCH_MAX_WAIT_MS", "10", "how long a request waits for others to share its batch"),
    Setting("MAX_IMAGE_BYTES", "20000000", "largest accepted upload, in bytes"),
    Setting("MAX_IMAGE_PIXELS", "40000000", "largest accepted image, in pixels (width x height)"),
    Setting("MAX_VIDEO_SECONDS", "60", "longest accepted video or GIF, in seconds"),
    Setting(
        "MAX_VIDEO_PIXELS",
        "921600",
        "pixels per video frame (1280x720 worth); larger frames are scaled down to fit",
    ),
    Setting("MAX_VIDEO_BYTES", "50000000", "largest accepted video or GIF upload, in bytes"),
    Setting(
        "VIDEO_CONCURRENCY",
        "1",
        "videos and GIFs one worker process works on at once, beside its "
        "`WORKER_CONCURRENCY` photo jobs (photos keep flowing while a clip runs)",
    ),
    Setting("MAX_QUEUE", "1000", "queued jobs above which new work gets the busy answer"),
    Setting("USER_JOBS_PER_HOUR", "10", "jobs one user may submit per hour"),
    Setting("WORKER_CONCURRENCY", "2", "photo jobs one worker process runs at once"),
    Setting("JOB_MAX_ATTEMPTS", "5", "tries before a job is failed for good"),
    Setting("JOB_LEASE_SECONDS", "120", "how long a claimed job is held before another worker may"),
    Setting("SHUTDOWN_TIMEOUT_S", "30", "how long SIGTERM waits for running jobs"),
    Setting("RETENTION_DAYS", "30", "days originals are kept for results not in the gallery"),
    Setting(
        "AUTO_MIGRATE",
        "true for SQLite, false otherwise",
        "whether `serve` migrates the database itself at start",
    ),
    Setting("LOG_LEVEL", "INFO", "Python logging level"),
)

SETTING_NAMES = frozenset(s.env for s in SETTINGS)


def _raw(env: Mapping[str, str], name: str) -> str | None:
    assert name in SETTING_NAMES, f"undeclared setting {name}"
    value = env.get(name)
    if value is None or value.strip() == "":
        return None
    return value.strip()


def _parsed(env: Mapping[str, str], name: str, parse: Callable[[str], T], default: T) -> T:
    raw = _raw(env, name)
    if raw is None:
        return default
    try:
        return parse(raw)
    except ValueError as exc:
        raise SettingsError(f"{name}: invalid value {raw!r} ({exc})") from None


def _int_at_least(minimum: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        value = int(raw)
        if value < minimum:
            raise ValueError(f"must be at least {minimum}")
        return value

    return parse


def _bool(raw: str) -> bool:
    lowered = raw.lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ValueError("expected true or false")


def _choice(*choices: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        if raw not in choices:
            raise ValueError(f"expected one of {', '.join(choices)}")
        return raw

    return parse


def _url(raw: str) -> str:
    if not raw.startswith(("http://", "https://")):
        raise ValueError("expected an http:// or https:// URL")
    return raw.rstrip("/")


def _id_list(raw: str) -> frozenset[int]:
    return frozenset(int(part) for part in raw.split(",") if part.strip())


def _host_list(raw: str) -> frozenset[str]:
    hosts = frozenset(part.strip().lower() for part in raw.split(",") if part.strip())
    if not hosts:
        raise ValueError("expected at least one host")
    return hosts


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _network_list(raw: str) -> tuple[Network, ...]:
    return tuple(
        ipaddress.ip_network(part.strip(), strict=False) for part in raw.split(",") if part.strip()
    )


@dataclass(frozen=True)
class TelegramSettings:
    token: str = field(repr=False)
    webhook_secret: str | None = field(repr=False)
    mode: str
    admin_ids: frozenset[int]
    api_url: str


@dataclass(frozen=True)
class XSettings:
    consumer_key: str = field(repr=False)
    consumer_secret: str = field(repr=False)
    access_token: str = field(repr=False)
    access_token_secret: str = field(repr=False)
    bot_user_id: str | None
    mode: str
    api_url: str
    media_hosts: frozenset[str]
    poll_interval_s: int


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8080
    data_dir: Path = Path("var")
    database_url: str = "sqlite+aiosqlite:///var/colorbot.db"
    model_dir: Path = Path("models")
    colorize_model: str = "embedded"
    public_base_url: str | None = None
    admin_token: str | None = field(default=None, repr=False)
    cookie_secret: str | None = field(default=None, repr=False)
    trusted_proxies: tuple[Network, ...] = ()
    request_body_timeout_s: float = 120.0
    telegram: TelegramSettings | None = None
    x: XSettings | None = None
    inference_threads: int = 0
    batch_max_size: int = 8
    batch_max_wait_ms: float = 10.0
    max_image_bytes: int = 20_000_000
    max_image_pixels: int = 40_000_000
    max_video_seconds: int = 60
    max_video_pixels: int = 1280 * 720
    max_video_bytes: int = 50_000_000
    video_concurrency: int = 1
    max_queue: int = 1000
    user_jobs_per_hour: int = 10
    worker_concurrency: int = 2
    job_max_attempts: int = 5
    job_lease_seconds: int = 120
    shutdown_timeout_s: float = 30.0
    retention_days: int = 30
    auto_migrate: bool = True
    log_level: str = "INFO"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read every setting from `env` (default: `.env` in the working directory, then
        `os.environ`, the environment winning)."""
        if env is None:
            dotenv = {k: v for k, v in dotenv_values(".env").items() if v is not None}
            env = {**dotenv, **os.environ}
        return _settings_from(env)


def _settings_from(env: Mapping[str, str]) -> Settings:
    data_dir = Path(_raw(env, "COLORBOT_DATA_DIR") or "./var").expanduser()
    database_url = _raw(env, "DATABASE_URL") or f"sqlite+aiosqlite:///{data_dir}/colorbot.db"
    if "+" not in database_url.split("://", 1)[0]:
        raise SettingsError(
            "DATABASE_URL: needs an async driver, e.g. sqlite+aiosqlite:// or postgresql+asyncpg://"
        )
    default_model_dir = Path(platformdirs.user_cache_dir("colorbot")) / "models"
    model_dir_raw = _raw(env, "COLORBOT_MODEL_DIR")
    model_dir = Path(model_dir_raw).expanduser() if model_dir_raw else default_model_dir
    public_base_url = _parsed(env, "PUBLIC_BASE_URL", _url, None)
    is_sqlite = database_url.startswith("sqlite")
    return Settings(
        host=_raw(env, "COLORBOT_HOST") or "127.0.0.1",
        port=_parsed(env, "PORT", _int_at_least(0), 8080),
        data_dir=data_dir,
        database_url=database_url,
        model_dir=model_dir,
        colorize_model=_raw(env, "COLORIZE_MODEL") or "embedded",
        public_base_url=public_base_url,
        admin_token=_raw(env, "ADMIN_TOKEN"),
        cookie_secret=_raw(env, "COOKIE_SECRET"),
        trusted_proxies=_parsed(env, "TRUSTED_PROXIES", _network_list, ()),
        request_body_timeout_s=float(_parsed(env, "REQUEST_BODY_TIMEOUT_S", _int_at_least(1), 120)),
        telegram=_telegram_settings(env, public_base_url),
        x=_x_settings(env, public_base_url),
        inference_threads=_parsed(env, "INFERENCE_THREADS", _int_at_least(0), 0),
        batch_max_size=_parsed(env, "BATCH_MAX_SIZE", _int_at_least(1), 8),
        batch_max_wait_ms=float(_parsed(env, "BATCH_MAX_WAIT_MS", _int_at_least(0), 10)),
        max_image_bytes=_parsed(env, "MAX_IMAGE_BYTES", _int_at_least(1024), 20_000_000),
        max_image_pixels=_parsed(env, "MAX_IMAGE_PIXELS", _int_at_least(1), 40_000_000),
        max_video_seconds=_parsed(env, "MAX_VIDEO_SECONDS", _int_at_least(1), 60),
        max_video_pixels=_parsed(env, "MAX_VIDEO_PIXELS", _int_at_least(4096), 1280 * 720),
        max_video_bytes=_parsed(env, "MAX_VIDEO_BYTES", _int_at_least(1024), 50_000_000),
        video_concurrency=_parsed(env, "VIDEO_CONCURRENCY", _int_at_least(1), 1),
        max_queue=_parsed(env, "MAX_QUEUE", _int_at_least(1), 1000),
        user_jobs_per_hour=_parsed(env, "USER_JOBS_PER_HOUR", _int_at_least(1), 10),
        worker_concurrency=_parsed(env, "WORKER_CONCURRENCY", _int_at_least(1), 2),
        job_max_attempts=_parsed(env, "JOB_MAX_ATTEMPTS", _int_at_least(1), 5),
        job_lease_seconds=_parsed(env, "JOB_LEASE_SECONDS", _int_at_least(5), 120),
        shutdown_timeout_s=float(_parsed(env, "SHUTDOWN_TIMEOUT_S", _int_at_least(0), 30)),
        retention_days=_parsed(env, "RETENTION_DAYS", _int_at_least(1), 30),
        auto_migrate=_parsed(env, "AUTO_MIGRATE", _bool, is_sqlite),
        log_level=_parsed(
            env, "LOG_LEVEL", _choice("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"), "INFO"
        ),
    )


def _telegram_settings(
    env: Mapping[str, str], public_base_url: str | None
) -> TelegramSettings | None:
    token = _raw(env, "TELEGRAM_TOKEN")
    if token is None:
        return None
    default_mode = "webhook" if public_base_url else "polling"
    mode = _parsed(env, "TELEGRAM_MODE", _choice("webhook", "polling"), default_mode)
    secret = _raw(env, "TELEGRAM_WEBHOOK_SECRET")
    if mode == "webhook":
        if secret is None:
            raise SettingsError("TELEGRAM_WEBHOOK_SECRET: required when TELEGRAM_MODE is webhook")
        if public_base_url is None:
            raise SettingsError("PUBLIC_BASE_URL: required when TELEGRAM_MODE is webhook")
    return TelegramSettings(
        token=token,
        webhook_secret=secret,
        mode=mode,
        admin_ids=_parsed(env, "TELEGRAM_ADMIN_IDS", _id_list, frozenset()),
        api_url=_parsed(env, "TELEGRAM_API_URL", _url, "https://api.telegram.org"),
    )


def _x_settings(env: Mapping[str, str], public_base_url: str | None) -> XSettings | None:
    names = ("X_CONSUMER_KEY", "X_CONSUMER_SECRET", "X_ACCESS_TOKEN", "X_ACCESS_TOKEN_SECRET")
    values = {name: _raw(env, name) for name in names}
    present = [name for name, value in values.items() if value is not None]
    if not present:
        return None
    missing = [name for name in names if values[name] is None]
    if missing:
        raise SettingsError(f"{missing[0]}: required when any of {', '.join(names)} is set")
    default_mode = "webhook" if public_base_url else "poll"
    mode = _parsed(env, "X_MODE", _choice("webhook", "poll"), default_mode)
    bot_user_id = _raw(env, "X_BOT_USER_ID")
    if bot_user_id is not None and not bot_user_id.isdigit():
        raise SettingsError(f"X_BOT_USER_ID: invalid value {bot_user_id!r} (expected digits)")
    if mode == "poll" and bot_user_id is None:
        raise SettingsError("X_BOT_USER_ID: required when X_MODE is poll")
    return XSettings(
        consumer_key=values["X_CONSUMER_KEY"] or "",
        consumer_secret=values["X_CONSUMER_SECRET"] or "",
        access_token=values["X_ACCESS_TOKEN"] or "",
        access_token_secret=values["X_ACCESS_TOKEN_SECRET"] or "",
        bot_user_id=bot_user_id,
        mode=mode,
        api_url=_parsed(env, "X_API_URL", _url, "https://api.x.com"),
        media_hosts=_parsed(
            env,
            "X_MEDIA_HOSTS",
            _host_list,
            frozenset({"pbs.twimg.com", "ton.twitter.com", "video.twimg.com"}),
        ),
        poll_interval_s=_parsed(env, "X_POLL_INTERVAL_S", _int_at_least(5), 60),
    )
