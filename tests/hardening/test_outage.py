"""Database outages: every door fails fast with 503 / SERVICE_UNAVAILABLE, then heals itself.

The PostgreSQL half runs on a cluster of its own (its own port and data directory), so
stopping it disturbs no other test. The SQLite half holds the file's write lock from
another connection, the embedded database's way of being unavailable.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer

from notifgql import appkeys
from notifgql.app import create_app
from notifgql.settings import Settings
from tests.client import ALICE, Api
from tests.conftest import JWT_SECRET
from tests.hardening.support import assert_no_leak, eventually
from tests.servers import PostgresCluster

DB_TIMEOUT = 2.0
# Each failing request must answer well before a client or load balancer would give up.
FAST = DB_TIMEOUT + 2.0
# How long the app may take to notice that the database is back.
RECOVERY = 30.0

QUERY = "{ notifications(first: 5) { totalCount nodes { id } } notificationCounts { total } }"
MUTATION = 'mutation { readNotification(id: "%d") { id read } }'
JSONAPI = "/api/v2/notifications"


@dataclass
class Answer:
    status: int
    text: str
    elapsed: float
    retry_after: str | None = None


Call = Callable[[Api, int], Awaitable[Answer]]


async def _timed(call: Awaitable[Any]) -> Answer:
    started = time.monotonic()
    response = await call
    text = await response.text()
    elapsed = time.monotonic() - started
    return Answer(response.status, text, elapsed, response.headers.get("Retry-After"))


async def graphql_query(api: Api, _mine: int) -> Answer:
    return await _timed(api.client.post("/graphql", json={"query": QUERY}, headers=api.auth()))


async def graphql_mutation(api: Api, mine: int) -> Answer:
    return await _timed(
        api.client.post("/graphql", json={"query": MUTATION % mine}, headers=api.auth())
    )


async def jsonapi_list(api: Api, _mine: int) -> Answer:
    return await _timed(api.client.get(f"{JSONAPI}?filter[read]=false", headers=api.auth()))


async def jsonapi_show(api: Api, mine: int) -> Answer:
    return await _timed(api.client.get(f"{JSONAPI}/{mine}", headers=api.auth()))


async def jsonapi_dismiss(api: Api, mine: int) -> Answer:
    return await _timed(api.client.patch(f"{JSONAPI}/{mine}/dismiss", headers=api.auth()))


async def crm_list(api: Api, _mine: int) -> Answer:
    return await _timed(api.client.get("/notifications?seen=0", headers=api.auth()))


async def crm_patch(api: Api, mine: int) -> Answer:
    operations = {"operations": [{"op": "add", "path": f"/{mine}/seen", "value": None}]}
    return await _timed(api.client.patch("/notifications", json=operations, headers=api.auth()))


GRAPHQL_CALLS: list[Call] = [graphql_query, graphql_mutation]
REST_CALLS: list[Call] = [jsonapi_list, jsonapi_show, jsonapi_dismiss, crm_list, crm_patch]


def assert_unavailable(call: Call, answer: Answer) -> None:
    """Refused fast, with the contract's code and nothing of the driver's words."""
    name = call.__name__
    assert answer.elapsed < FAST, f"{name} took {answer.elapsed:.2f}s"
    assert answer.status != 500, (name, answer.text)
    assert_no_leak(answer.text)
    # Whatever the status, the client is told when to try again.
    assert answer.retry_after == "2", (name, answer.retry_after)
    if call in GRAPHQL_CALLS:
        assert answer.status in (200, 503), (name, answer.status, answer.text)
        assert '"SERVICE_UNAVAILABLE"' in answer.text, (name, answer.text)
        assert "INTERNAL_SERVER_ERROR" not in answer.text, (name, answer.text)
    else:
        assert answer.status == 503, (name, answer.status, answer.text)
        assert "SERVICE_UNAVAILABLE" in answer.text, (name, answer.text)


def succeeded(call: Call, answer: Answer) -> bool:
    if call in GRAPHQL_CALLS:
        return answer.status == 200 and '"errors"' not in answer.text
    return answer.status in (200, 204)


async def assert_every_door_unavailable(api: Api, mine: int) -> None:
    # Twice each: the first call may find a broken pooled connection, the second none at all.
    for _ in range(2):
        for call in GRAPHQL_CALLS + REST_CALLS:
            assert_unavailable(call, await call(api, mine))
    started = time.monotonic()
    ready = await api.client.get("/readyz")
    assert ready.status == 503
    assert ready.headers["Retry-After"] == "2"
    assert time.monotonic() - started < FAST
    assert (await ready.json())["status"] == "unavailable"
    assert_no_leak(await ready.text())
    assert (await api.client.get("/healthz")).status == 200


async def assert_every_door_recovers(api: Api, mine: int) -> None:
    async def ready() -> bool:
        return (await api.client.get("/readyz")).status == 200

    await eventually(ready, within=RECOVERY, what="/readyz answering 200 again")
    for call in GRAPHQL_CALLS + REST_CALLS:

        async def works(call: Call = call) -> Answer | None:
            answer = await call(api, mine)
            assert answer.status != 500, (call.__name__, answer.text)
            return answer if succeeded(call, answer) else None

        await eventually(works, within=RECOVERY, what=f"{call.__name__} working again")


async def assert_all_open_states(api: Api, mine: int) -> None:
    """Nothing was changed by the calls that failed."""
    row = await api.row(mine)
    assert (row.read_at, row.seen_at, row.dismissed_at) == (None, None, None)


# -- PostgreSQL: the server goes away ----------------------------------------------------


@pytest.fixture
def cluster() -> Iterator[PostgresCluster]:
    """A cluster for this test alone, which it may stop and start at will."""
    try:
        own = PostgresCluster()
        own.init()
        own.start()
    except (RuntimeError, OSError, subprocess.CalledProcessError) as error:
        if os.environ.get("NOTIFGQL_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL is required but could not be started: {error}")
        pytest.skip(f"PostgreSQL unavailable: {error}")
    try:
        yield own
    finally:
        own.remove()


async def checkpoint(cluster: PostgresCluster) -> None:
    """Make every commit so far durable before an immediate (crash-like) stop.

    The throwaway cluster runs with synchronous_commit=off, so a crash may lose the last
    fraction of a second of commits, such as this app's own migration: a real server
    configured for durability would not, and that loss is not what these tests are about.
    """
    conn = await asyncpg.connect(cluster.url().replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute("CHECKPOINT")
    finally:
        await conn.close()


async def serve(settings: Settings) -> AsyncIterator[Api]:
    app = create_app(settings)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        async with TestClient(server) as client:
            yield Api(client, app[appkeys.DATABASE], JWT_SECRET)
    finally:
        await server.close()


@pytest.fixture
async def pg_api(cluster: PostgresCluster) -> AsyncIterator[Api]:
    settings = Settings(database_url=cluster.url(), jwt_secret=JWT_SECRET, db_timeout=DB_TIMEOUT)
    async for api in serve(settings):
        yield api


class TestPostgresGoesAway:
    @pytest.mark.parametrize("mode", ["immediate", "fast"])
    async def test_fails_fast_then_recovers_by_itself(
        self, pg_api: Api, cluster: PostgresCluster, mode: str
    ) -> None:
        mine = await pg_api.add(ALICE)
        for call in GRAPHQL_CALLS[:1] + REST_CALLS[:2]:
            assert succeeded(call, await call(pg_api, mine)), call.__name__

        await checkpoint(cluster)
        cluster.stop(mode)
        await assert_every_door_unavailable(pg_api, mine)

        cluster.start()
        await assert_every_door_recovers(pg_api, mine)
        row = await pg_api.row(mine)
        assert row.read_at is not None  # the mutations that worked after the outage
        assert row.dismissed_at is not None
        assert (await pg_api.client.get("/healthz")).status == 200

    async def test_nothing_changes_while_down(self, pg_api: Api, cluster: PostgresCluster) -> None:
        mine = await pg_api.add(ALICE)
        await checkpoint(cluster)
        cluster.stop("immediate")
        for call in (graphql_mutation, jsonapi_dismiss, crm_patch):
            assert_unavailable(call, await call(pg_api, mine))
        cluster.start()

        async def readable() -> bool:
            return (await pg_api.client.get("/readyz")).status == 200

        await eventually(readable, within=RECOVERY, what="/readyz answering 200 again")
        await assert_all_open_states(pg_api, mine)


class TestCompiledPlansWhileDown:
    """The compiled fast path answers an outage exactly as the general executor does."""

    @pytest.mark.parametrize(
        "query",
        [
            QUERY,
            '{ notification(id: "1") { id title } }',
            '{ notification(id: "1") { id } notificationCounts { unread } }',
        ],
        ids=["non-null-roots", "nullable-root", "mixed-roots"],
    )
    async def test_same_body(self, cluster: PostgresCluster, query: str) -> None:
        bodies = []
        for compiled in (True, False):
            settings = Settings(
                database_url=cluster.url(),
                jwt_secret=JWT_SECRET,
                db_timeout=DB_TIMEOUT,
                compiled_queries=compiled,
            )
            async for api in serve(settings):
                await checkpoint(cluster)
                cluster.stop("immediate")
                response = await api.client.post(
                    "/graphql", json={"query": query}, headers=api.auth()
                )
                cluster.start()
                assert response.status == 200
                body = await response.json()
                # Operators see the outage in the metrics, whichever path answered.
                metrics = await (await api.client.get("/metrics")).text()
                assert (
                    'notifgql_requests_total{door="graphql",operation="anonymous",'
                    'outcome="error"} 1.0'
                ) in metrics
                body["errors"].sort(key=lambda error: error["path"])
                bodies.append(body)
        compiled, general = bodies
        assert compiled["data"] == general["data"]
        for body in bodies:
            assert {error["extensions"]["code"] for error in body["errors"]} == {
                "SERVICE_UNAVAILABLE"
            }
        if general["data"] is not None:
            assert compiled["errors"] == general["errors"]
        else:
            # A failing non-null root stops the executor: which error it reports first is
            # a race between the root fields. The compiled plan reports the first in order.
            (error,) = compiled["errors"]
            assert error["message"] == general["errors"][0]["message"]
            for other in general["errors"]:
                if other["path"] == error["path"]:
                    assert other == error


class TestPostgresHangs:
    """A server that accepts connections and answers nothing (frozen, or behind a dead link).

    Without a bound of its own, a request would wait for the driver's command timeout
    (30 s): on a write, in the pre-ping of a pooled connection; on a read, whose pool does
    not ping, in its statement. Cancelling either makes SQLAlchemy close the connection
    gracefully, which waits on the frozen server once more.
    """

    async def test_every_door_answers_503_within_a_bound(
        self, pg_api: Api, cluster: PostgresCluster
    ) -> None:
        mine = await pg_api.add(ALICE)
        for call in GRAPHQL_CALLS[:1] + REST_CALLS[:2]:
            assert succeeded(call, await call(pg_api, mine)), call.__name__
        frozen = postgres_processes(cluster)
        for pid in frozen:
            os.kill(pid, signal.SIGSTOP)
        try:
            # All at once: each must be refused within the bound, whatever the others do.
            calls = GRAPHQL_CALLS + REST_CALLS
            answers = await asyncio.gather(*(call(pg_api, mine) for call in calls))
            for call, answer in zip(calls, answers, strict=True):
                assert_unavailable(call, answer)
            started = time.monotonic()
            ready = await pg_api.client.get("/readyz")
            elapsed = time.monotonic() - started
            assert ready.status == 503
            assert elapsed < FAST, f"/readyz took {elapsed:.2f}s"
            assert (await pg_api.client.get("/healthz")).status == 200
        finally:
            for pid in frozen:
                os.kill(pid, signal.SIGCONT)
        await assert_every_door_recovers(pg_api, mine)


def postgres_processes(cluster: PostgresCluster) -> list[int]:
    """The postmaster of ``cluster`` and every process it started."""
    postmaster = int((cluster.data / "postmaster.pid").read_text().split()[0])
    found = [postmaster]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == postmaster:
                found.append(int(entry.name))
    return found


# -- SQLite: another process holds the write lock ----------------------------------------


@pytest.fixture
async def sqlite_api(tmp_path: Path) -> AsyncIterator[Api]:
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'notifgql.db'}",
        jwt_secret=JWT_SECRET,
        db_timeout=DB_TIMEOUT,
    )
    async for api in serve(settings):
        yield api


class TestSqliteLocked:
    async def test_writes_fail_fast_reads_go_on_and_it_recovers(
        self, sqlite_api: Api, tmp_path: Path
    ) -> None:
        mine = await sqlite_api.add(ALICE)
        locker = sqlite3.connect(tmp_path / "notifgql.db", isolation_level=None)
        try:
            locker.execute("BEGIN EXCLUSIVE")
            writes = (graphql_mutation, jsonapi_dismiss, crm_patch)
            answers = await asyncio.gather(*(call(sqlite_api, mine) for call in writes))
            for call, answer in zip(writes, answers, strict=True):
                assert_unavailable(call, answer)
                assert answer.elapsed >= DB_TIMEOUT * 0.9  # it waited for the lock first
            # WAL: readers are never blocked by a writer.
            for call in (graphql_query, jsonapi_list, crm_list):
                assert succeeded(call, await call(sqlite_api, mine)), call.__name__
        finally:
            locker.execute("ROLLBACK")
            locker.close()
        await assert_all_open_states(sqlite_api, mine)
        for call in (graphql_mutation, jsonapi_dismiss, crm_patch):
            assert succeeded(call, await call(sqlite_api, mine)), call.__name__
