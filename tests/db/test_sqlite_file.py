"""The engine's checks of the SQLite file, at the moment each one matters."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from notifgql.db import migrate
from notifgql.db.engine import Database, create_database
from notifgql.db.models import notifications as t
from notifgql.errors import ServiceUnavailable
from notifgql.settings import Settings
from tests.client import ALICE, insert_notification


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    path = tmp_path / "data" / "notifgql.db"
    db = create_database(Settings(database_url=f"sqlite+aiosqlite:///{path}", db_timeout=2))
    await migrate.upgrade(db)
    yield db
    await db.dispose()


def path_of(database: Database) -> Path:
    assert database.sqlite_file is not None
    return database.sqlite_file.path


async def count(database: Database) -> int:
    async with database.read() as conn:
        return int((await conn.execute(select(func.count()).select_from(t))).scalar_one())


async def test_a_file_deleted_inside_a_transaction_is_not_committed_to(
    database: Database,
) -> None:
    await insert_notification(database, ALICE)
    path = path_of(database)
    kept = path.with_name("kept.db")

    async def write_while_the_file_moves() -> None:
        async with database.transaction() as conn:
            await conn.execute(
                t.insert().values(
                    organization_id="1",
                    recipient_id="2",
                    title="late",
                    excerpt="",
                    changeset=[],
                    created_at=func.now(),
                    activity_at=func.now(),
                )
            )
            # Moved away mid-transaction: the commit check sees no file at the name.
            path.rename(kept)

    with pytest.raises(ServiceUnavailable, match="missing"):
        await write_while_the_file_moves()
    kept.rename(path)
    assert await count(database) == 1  # the refused transaction left nothing


async def test_a_replaced_file_is_refused_for_reads_and_writes(database: Database) -> None:
    await insert_notification(database, ALICE)
    path = path_of(database)
    copy = path.with_name("copy.db")
    shutil.copyfile(path, copy)
    copy.replace(path)
    with pytest.raises(ServiceUnavailable, match="replaced"):
        await count(database)
    with pytest.raises(ServiceUnavailable, match="replaced"):
        await insert_notification(database, ALICE)
    with pytest.raises(ServiceUnavailable, match="replaced"):
        database.check_storage()
    # Connections opened anew find the other file, and are refused as well.
    await database.dispose()
    with pytest.raises(ServiceUnavailable):
        await count(database)


async def test_a_deleted_file_is_not_created_again(database: Database) -> None:
    path = path_of(database)
    await database.dispose()
    for suffix in ("", "-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
    with pytest.raises(ServiceUnavailable):
        await count(database)
    assert not path.exists()
