"""Fixtures of the database-layer tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from notifgql.db import migrate
from notifgql.db.engine import Database, create_database
from notifgql.settings import Settings
from tests.conftest import empty


@pytest.fixture
async def pg_migrated(postgres_url: str) -> AsyncIterator[Database]:
    """An empty, migrated PostgreSQL database of this test's own."""
    database = create_database(Settings(database_url=postgres_url, db_timeout=10))
    await migrate.upgrade(database)
    await empty(database)
    yield database
    await database.dispose()
