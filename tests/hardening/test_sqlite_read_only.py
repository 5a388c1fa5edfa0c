"""The SQLite files turning read-only under load, as an unprivileged server sees it.

The server runs as ``nobody`` (root ignores file modes) and is kept busy with creates,
bulk marks and reads while the database, its -wal and -shm and their directory are made
read-only and writable again, several times. It must stay alive throughout; writes get
503 while the files are read-only and none of them is acknowledged, reads go on where
SQLite can, and writes work again once the files are writable.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from tests.hardening.sqlite_support import (
    COUNTS,
    MARK_ALL_READ,
    USER,
    Outcome,
    assert_refused,
    create,
    graphql,
    readyz,
    set_read_only,
    sqlite_env,
    stored_ids,
    unprivileged_prefix,
)
from tests.hardening.support import Serve, eventually

CYCLES = 3
WORKERS = 12
# Per worker and cycle: the load ends well before this unless the server stops answering.
MAX_CALLS = 5_000
WITHIN = 30.0


@dataclass(frozen=True)
class Call:
    kind: str
    started: float
    finished: float
    outcome: Outcome


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Path]:
    directory = tmp_path / "data"
    directory.mkdir()
    path = directory / "notifgql.db"
    yield path
    set_read_only(path, False)


async def load(
    session: aiohttp.ClientSession, url: str, worker: int, stop: asyncio.Event
) -> list[Call]:
    """Creates, bulk marks and reads, one after another, until ``stop``."""
    calls: list[Call] = []
    kinds = ("create", "read", "mark", "read")
    for n in range(MAX_CALLS):
        if stop.is_set():
            break
        kind = kinds[(worker + n) % len(kinds)]
        started = time.monotonic()
        if kind == "create":
            outcome = await create(session, url, description="x" * 200)
        elif kind == "mark":
            outcome = await graphql(session, url, MARK_ALL_READ, USER)
        else:
            outcome = await graphql(session, url, COUNTS, USER)
        calls.append(Call(kind, started, time.monotonic(), outcome))
    return calls


async def test_process_survives_writes_503_then_recover(
    tmp_path: Path, database: Path, session: aiohttp.ClientSession
) -> None:
    prefix = unprivileged_prefix(database.parent)
    server = Serve(tmp_path, sqlite_env(database), prefix=prefix)
    try:
        await server.ready()
        acknowledged: set[int] = set()
        for _ in range(CYCLES):
            stop = asyncio.Event()
            workers = [
                asyncio.create_task(load(session, server.url, worker, stop))
                for worker in range(WORKERS)
            ]

            async def writes_work() -> bool:
                return (await create(session, server.url)).code == "ok"

            await eventually(writes_work, within=WITHIN, what="a create succeeding")
            set_read_only(database, True)
            read_only_from = time.monotonic()

            async def writes_refused() -> Outcome | None:
                outcome = await create(session, server.url)
                return outcome if outcome.code != "ok" else None

            assert_refused(await eventually(writes_refused, within=WITHIN, what="a 503"))
            assert await readyz(session, server.url) == 503
            assert server.process.poll() is None
            read_only_until = time.monotonic()
            set_read_only(database, False)
            await eventually(writes_work, within=WITHIN, what="creates working again")
            assert await readyz(session, server.url) == 200
            stop.set()
            calls = [call for task in workers for call in await task]

            assert server.process.poll() is None, server.stderr[-3000:]
            for call in calls:
                assert call.outcome.code in ("ok", "SERVICE_UNAVAILABLE"), call
                if call.kind == "create" and call.outcome.code == "ok":
                    assert call.outcome.created is not None
                    acknowledged.add(call.outcome.created)
                during = read_only_from < call.started and call.finished < read_only_until
                if during and call.kind != "read":
                    assert_refused(call.outcome)
            reads = [c for c in calls if c.kind == "read"]
            assert any(c.outcome.code == "ok" for c in reads), "no read ever answered"
        server.terminate()
        assert await server.exited(within=WITHIN) == 0
    finally:
        set_read_only(database, False)
        server.kill()
    assert acknowledged <= stored_ids(database)
    assert "Traceback" not in server.stderr
