"""The SQLite file deleted or replaced under a running server.

SQLite keeps writing through the descriptors it has: without a check, a create after the
deletion was answered 200, landed in a file that no longer had a name, and was gone at
the next restart. Now writes are refused (503) and /readyz says 503 until a restart.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.hardening.sqlite_support import (
    COUNTS,
    MARK_ALL_READ,
    USER,
    assert_refused,
    create,
    graphql,
    readyz,
    sqlite_env,
    stored_ids,
)
from tests.hardening.support import Serve

EXIT_WITHIN = 30.0


@pytest.fixture
def serving() -> Iterator[list[Serve]]:
    started: list[Serve] = []
    yield started
    for process in started:
        process.kill()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


def delete(database: Path) -> None:
    database.unlink()


def replace(database: Path) -> None:
    # An operator restoring a copy: same name, another file (inode).
    copy = database.with_name("restored.db")
    shutil.copyfile(database, copy)
    copy.replace(database)


@pytest.mark.parametrize("change", [delete, replace])
async def test_writes_refused_readyz_503_nothing_acknowledged_lost(
    tmp_path: Path,
    serving: list[Serve],
    session: aiohttp.ClientSession,
    change: object,
) -> None:
    database = tmp_path / "data" / "notifgql.db"
    env = sqlite_env(database)
    server = Serve(tmp_path, env)
    serving.append(server)
    await server.ready()
    before = [await create(session, server.url) for _ in range(3)]
    assert all(outcome.code == "ok" for outcome in before), before
    assert await readyz(session, server.url) == 200

    assert callable(change)
    change(database)
    after = [await create(session, server.url) for _ in range(3)]
    for outcome in after:
        assert_refused(outcome)
    assert_refused(await graphql(session, server.url, MARK_ALL_READ, USER))
    # Reads are refused too: what the old file shows exists nowhere durable any more,
    # and a fresh connection would find no database at all.
    assert_refused(await graphql(session, server.url, COUNTS, USER))
    assert await readyz(session, server.url) == 503
    assert server.process.poll() is None

    server.terminate()
    assert await server.exited(within=EXIT_WITHIN) == 0
    acknowledged = {outcome.created for outcome in after if outcome.code == "ok"}
    restarted = Serve(tmp_path, env)
    serving.append(restarted)
    await restarted.ready()
    assert await readyz(session, restarted.url) == 200
    again = await create(session, restarted.url)
    assert again.code == "ok", again
    restarted.terminate()
    assert await restarted.exited(within=EXIT_WITHIN) == 0
    assert acknowledged <= stored_ids(database)
