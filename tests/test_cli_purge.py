"""`notifgql purge` as a real subprocess, on a SQLite file and on PostgreSQL."""

from __future__ import annotations

import asyncio
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import select

from notifgql.db import migrate
from notifgql.db.engine import create_database
from notifgql.db.models import notifications
from notifgql.notifications.retention import PG_PURGE_LOCK
from notifgql.settings import Settings
from tests.client import ALICE, insert_notification
from tests.conftest import create_pg_database
from tests.test_cli import notifgql


async def fill(url: str) -> None:
    """Notifications that a purge now deletes, or keeps, with the default retention or 30 days."""
    now = datetime.now(UTC)
    database = create_database(Settings(database_url=url))
    try:
        for title, fields in (
            ("expired", {"expires_at": now - timedelta(minutes=1)}),
            ("withdrawn", {"withdrawn_at": now}),
            ("read 400 days ago", {"read_at": now - timedelta(days=400)}),
            ("read 40 days ago", {"read_at": now - timedelta(days=40)}),
            ("unread", {}),
        ):
            await insert_notification(database, ALICE, title=title, **fields)
    finally:
        await database.dispose()


async def titles(url: str) -> set[str]:
    database = create_database(Settings(database_url=url))
    try:
        async with database.read() as conn:
            return set((await conn.execute(select(notifications.c.title))).scalars())
    finally:
        await database.dispose()


def purge(url: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return notifgql("purge", cwd=cwd, env={"NOTIFGQL_DATABASE_URL": url} | env)


def check_purges(url: str, cwd: Path) -> None:
    migrated = notifgql("migrate", cwd=cwd, env={"NOTIFGQL_DATABASE_URL": url})
    assert migrated.returncode == 0, migrated.stderr
    asyncio.run(fill(url))

    result = purge(url, cwd)
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == "purged notifications=3 activities=0 idempotency_keys=0 removals=0\n"
    assert asyncio.run(titles(url)) == {"read 40 days ago", "unread"}

    result = purge(url, cwd, NOTIFGQL_RETENTION_DAYS="30")
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == "purged notifications=1 activities=0 idempotency_keys=0 removals=0\n"
    assert asyncio.run(titles(url)) == {"unread"}


def only_line(result: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in result.stderr, result.stderr
    (line,) = result.stderr.splitlines()
    return line


class TestPurge:
    def test_on_a_sqlite_file(self, tmp_path: Path) -> None:
        check_purges(f"sqlite+aiosqlite:///{tmp_path / 'notifgql.db'}", tmp_path)

    def test_on_postgresql(self, postgres_admin_url: str, tmp_path: Path) -> None:
        check_purges(asyncio.run(create_pg_database(postgres_admin_url)), tmp_path)

    def test_says_when_another_process_is_purging(
        self, postgres_admin_url: str, tmp_path: Path
    ) -> None:
        url = asyncio.run(create_pg_database(postgres_admin_url))
        assert notifgql("migrate", cwd=tmp_path, env={"NOTIFGQL_DATABASE_URL": url}).returncode == 0
        asyncio.run(fill(url))

        async def purge_while_locked() -> subprocess.CompletedProcess[str]:
            holder = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
            try:
                assert await holder.fetchval("SELECT pg_try_advisory_lock($1)", PG_PURGE_LOCK)
                return await asyncio.to_thread(purge, url, tmp_path)
            finally:
                await holder.close()

        result = asyncio.run(purge_while_locked())
        assert (result.returncode, result.stdout) == (1, "")
        assert only_line(result) == (
            "notifgql: another process is purging this database; try again later"
        )
        assert len(asyncio.run(titles(url))) == 5

    def test_refuses_a_database_not_migrated(self, tmp_path: Path) -> None:
        database = tmp_path / "notifgql.db"
        database.touch()
        result = purge(f"sqlite+aiosqlite:///{database}", tmp_path)
        assert (result.returncode, result.stdout) == (1, "")
        assert only_line(result).endswith(
            f"is at revision none, not {migrate.head_revision()}: run notifgql migrate first"
        )

    def test_creates_no_database_file(self, tmp_path: Path) -> None:
        database = tmp_path / "notifgql.db"
        result = purge(f"sqlite+aiosqlite:///{database}", tmp_path)
        assert (result.returncode, result.stdout) == (1, "")
        assert only_line(result) == (
            f"notifgql: cannot use the database sqlite+aiosqlite:///{database}: no such file"
        )
        assert not database.exists()

    def test_an_unreachable_database_is_one_line_without_its_password(self, tmp_path: Path) -> None:
        url = "postgresql+asyncpg://notifgql:pw-never-shown@127.0.0.1:1/notifgql"
        result = purge(url, tmp_path, NOTIFGQL_DB_TIMEOUT="2")
        assert (result.returncode, result.stdout) == (1, "")
        line = only_line(result)
        assert line.startswith(
            "notifgql: cannot use the database postgresql+asyncpg://notifgql:***@"
        )
        assert "pw-never-shown" not in line

    @pytest.mark.parametrize(
        ("name", "value", "said"),
        [
            ("RETENTION_DAYS", "0", "Input should be greater than or equal to 1"),
            ("RETENTION_DAYS", "a year", "Input should be a valid integer"),
            ("RETENTION_DAYS", "36501", "Input should be less than or equal to 36500"),
            ("PURGE_INTERVAL_SECONDS", "-1", "Input should be greater than or equal to 0"),
        ],
    )
    def test_a_bad_setting_is_one_line(
        self, tmp_path: Path, name: str, value: str, said: str
    ) -> None:
        database = tmp_path / "notifgql.db"
        result = purge(f"sqlite+aiosqlite:///{database}", tmp_path, **{f"NOTIFGQL_{name}": value})
        assert (result.returncode, result.stdout) == (2, "")
        assert only_line(result).startswith(f"notifgql: invalid setting NOTIFGQL_{name}: {said}")
