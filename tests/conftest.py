"""Fixtures: the app on a real aiohttp server, on SQLite and on PostgreSQL.

PostgreSQL comes from NOTIFGQL_TEST_POSTGRES_URL (an admin URL, postgresql+asyncpg://) or
from a throwaway cluster this suite starts with initdb. With NOTIFGQL_REQUIRE_POSTGRES=1
(as in CI) a missing PostgreSQL fails the run instead of skipping its half.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import text

from notifgql import appkeys
from notifgql.app import create_app
from notifgql.db import migrate
from notifgql.db.engine import Database, create_database
from notifgql.db.models import metadata
from notifgql.settings import Settings
from tests.client import Api
from tests.servers import postgres_cluster

JWT_SECRET = "test-secret-that-is-long-enough-for-production-use"
BACKENDS = ["sqlite", "postgresql"]


def pytest_report_header() -> str:
    source = os.environ.get("NOTIFGQL_TEST_POSTGRES_URL") or "a throwaway initdb cluster"
    return f"notifgql PostgreSQL: {source}"


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    """An admin URL of a PostgreSQL server, started here when none is given."""
    given = os.environ.get("NOTIFGQL_TEST_POSTGRES_URL")
    if given:
        yield given
        return
    try:
        with postgres_cluster() as cluster:
            yield cluster.url()
    except (RuntimeError, OSError) as error:
        if os.environ.get("NOTIFGQL_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL is required but could not be started: {error}")
        pytest.skip(f"PostgreSQL unavailable: {error}")


async def create_pg_database(admin_url: str) -> str:
    """Create a fresh, empty database on the admin URL's server; return its URL."""
    name = f"notifgql_{uuid.uuid4().hex[:12]}"
    dsn = admin_url.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture(scope="session")
async def postgres_url(postgres_admin_url: str) -> str:
    """A migrated database for the whole session; tests empty it with TRUNCATE."""
    url = await create_pg_database(postgres_admin_url)
    database = create_database(Settings(database_url=url))
    try:
        await migrate.upgrade(database)
    finally:
        await database.dispose()
    return url


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


# The bound on getting a database connection (and, on SQLite, a writer's turn) in the
# suite. The suite runs the servers under test, their clients, PostgreSQL and Redis on the
# same small shared machine, where a scheduling hiccup of a few seconds happens; with the
# production default of 5 s such a hiccup turned into a 503 in a test about something else.
# Tests of the bound itself set their own (tests/hardening/test_outage.py and others).
SUITE_DB_TIMEOUT = 20.0


@pytest.fixture
def settings_for(request: pytest.FixtureRequest, backend: str, tmp_path: Path) -> Any:
    """Settings on the test's backend; call with overrides."""

    def build(**overrides: Any) -> Settings:
        if backend == "sqlite":
            url = f"sqlite+aiosqlite:///{tmp_path / 'notifgql.db'}"
        else:
            url = request.getfixturevalue("postgres_url")
        values: dict[str, Any] = {
            "database_url": url,
            "jwt_secret": JWT_SECRET,
            "db_timeout": SUITE_DB_TIMEOUT,
        }
        return Settings(**(values | overrides))

    return build


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """Settings a test module wants changed; override this fixture to change them."""
    return {}


@pytest.fixture
def settings(settings_for: Any, settings_overrides: dict[str, Any]) -> Settings:
    return settings_for(**settings_overrides)  # type: ignore[no-any-return]


async def empty(database: Database) -> None:
    """Remove every notification and activity, so that each test starts from empty inboxes."""
    async with database.transaction() as conn:
        if database.dialect == "postgresql":
            await conn.execute(text(f"TRUNCATE {', '.join(metadata.tables)} RESTART IDENTITY"))
        else:
            for table in metadata.tables:
                await conn.execute(text(f"DELETE FROM {table}"))


@pytest.fixture
async def server(settings: Settings) -> AsyncIterator[TestServer]:
    """The real app on a real loopback port."""
    app = create_app(settings)
    test_server = TestServer(app, host="127.0.0.1")
    await test_server.start_server()
    # Closed even when emptying fails: an app left running keeps its pools and its
    # background tasks (the clock polls four times a second) for the whole session.
    try:
        await empty(app[appkeys.DATABASE])
        yield test_server
    finally:
        await test_server.close()


@pytest.fixture
async def client(server: TestServer) -> AsyncIterator[TestClient[Any, Any]]:
    async with TestClient(server) as test_client:
        yield test_client


@pytest.fixture
def database(server: TestServer) -> Database:
    return server.app[appkeys.DATABASE]


@pytest.fixture
def api(client: TestClient[Any, Any], database: Database) -> Api:
    return Api(client, database, JWT_SECRET)
