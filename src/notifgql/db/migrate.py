"""Alembic, driven from code: the package carries its migrations."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, column, inspect, select, table, text

from notifgql.db.engine import Database

MIGRATIONS = Path(__file__).with_name("migrations")
# Any constant works; it only has to be the same for every notifgql process.
PG_MIGRATION_LOCK = 0x6E6F7469
# Alembic's own bookkeeping table (its default name, which env.py keeps).
VERSION_TABLE = "alembic_version"


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

    # Read the version table directly rather than through Alembic's MigrationContext, which
    # logs two INFO lines each time it is set up: /readyz calls this on every probe.
    def _read(connection: Connection) -> str | None:
        if not inspect(connection).has_table(VERSION_TABLE):
            return None
        versions = table(VERSION_TABLE, column("version_num"))
        rows = connection.execute(select(versions.c.version_num)).all()
        if len(rows) > 1:
            raise RuntimeError(f"{VERSION_TABLE} holds {len(rows)} revisions; expected one")
        return str(rows[0][0]) if rows else None

    # A read connection: on SQLite the write engine begins every transaction with BEGIN
    # IMMEDIATE, and a probe queued behind busy writers timed out into a false 503.
    async with database.read() as conn:
        return await conn.run_sync(_read)
