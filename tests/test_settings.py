"""Settings: one typed object, failing at start with the variable's name, all documented."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.settings import SETTING_NAMES, Settings, SettingsError

README = Path(__file__).resolve().parents[1] / "README.md"


def test_every_setting_is_in_the_readme_table_and_nothing_else() -> None:
    documented = set(re.findall(r"^\| `([A-Z0-9_]+)` \|", README.read_text(), flags=re.M))
    assert documented == set(SETTING_NAMES), (
        f"missing from README: {sorted(set(SETTING_NAMES) - documented)}; "
        f"documented but unknown: {sorted(documented - set(SETTING_NAMES))}"
    )


def test_defaults_are_the_embedded_setup(tmp_path: Path) -> None:
    settings = Settings.from_env({"COLORBOT_DATA_DIR": str(tmp_path)})
    assert settings.host == "127.0.0.1" and settings.port == 8080
    assert settings.database_url == f"sqlite+aiosqlite:///{tmp_path}/colorbot.db"
    assert settings.auto_migrate is True
    assert settings.telegram is None and settings.x is None
    assert settings.colorize_model == "embedded"
    assert settings.max_queue == 1000 and settings.user_jobs_per_hour == 10
    assert (settings.max_video_seconds, settings.max_video_pixels) == (60, 1280 * 720)
    assert (settings.max_video_bytes, settings.video_concurrency) == (50_000_000, 1)


@pytest.mark.parametrize(
    ("env", "name"),
    [
        ({"PORT": "eighty"}, "PORT"),
        ({"MAX_QUEUE": "0"}, "MAX_QUEUE"),
        ({"MAX_VIDEO_SECONDS": "0"}, "MAX_VIDEO_SECONDS"),
        ({"MAX_VIDEO_PIXELS": "lots"}, "MAX_VIDEO_PIXELS"),
        ({"MAX_VIDEO_BYTES": "-5"}, "MAX_VIDEO_BYTES"),
        ({"VIDEO_CONCURRENCY": "0"}, "VIDEO_CONCURRENCY"),
        ({"AUTO_MIGRATE": "maybe"}, "AUTO_MIGRATE"),
        ({"DATABASE_URL": "postgresql://db/x"}, "DATABASE_URL"),
        ({"PUBLIC_BASE_URL": "example.com"}, "PUBLIC_BASE_URL"),
        (
            {"TELEGRAM_TOKEN": "t", "PUBLIC_BASE_URL": "https://bot.example"},
            "TELEGRAM_WEBHOOK_SECRET",
        ),
        ({"TELEGRAM_TOKEN": "t", "TELEGRAM_MODE": "carrier-pigeon"}, "TELEGRAM_MODE"),
        ({"TELEGRAM_TOKEN": "t", "TELEGRAM_ADMIN_IDS": "1,two"}, "TELEGRAM_ADMIN_IDS"),
        ({"X_CONSUMER_KEY": "k"}, "X_CONSUMER_SECRET"),
        (
            {
                "X_CONSUMER_KEY": "k",
                "X_CONSUMER_SECRET": "s",
                "X_ACCESS_TOKEN": "a",
                "X_ACCESS_TOKEN_SECRET": "b",
            },
            "X_BOT_USER_ID",
        ),
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL"),
        ({"TRUSTED_PROXIES": "10.0.0.0/8, proxy.internal"}, "TRUSTED_PROXIES"),
        ({"REQUEST_BODY_TIMEOUT_S": "0"}, "REQUEST_BODY_TIMEOUT_S"),
    ],
)
def test_an_invalid_value_fails_naming_the_variable(env: dict[str, str], name: str) -> None:
    with pytest.raises(SettingsError, match=f"^{name}:"):
        Settings.from_env(env)


def test_postgres_does_not_migrate_itself_unless_asked() -> None:
    url = "postgresql+asyncpg://u@db/colorbot"
    assert Settings.from_env({"DATABASE_URL": url}).auto_migrate is False
    assert Settings.from_env({"DATABASE_URL": url, "AUTO_MIGRATE": "true"}).auto_migrate


def test_secrets_never_appear_in_the_settings_repr() -> None:
    settings = Settings.from_env(
        {
            "ADMIN_TOKEN": "admin-s3cret",
            "TELEGRAM_TOKEN": "123:tg-s3cret",
            "TELEGRAM_WEBHOOK_SECRET": "hook-s3cret",
            "PUBLIC_BASE_URL": "https://bot.example",
            "X_CONSUMER_KEY": "ck-s3cret",
            "X_CONSUMER_SECRET": "cs-s3cret",
            "X_ACCESS_TOKEN": "at-s3cret",
            "X_ACCESS_TOKEN_SECRET": "ats-s3cret",
            "X_BOT_USER_ID": "42",
        }
    )
    text = repr(settings)
    assert "s3cret" not in text
    assert settings.telegram is not None and settings.telegram.mode == "webhook"
    assert settings.x is not None and settings.x.mode == "webhook"
