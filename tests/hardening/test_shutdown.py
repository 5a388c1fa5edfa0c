"""Graceful shutdown of `notifgql serve`, run as a real process, and its --workers mode."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import WSCloseCode, WSMsgType

from notifgql.auth import issue_token
from tests.conftest import create_pg_database
from tests.hardening.support import Serve, children_of, eventually

SECRET = "shutdown-test-secret-that-is-long-enough-to-sign"
COUNTS = "{ notificationCounts { total } }"
TIMEOUT = aiohttp.ClientTimeout(total=15)
# Seconds a clean shutdown may take: close frames, the in-flight request, the pool.
EXIT_WITHIN = 15.0


def bearer(recipient: str = "1001", organization: str = "10") -> str:
    token = issue_token(SECRET, subject=recipient, organization_id=organization)
    return f"Bearer {token}"


@pytest.fixture
def serving() -> Iterator[list[Serve]]:
    """Processes a test starts; whatever is still running at the end is killed."""
    started: list[Serve] = []
    yield started
    for process in started:
        process.kill()


def sqlite_env(tmp_path: Path) -> dict[str, str]:
    return {
        "NOTIFGQL_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'notifgql.db'}",
        "NOTIFGQL_JWT_SECRET": SECRET,
    }


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=TIMEOUT) as client:
        yield client


async def create_notification(session: aiohttp.ClientSession, url: str) -> str:
    token = issue_token(SECRET, subject="publisher", organization_id="10", role="service")
    query = 'mutation { createNotification(input: {recipientId: "1001", title: "Hi"}) { id } }'
    async with session.post(
        f"{url}/graphql", json={"query": query}, headers={"Authorization": f"Bearer {token}"}
    ) as response:
        body = await response.json()
    return str(body["data"]["createNotification"]["id"])


async def pool_in_use(session: aiohttp.ClientSession, url: str) -> float:
    """Database connections the server has checked out right now, from /metrics."""
    async with session.get(f"{url}/metrics") as response:
        text = await response.text()
    (line,) = [
        line
        for line in text.splitlines()
        if line.startswith("notifgql_db_pool_connections_in_use ")
    ]
    return float(line.split()[1])


async def subscribe(
    session: aiohttp.ClientSession, url: str, total: int = 0
) -> aiohttp.ClientWebSocketResponse:
    """A graphql-transport-ws subscription to the viewer's counts, past its first event."""
    ws = await session.ws_connect(f"{url}/graphql", protocols=["graphql-transport-ws"])
    await ws.send_json({"type": "connection_init", "payload": {"Authorization": bearer()}})
    assert (await ws.receive_json(timeout=10)) == {"type": "connection_ack"}
    query = "subscription { notificationCounts { total } }"
    await ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": query}})
    first = await ws.receive_json(timeout=10)
    assert first == {
        "id": "1",
        "type": "next",
        "payload": {"data": {"notificationCounts": {"total": total}}},
    }
    return ws


class TestSigterm:
    async def test_closes_websockets_finishes_requests_and_exits_0(
        self, tmp_path: Path, serving: list[Serve], session: aiohttp.ClientSession
    ) -> None:
        env = sqlite_env(tmp_path) | {"NOTIFGQL_DB_TIMEOUT": "60"}
        server = Serve(tmp_path, env)
        serving.append(server)
        await server.ready()
        mine = await create_notification(session, server.url)
        ws = await subscribe(session, server.url, total=1)
        assert await pool_in_use(session, server.url) == 0

        # A request the server is in the middle of: its mutation waits for the SQLite write
        # lock this test holds, which shows as a connection checked out of the pool.
        locker = sqlite3.connect(tmp_path / "notifgql.db", isolation_level=None)
        try:
            locker.execute("BEGIN EXCLUSIVE")
            in_flight = asyncio.create_task(
                session.post(
                    f"{server.url}/graphql",
                    json={"query": f'mutation {{ readNotification(id: "{mine}") {{ read }} }}'},
                    headers={"Authorization": bearer()},
                )
            )

            async def waiting() -> bool:
                return await pool_in_use(session, server.url) == 1

            await eventually(waiting, within=10, what="the mutation waiting for the lock")

            server.terminate()
            closing = await ws.receive(timeout=10)
            assert closing.type is WSMsgType.CLOSE, (closing.type, closing.data)
            assert closing.data == WSCloseCode.GOING_AWAY
            assert closing.extra == "Server shutting down"
            # Shutdown is under way (the close frame comes from on_shutdown); the request
            # has not been answered, and nothing new is accepted.
            assert not in_flight.done()
            with pytest.raises(aiohttp.ClientConnectionError):
                await fresh_connection_counts(server.url)
        finally:
            locker.execute("ROLLBACK")
            locker.close()

        response = await asyncio.wait_for(in_flight, 10)
        assert response.status == 200
        assert await response.json() == {"data": {"readNotification": {"read": True}}}
        response.release()
        assert await server.exited(within=EXIT_WITHIN) == 0
        assert "Traceback" not in server.stderr

    async def test_idle_server_exits_0(self, tmp_path: Path, serving: list[Serve]) -> None:
        server = Serve(tmp_path, sqlite_env(tmp_path))
        serving.append(server)
        await server.ready()
        server.terminate()
        assert await server.exited(within=EXIT_WITHIN) == 0
        assert "Traceback" not in server.stderr

    async def test_sigint_is_graceful_too(
        self, tmp_path: Path, serving: list[Serve], session: aiohttp.ClientSession
    ) -> None:
        server = Serve(tmp_path, sqlite_env(tmp_path))
        serving.append(server)
        await server.ready()
        ws = await subscribe(session, server.url)
        server.process.send_signal(signal.SIGINT)
        closing = await ws.receive(timeout=10)
        assert (closing.type, closing.data) == (WSMsgType.CLOSE, WSCloseCode.GOING_AWAY)
        assert await server.exited(within=EXIT_WITHIN) == 0


class TestWorkers:
    async def test_refused_on_sqlite(self, tmp_path: Path, serving: list[Serve]) -> None:
        server = Serve(tmp_path, sqlite_env(tmp_path), "--workers", "2")
        serving.append(server)
        assert await server.exited(within=60) == 2
        assert "--workers > 1 needs PostgreSQL" in server.stderr
        assert "Traceback" not in server.stderr

    async def test_zero_workers_refused(self, tmp_path: Path, serving: list[Serve]) -> None:
        server = Serve(tmp_path, sqlite_env(tmp_path), "--workers", "0")
        serving.append(server)
        assert await server.exited(within=60) == 2
        assert "--workers must be 1 or more" in server.stderr

    async def test_two_workers_on_postgresql_each_serve_and_all_stop(
        self,
        tmp_path: Path,
        serving: list[Serve],
        session: aiohttp.ClientSession,
        postgres_admin_url: str,
    ) -> None:
        env = {
            "NOTIFGQL_DATABASE_URL": await create_pg_database(postgres_admin_url),
            "NOTIFGQL_JWT_SECRET": SECRET,
        }
        server = Serve(tmp_path, env, "--workers", "2")
        serving.append(server)
        await server.ready()
        workers = children_of(server.process.pid)
        assert len(workers) == 2, workers

        # Freeze all workers but one: whatever answers now is that one, alone.
        for serving_alone in workers:
            frozen = [pid for pid in workers if pid != serving_alone]
            for pid in frozen:
                os.kill(pid, signal.SIGSTOP)
            try:
                for _ in range(3):
                    assert await fresh_connection_counts(server.url) == 0
            finally:
                for pid in frozen:
                    os.kill(pid, signal.SIGCONT)

        # Both together, many requests at once.
        answers = await asyncio.gather(*(fresh_connection_counts(server.url) for _ in range(20)))
        assert answers == [0] * 20

        server.terminate()
        assert await server.exited(within=EXIT_WITHIN) == 0
        assert children_of(server.process.pid) == []
        for pid in workers:
            with pytest.raises(ProcessLookupError):
                os.kill(pid, 0)


async def fresh_connection_counts(url: str) -> Any:
    """The badge total, asked over a connection of its own (so any worker may take it)."""
    connector = aiohttp.TCPConnector(force_close=True)
    async with (
        aiohttp.ClientSession(connector=connector, timeout=TIMEOUT) as session,
        session.post(
            f"{url}/graphql", json={"query": COUNTS}, headers={"Authorization": bearer()}
        ) as response,
    ):
        assert response.status == 200
        body = await response.json()
    return body["data"]["notificationCounts"]["total"]
