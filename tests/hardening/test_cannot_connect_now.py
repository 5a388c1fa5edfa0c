"""A PostgreSQL server that refuses new connections: shutting down (57P03), full (53300).

Unlike a stopped server, these answer the connection attempt with an error of their own,
which SQLAlchemy hands on as a bare DBAPIError: every door must still say 503 /
SERVICE_UNAVAILABLE, and work again once the server takes connections.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from notifgql.settings import Settings
from tests.client import ALICE, Api
from tests.conftest import JWT_SECRET
from tests.hardening.support import eventually
from tests.hardening.test_outage import (
    DB_TIMEOUT,
    GRAPHQL_CALLS,
    RECOVERY,
    REST_CALLS,
    assert_every_door_recovers,
    assert_every_door_unavailable,
    cluster,  # noqa: F401 - a fixture
    pg_api,  # noqa: F401 - a fixture
    serve,
    succeeded,
)
from tests.servers import PostgresCluster


def dsn(server: PostgresCluster, user: str = "postgres", database: str = "postgres") -> str:
    return f"postgresql://{user}@127.0.0.1:{server.port}/{database}"


async def refused_with(url: str, error: type[Exception]) -> bool:
    """Whether a new connection to ``url`` is refused with ``error`` right now."""
    try:
        conn = await asyncpg.connect(url, timeout=DB_TIMEOUT)
    except error:
        return True
    await conn.close()
    return False


async def test_shutting_down_server_is_503_on_every_door(
    pg_api: Api,  # noqa: F811
    cluster: PostgresCluster,  # noqa: F811
) -> None:
    mine = await pg_api.add(ALICE)
    for call in GRAPHQL_CALLS + REST_CALLS:
        assert succeeded(call, await call(pg_api, mine)), call.__name__
    # A smart shutdown waits for every open session to end and meanwhile refuses new
    # ones with 57P03 "the database system is shutting down".
    holder = await asyncpg.connect(dsn(cluster))
    cluster.begin_smart_shutdown()
    try:

        async def shutting_down() -> bool:
            return await refused_with(dsn(cluster), asyncpg.exceptions.CannotConnectNowError)

        await eventually(shutting_down, within=RECOVERY, what="the server answering 57P03")
        # Pooled connections still work during a smart shutdown: make the app connect anew.
        await pg_api.database.dispose()
        await assert_every_door_unavailable(pg_api, mine)
        assert (await pg_api.client.get("/readyz")).status == 503
    finally:
        await holder.close()
        cluster.stop("fast")  # the app's listener keeps a smart shutdown waiting
    cluster.start()
    await assert_every_door_recovers(pg_api, mine)


async def test_server_in_recovery_is_503_on_every_door(
    pg_api: Api,  # noqa: F811
    cluster: PostgresCluster,  # noqa: F811
) -> None:
    mine = await pg_api.add(ALICE)
    for call in GRAPHQL_CALLS + REST_CALLS:
        assert succeeded(call, await call(pg_api, mine)), call.__name__
    # A standby that may not serve reads stays "starting up": every connection attempt
    # is answered 57P03 for as long as it waits for WAL (here, forever).
    cluster.stop("fast")
    signal_file = cluster.data / "standby.signal"
    signal_file.touch()
    config = cluster.data / "postgresql.conf"
    original = config.read_text()
    config.write_text(original + "\nhot_standby = off\n")
    try:
        cluster.start()
        assert await refused_with(dsn(cluster), asyncpg.exceptions.CannotConnectNowError)
        await assert_every_door_unavailable(pg_api, mine)
        assert (await pg_api.client.get("/readyz")).status == 503
    finally:
        cluster.stop("fast")
        signal_file.unlink()
        config.write_text(original)
    cluster.start()
    await assert_every_door_recovers(pg_api, mine)


@pytest.fixture
async def limited_api(cluster: PostgresCluster) -> AsyncIterator[tuple[Api, str]]:  # noqa: F811
    """The app on its own database, as a role allowed a handful of connections."""
    admin = await asyncpg.connect(dsn(cluster))
    try:
        await admin.execute("CREATE ROLE limited LOGIN CONNECTION LIMIT 6")
        await admin.execute("CREATE DATABASE limited_db OWNER limited")
    finally:
        await admin.close()
    url = f"postgresql+asyncpg://limited@127.0.0.1:{cluster.port}/limited_db"
    settings = Settings(
        database_url=url, jwt_secret=JWT_SECRET, db_timeout=DB_TIMEOUT, db_pool_size=2
    )
    async for api in serve(settings):
        yield api, dsn(cluster, "limited", "limited_db")


async def test_too_many_connections_is_503_on_every_door(
    limited_api: tuple[Api, str],
) -> None:
    api, limited = limited_api
    mine = await api.add(ALICE)
    for call in GRAPHQL_CALLS + REST_CALLS:
        assert succeeded(call, await call(api, mine)), call.__name__
    await api.database.dispose()
    hogs: list[asyncpg.Connection] = []
    try:
        # Take every connection the role may have (the app's listener holds one).
        for _ in range(10):
            try:
                hogs.append(await asyncpg.connect(limited))
            except asyncpg.exceptions.TooManyConnectionsError:
                break
        assert await refused_with(limited, asyncpg.exceptions.TooManyConnectionsError)
        await assert_every_door_unavailable(api, mine)
    finally:
        for hog in hogs:
            await hog.close()
    await assert_every_door_recovers(api, mine)
