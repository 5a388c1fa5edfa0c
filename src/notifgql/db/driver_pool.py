"""PostgreSQL's pool for hot reads, on asyncpg itself (``reader.py`` says why)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from sqlalchemy.engine import make_url

from notifgql.db.deadline import closed_at


def asyncpg_dsn(database_url: str) -> str:
    """The libpq-style DSN asyncpg takes, from our ``postgresql+asyncpg://`` URL."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _keep_session(_conn: asyncpg.Connection) -> None:
    """Skip asyncpg's reset round trip on release: reads run in autocommit and change no
    session state, so there is nothing to reset."""


class DriverPool:
    """Connections for reads, checked out in no round trip and bounded as a whole.

    asyncpg replaces a pooled connection the server has closed when it is acquired, with no
    ping: a closed socket is seen as soon as the event loop runs. A server that accepts and
    then answers nothing is caught by the read's deadline instead.
    """

    def __init__(self, dsn: str, *, size: int, timeout: float) -> None:
        self._dsn = dsn
        self._size = size
        self._timeout = timeout
        self._pool = self._new_pool()
        self._opened = False
        self._opening = asyncio.Lock()

    def _new_pool(self) -> asyncpg.Pool:
        return asyncpg.create_pool(
            self._dsn,
            min_size=0,
            max_size=self._size,
            timeout=self._timeout,  # to connect
            command_timeout=30,
            reset=_keep_session,
        )

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[asyncpg.Connection]:
        """A connection for one read that must be over within the pool's timeout.

        See ``deadline.closed_at``; a read cancelled mid-statement likewise throws its
        connection away rather than wait, on release, for the server to acknowledge the
        cancellation.
        """
        deadline = asyncio.get_running_loop().time() + self._timeout
        if not self._opened:
            await self._open()
        conn: asyncpg.Connection = await self._pool.acquire(timeout=self._timeout)
        try:
            with closed_at(deadline, conn.terminate, self._timeout):
                yield conn
        except BaseException as error:
            if not isinstance(error, Exception):
                conn.terminate()
            raise
        finally:
            await asyncio.shield(self._pool.release(conn))

    def in_use(self) -> int:
        """Connections checked out right now."""
        if not self._opened:
            return 0
        return int(self._pool.get_size() - self._pool.get_idle_size())

    async def dispose(self) -> None:
        """Close every connection, forcibly after the pool's timeout; the next read opens
        new ones, as SQLAlchemy's ``dispose`` does."""
        if not self._opened:
            return
        pool, self._pool, self._opened = self._pool, self._new_pool(), False
        try:
            await asyncio.wait_for(pool.close(), self._timeout)
        except (TimeoutError, OSError, asyncpg.PostgresError):
            pool.terminate()

    async def _open(self) -> None:
        async with self._opening:
            if not self._opened:
                await self._pool  # with min_size=0 this connects nothing yet
                self._opened = True
