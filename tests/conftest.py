"""Shared fixtures: databases on SQLite and on a throwaway PostgreSQL cluster."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from db.engine import Database, connect
from db.migrate import upgrade
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
