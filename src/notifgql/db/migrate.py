"""Alembic, driven from code: the package carries its migrations."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text

from notifgql.db.engine import Database

MIGRATIONS = Path(__file__).with_name("migrations")
# Any constant works; it only has to be the same for every notifgql process.
PG_MIGRATION_LOCK = 0x6E6F7469


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config pointing at the packaged migrations."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str | None:
    """The newest migration's revision id."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def upgrade(database: Database) -> None:
    """Bring the schema to the newest revision; safe to run from several processes at once."""

    def _run(connection: Connection) -> None:
        if connection.dialect.name == "postgresql":
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_MIGRATION_LOCK}
            )
        command.upgrade(alembic_config(connection), "head")

    async with database.engine.begin() as conn:
        await conn.run_sync(_run)


async def current_revision(database: Database) -> str | None:
    """The revision the database is at, or None before the first migration."""

    def _read(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    async with database.engine.connect() as conn:
        return await conn.run_sync(_read)
