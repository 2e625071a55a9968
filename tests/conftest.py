"""Shared fixtures: databases on SQLite and on a throwaway PostgreSQL cluster; the real models;
the real app on 127.0.0.1."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from bot.app import close_services, create_app, open_services
from bot.metrics import Metrics
from bot.services import Services, load_pipeline
from bot.settings import Settings
from db.engine import Database, connect
from db.migrate import upgrade
from inference.pipeline import PhotoPipeline
from tests.browser import CHROMIUM
from tests.postgres import find_bindir, postgres_cluster

SHARED = Path(__file__).resolve().parents[2] / "shared"


def _postgres_required() -> bool:
    return os.environ.get("COLORBOT_REQUIRE_POSTGRES", "") not in ("", "0")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """Base URL of a PostgreSQL server for this test session (without a database name)."""
    if find_bindir() is None:
        if _postgres_required():
            pytest.fail("COLORBOT_REQUIRE_POSTGRES is set but PostgreSQL is not installed")
        pytest.skip("PostgreSQL server binaries not installed")
    with postgres_cluster() as url:
        yield url


async def create_postgres_database(base_url: str) -> str:
    name = f"t_{secrets.token_hex(6)}"
    dsn = base_url.replace("postgresql+asyncpg://", "postgresql://") + "/postgres"
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return f"{base_url}/{name}"


@pytest.fixture
def chromium() -> Path:
    """/usr/bin/chromium, or a skip (a failure when COLORBOT_REQUIRE_BROWSER is set, as in CI)."""
    if not CHROMIUM.exists():
        if os.environ.get("COLORBOT_REQUIRE_BROWSER", "") not in ("", "0"):
            pytest.fail(f"COLORBOT_REQUIRE_BROWSER is set but {CHROMIUM} is missing")
        pytest.skip(f"{CHROMIUM} is not installed")
    return CHROMIUM


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path}/colorbot.db"
    base: str = request.getfixturevalue("postgres_url")
    return base  # the database itself is created by `database`


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    """A migrated, empty database on SQLite and on PostgreSQL."""
    url = database_url
    if url.startswith("postgresql"):
        url = await create_postgres_database(url)
    db = connect(url)
    await upgrade(db)
    try:
        yield db
    finally:
        await db.close()


@pytest.fixture(scope="session")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> PhotoPipeline:
    """The real models (40 filters + the embedded colouriser when shipped), loaded and warmed
    once for the whole test session."""
    model_dir = tmp_path_factory.mktemp("models")
    return load_pipeline(Settings.from_env({"COLORBOT_MODEL_DIR": str(model_dir)}), Metrics())


AppClient = TestClient[Any, Any]


@dataclass
class RunningApp:
    client: AppClient
    services: Services

    @property
    def db(self) -> Database:
        return self.services.db


MakeApp = Callable[..., Awaitable[RunningApp]]


@pytest.fixture
async def make_app(
    aiohttp_client: Any, tmp_path: Path, pipeline: PhotoPipeline
) -> AsyncIterator[MakeApp]:
    """Start the real app (real SQLite file, real models) on 127.0.0.1 and return a client.

    `make_app(channels=["web", "telegram"], run_worker=True, intake=True, **env)`; `env` are
    settings (e.g. TELEGRAM_TOKEN=..., TELEGRAM_API_URL=<a fake server's URL>). The app is
    stopped (worker and scheduler first) at the end of the test."""
    opened: list[tuple[AppClient, Services]] = []

    async def make(
        channels: list[str] | None = None,
        run_worker: bool = True,
        intake: bool = True,
        **env: str,
    ) -> RunningApp:
        data_dir = tmp_path / f"app{len(opened)}"
        settings = Settings.from_env(
            {
                "COLORBOT_DATA_DIR": str(data_dir),
                "DATABASE_URL": f"sqlite+aiosqlite:///{data_dir}/colorbot.db",
                "COLORBOT_MODEL_DIR": str(tmp_path / "models"),
                **env,
            }
        )
        services = await open_services(settings, pipeline)
        app = create_app(services, run_worker=run_worker, intake=intake, channel_names=channels)
        client: AppClient = await aiohttp_client(app)
        opened.append((client, services))
        return RunningApp(client, services)

    yield make
    for client, services in reversed(opened):
        await client.close()
        await close_services(services)
