"""A full disk: writes are refused with 503, nothing is half-written, and it recovers.

The storage is a small tmpfs mounted for the test (root only), so the failures are the
real ENOSPC a deployment meets: SQLITE_FULL for the embedded database, SQLSTATE 53100
for a PostgreSQL tablespace. Growing the mount is the operator freeing space.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import aiohttp
import asyncpg
import pytest
from sqlalchemy import text

from notifgql.settings import Settings
from tests.conftest import JWT_SECRET
from tests.hardening.sqlite_support import (
    COUNTS,
    USER,
    Outcome,
    assert_refused,
    create,
    graphql,
    sqlite_env,
    stored_ids,
)
from tests.hardening.support import Serve, eventually
from tests.hardening.test_outage import cluster, serve  # noqa: F401 - cluster is a fixture
from tests.servers import PostgresCluster

WITHIN = 30.0
# Creates until the disk is full: bounded, and far more than the space allows.
MAX_CREATES = 2_000


def body() -> str:
    """4 KB that compression cannot shrink (PostgreSQL compresses long values)."""
    return secrets.token_hex(2_000)


class Tmpfs:
    """A size-limited tmpfs mounted on a directory of the test's own."""

    def __init__(self, where: Path) -> None:
        self.path = where

    def resize(self, size: str) -> None:
        subprocess.run(
            ["mount", "-o", f"remount,size={size}", str(self.path)],
            check=True,
            capture_output=True,
        )


@pytest.fixture
def mount_tmpfs() -> Iterator[Callable[[Path], Tmpfs]]:
    """Mounts a 1 MiB tmpfs on a given directory; unmounted at the end of the test."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small tmpfs needs root")
    mounted: list[Path] = []

    def mount(where: Path) -> Tmpfs:
        where.mkdir()
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=1m,mode=0755", "tmpfs", str(where)],
            check=False,
            capture_output=True,
        )
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
        mounted.append(where)
        return Tmpfs(where)

    try:
        yield mount
    finally:
        for where in mounted:
            subprocess.run(["umount", "-l", str(where)], check=False, capture_output=True)


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


async def fill(session: aiohttp.ClientSession, url: str) -> tuple[set[int], Outcome]:
    """Create until one is refused; the ids acknowledged, and the refusal."""
    acknowledged: set[int] = set()
    for _ in range(MAX_CREATES):
        outcome = await create(session, url, description=body())
        if outcome.code != "ok":
            return acknowledged, outcome
        assert outcome.created is not None
        acknowledged.add(outcome.created)
    raise AssertionError(f"the disk never filled in {MAX_CREATES} creates")


async def test_sqlite_disk_full(
    tmp_path: Path, mount_tmpfs: Callable[[Path], Tmpfs], session: aiohttp.ClientSession
) -> None:
    tmpfs = mount_tmpfs(tmp_path / "small")
    database = tmpfs.path / "notifgql.db"
    server = Serve(tmp_path, sqlite_env(database))
    try:
        await server.ready()
        acknowledged, refused = await fill(session, server.url)
        assert acknowledged, "nothing fitted at all"
        assert_refused(refused)
        for _ in range(3):
            assert_refused(await create(session, server.url, description=body()))
        counts = await graphql(session, server.url, COUNTS, USER)
        assert counts.code in ("ok", "SERVICE_UNAVAILABLE"), counts
        assert server.process.poll() is None

        tmpfs.resize("8m")

        async def works() -> Outcome | None:
            outcome = await create(session, server.url, description=body())
            return outcome if outcome.code == "ok" else None

        recovered = await eventually(works, within=WITHIN, what="creates working again")
        assert recovered.created is not None
        acknowledged.add(recovered.created)
        server.terminate()
        assert await server.exited(within=WITHIN) == 0
    finally:
        server.kill()
    # Every acknowledged create is there, and no refused one left anything behind.
    assert stored_ids(database) == acknowledged
    assert "Traceback" not in server.stderr


async def test_postgres_tablespace_full(
    cluster: PostgresCluster,  # noqa: F811
    mount_tmpfs: Callable[[Path], Tmpfs],
    session: aiohttp.ClientSession,
) -> None:
    # Inside the cluster's own directory, which the postgres user may enter.
    tmpfs = mount_tmpfs(cluster.dir / "small")
    admin = f"postgresql://postgres@127.0.0.1:{cluster.port}/postgres"
    shutil.chown(tmpfs.path, "postgres", "postgres")
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f"CREATE TABLESPACE small LOCATION '{tmpfs.path}'")
        await conn.execute("CREATE DATABASE full_db")
    finally:
        await conn.close()
    url = f"postgresql+asyncpg://postgres@127.0.0.1:{cluster.port}/full_db"
    settings = Settings(database_url=url, jwt_secret=JWT_SECRET, db_timeout=5)
    async for api in serve(settings):
        conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            await conn.execute("ALTER TABLE notifications SET TABLESPACE small")
            await conn.execute("ALTER INDEX ALL IN TABLESPACE pg_default SET TABLESPACE small")
        finally:
            await conn.close()
        base = str(api.client.make_url("")).rstrip("/")
        acknowledged, refused = await fill(session, base)
        assert acknowledged, "nothing fitted at all"
        assert_refused(refused)
        assert_refused(await create(session, base, description=body()))
        tmpfs.resize("16m")

        async def works(base: str = base) -> Outcome | None:
            outcome = await create(session, base, description=body())
            return outcome if outcome.code == "ok" else None

        recovered = await eventually(works, within=WITHIN, what="creates working again")
        assert recovered.created is not None
        acknowledged.add(recovered.created)
        async with api.database.read() as read:
            ids = set((await read.execute(text("SELECT id FROM notifications"))).scalars())
        assert ids == acknowledged
