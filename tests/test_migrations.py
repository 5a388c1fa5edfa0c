"""Migrations run on databases that already hold data, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Connection, select, text

from notifgql.db import migrate
from notifgql.db.engine import Database, create_database
from notifgql.db.models import notifications
from notifgql.settings import Settings
from tests.conftest import create_pg_database


@pytest.fixture
async def fresh_database(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Any:
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    else:
        url = await create_pg_database(request.getfixturevalue("postgres_admin_url"))
    database = create_database(Settings(database_url=url))
    yield database
    await database.dispose()


async def upgrade_to(database: Database, revision: str) -> None:
    def run(connection: Connection) -> None:
        command.upgrade(migrate.alembic_config(connection), revision)

    async with database.engine.begin() as conn:
        await conn.run_sync(run)


JANUARY = datetime(2026, 1, 1, tzinfo=UTC)
# Changesets as the first schema stored them (JSON on SQLite, jsonb on PostgreSQL).
OLD_CHANGESETS = ["[]", '{"status": ["open", "done"]}', "5", '"text"', "null", '[{"n": 1.5}]']


async def test_changeset_becomes_text_keeping_every_value(fresh_database: Database) -> None:
    await upgrade_to(fresh_database, "0001")
    is_pg = fresh_database.dialect == "postgresql"
    cast = "CAST(:changeset AS jsonb)" if is_pg else ":changeset"
    at: Any = JANUARY if is_pg else "2026-01-01 00:00:00.000000"
    async with fresh_database.transaction() as conn:
        for n, changeset in enumerate(OLD_CHANGESETS):
            await conn.execute(
                text(
                    "INSERT INTO notifications (organization_id, recipient_id, title, excerpt,"
                    " changeset, created_at, activity_at) VALUES (1, 2, :title, '', "
                    + cast
                    + ", :at, :at)"
                ),
                {"title": f"n{n}", "changeset": changeset, "at": at},
            )

    await migrate.upgrade(fresh_database)
    assert await migrate.current_revision(fresh_database) == migrate.head_revision()

    async with fresh_database.read() as conn:
        rows = (
            await conn.execute(
                select(notifications.c.title, notifications.c.changeset).order_by(
                    notifications.c.id
                )
            )
        ).all()
        kinds = (
            await conn.execute(
                text(
                    "SELECT data_type FROM information_schema.columns WHERE"
                    " table_name = 'notifications' AND column_name = 'changeset'"
                    if is_pg
                    else "SELECT type FROM pragma_table_info('notifications')"
                    " WHERE name = 'changeset'"
                )
            )
        ).scalar_one()
    assert kinds.lower() == "text"
    assert [row.changeset for row in rows] == [
        [],
        {"status": ["open", "done"]},
        5,
        "text",
        None,
        [{"n": 1.5}],
    ]

    # New writes keep what was sent, byte for byte, on the migrated table.
    async with fresh_database.transaction() as conn:
        await conn.execute(
            notifications.insert().values(
                organization_id=1,
                recipient_id=2,
                title="new",
                excerpt="",
                changeset={"z": 1, "a": -0.0},
                created_at=JANUARY,
                activity_at=JANUARY,
            )
        )
    async with fresh_database.read() as conn:
        stored = (
            await conn.execute(text("SELECT changeset FROM notifications WHERE title = 'new'"))
        ).scalar_one()
    assert stored == '{"z":1,"a":-0.0}'
