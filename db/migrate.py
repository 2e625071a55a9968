"""Alembic migrations, run in-process: `colorbot db upgrade`, and the start-up check.

What `serve` does on an unmigrated database: with AUTO_MIGRATE (the default for SQLite, i.e.
development and the embedded setup) it upgrades to the latest revision itself; otherwise
(production PostgreSQL, where the Procfile's `release: colorbot db upgrade` migrates) it
refuses to start and says which revision the database is at and which the code needs, so a
service never runs against a half-migrated schema.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

import migrations
from db.engine import Database

log = logging.getLogger(__name__)


class DatabaseNotMigratedError(RuntimeError):
    """The schema is behind (or ahead of) the code and AUTO_MIGRATE is off."""


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(Path(migrations.__file__).parent))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "no migrations found"
    return head


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def current_revision(database: Database) -> str | None:
    async with database.engine.connect() as connection:
        return await connection.run_sync(_current)


async def _run(database: Database, step: Callable[[Config, str], None], revision: str) -> None:
    """Run an Alembic command on one of our connections, in one transaction."""

    def run(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        step(config, revision)

    async with database.engine.begin() as connection:
        await connection.run_sync(run)


async def upgrade(database: Database, revision: str = "head") -> None:
    await _run(database, command.upgrade, revision)
    log.info("database migrated to %s", await current_revision(database))


async def downgrade(database: Database, revision: str) -> None:
    await _run(database, command.downgrade, revision)


async def ensure_migrated(database: Database, *, auto_migrate: bool) -> None:
    current, head = await current_revision(database), head_revision()
    if current == head:
        return
    if auto_migrate:
        log.info("database at revision %s, migrating to %s", current, head)
        await upgrade(database)
        return
    raise DatabaseNotMigratedError(
        f"the database is at revision {current or 'none (empty)'} but this version needs "
        f"{head}: run `colorbot db upgrade` (or set AUTO_MIGRATE=true)"
    )
