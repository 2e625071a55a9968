"""Migrations: one head, and the migrated schema is exactly what the models declare."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from db.engine import Database
from db.migrate import alembic_config, current_revision, downgrade, head_revision, upgrade
from db.models import Base


def test_there_is_exactly_one_head() -> None:
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    assert len(heads) == 1, f"several migration heads: {heads}; chain your revision"


async def test_the_migrated_schema_matches_the_models(database: Database) -> None:
    def differences(connection: Connection) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))

    async with database.engine.connect() as connection:
        diff = await connection.run_sync(differences)
    assert diff == [], f"models and migrations disagree: {diff}"
    assert await current_revision(database) == head_revision()


async def test_downgrade_to_nothing_and_back(database: Database) -> None:
    await downgrade(database, "base")
    assert await current_revision(database) is None
    await upgrade(database)
    assert await current_revision(database) == head_revision()
