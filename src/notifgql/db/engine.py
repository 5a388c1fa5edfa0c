"""Engines for both dialects, tuned so the rest of the code need not know which one it has."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import event, exc
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from notifgql.db import faults
from notifgql.db.deadline import closed_at
from notifgql.db.driver_pool import DriverPool, asyncpg_dsn
from notifgql.db.reader import DriverReader, EngineReader, Reader
from notifgql.db.sqlite_file import FileId, SqliteFile, StorageUnavailable
from notifgql.errors import NotifGqlError, ServiceUnavailable, TransientConflict
from notifgql.settings import Settings

# Where each SQLite connection notes the identity of the file it opened.
_FILE_ID = "notifgql_file_id"


@asynccontextmanager
async def _classified() -> AsyncIterator[None]:
    """Turn the database's "not now" failures into the contract's 503 errors."""
    try:
        yield
    except NotifGqlError:
        raise
    except StorageUnavailable as error:
        raise ServiceUnavailable(f"{error}; try again later") from error
    except Exception as error:
        if faults.is_retryable(error):
            raise TransientConflict(
                "The change collided with a concurrent one; try again"
            ) from error
        if faults.is_unavailable(error):
            raise ServiceUnavailable("The database is unavailable; try again shortly") from error
        raise


@dataclass(frozen=True, slots=True)
class Database:
    """The process's engines: reads run in autocommit, writes in one transaction each.

    On PostgreSQL, the domain's SELECTs run on a pool of asyncpg's own (``reader()``, see
    reader.py), in autocommit and with no pre-ping: a badge read is one round trip. Other
    reads (``read()``) have an autocommit SQLAlchemy pool. Writes use ``engine``, which
    migrations also use; no pre-ping there either (see ``_begin_within_timeout``).
    """

    engine: AsyncEngine
    read_engine: AsyncEngine
    dialect: str
    # Seconds that getting a connection may take (NOTIFGQL_DB_TIMEOUT).
    timeout: float = 5.0
    # SQLite only: the file, checked before each use (see sqlite_file.py).
    sqlite_file: SqliteFile | None = None
    # PostgreSQL only: the pool the domain's SELECTs run on (see reader.py).
    driver: DriverPool | None = None
    # SQLite only: this process's writers take turns here, first come first served. SQLite's
    # own busy timeout retries at random intervals, so under a burst of concurrent writes
    # one writer could lose every retry and time out while later ones went through.
    writers: asyncio.Lock | None = None

    @asynccontextmanager
    async def connect(self, engine: AsyncEngine | None = None) -> AsyncIterator[AsyncConnection]:
        """A pooled connection, got within ``timeout`` seconds or not at all.

        The pool's own limits do not cover a server that accepts connections and answers
        nothing (frozen, or behind a link that drops packets): the pre-ping of a pooled
        connection would wait for the driver's command timeout, and throwing that
        connection away takes SQLAlchemy another graceful-close timeout. So the checkout
        runs as a task of its own: at the deadline the caller gets its answer (a 503),
        while the abandoned checkout is cancelled and cleans up in the background.
        """
        conn = (engine or self.engine).connect()
        checkout = asyncio.create_task(conn.start())
        try:
            done, _ = await asyncio.wait({checkout}, timeout=self.timeout)
        except BaseException:
            _abandon(checkout)
            raise
        if not done:
            _abandon(checkout)
            raise TimeoutError(f"no database connection within {self.timeout:g}s")
        checkout.result()
        try:
            yield conn
        finally:
            # Shielded: a request cancelled twice must still give its connection back.
            await asyncio.shield(conn.close())

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A connection for reads: no BEGIN/ROLLBACK round trips around one SELECT."""
        if self.read_engine is self.engine:
            async with _classified(), self.connect(self.read_engine) as conn:
                await self._check_file(conn, writing=False)
                # SQLite's single pool: this connection alone switches to autocommit. (An
                # engine-level AUTOCOMMIT option over the same pool leaked connections.)
                yield await conn.execution_options(isolation_level="AUTOCOMMIT")
            return
        async with _classified(), self._bounded_read() as conn:
            yield conn

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[Reader]:
        """A reader for the domain's SELECTs: on the driver itself where there is one."""
        if self.driver is None:
            async with self.read() as conn:
                yield EngineReader(conn)
            return
        async with _classified(), self.driver.connection() as conn:
            yield DriverReader(conn, self.read_engine.dialect)

    @asynccontextmanager
    async def _bounded_read(self) -> AsyncIterator[AsyncConnection]:
        """A connection of PostgreSQL's SQLAlchemy read pool, the whole read within ``timeout``.

        Its pool checks a connection for free on checkout (see ``create_database``) instead of
        pinging it, so a server that accepts and then answers nothing is noticed only by the
        statements: see ``deadline.closed_at``.
        """
        deadline = asyncio.get_running_loop().time() + self.timeout
        conn = self.read_engine.connect()
        # Checking out is bounded on its own: pool_timeout, and the driver's connect timeout.
        await conn.start()
        driver = (await conn.get_raw_connection()).driver_connection
        assert driver is not None  # a checked-out connection has its driver's
        try:
            with closed_at(deadline, driver.terminate, self.timeout):
                yield conn
        finally:
            # Shielded: a request cancelled just now must still give its connection back.
            await asyncio.shield(conn.close())

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """A connection inside a transaction that commits when the block ends cleanly."""
        async with _classified(), self._turn(), self.connect() as conn:
            await self._check_file(conn, writing=True)
            async with conn.begin():
                await self._begin_within_timeout(conn)
                yield conn
                # Again just before COMMIT: the file may have gone while the block ran.
                await self._check_file(conn, writing=True)

    @asynccontextmanager
    async def _turn(self) -> AsyncIterator[None]:
        """This writer's turn among the process's SQLite writers, within ``timeout``."""
        if self.writers is None:
            yield
            return
        try:
            await asyncio.wait_for(self.writers.acquire(), self.timeout)
        except TimeoutError:
            raise ServiceUnavailable("The database is busy; try again shortly") from None
        try:
            yield
        finally:
            self.writers.release()

    async def _begin_within_timeout(self, conn: AsyncConnection) -> None:
        """On PostgreSQL, send BEGIN now and give up unless the server answers in ``timeout``.

        This is what a pre-ping proved (a server that answers), for the one round trip the
        write needs anyway rather than the ping's three. Later statements may take as long
        as they need (a bulk mark, a publish to thousands); the command timeout bounds them.
        SQLAlchemy's asyncpg adapter would otherwise send BEGIN lazily with the first
        statement, where no bound can tell a dead server from a long UPDATE.
        """
        if self.driver is None:
            return
        adapted = (await conn.get_raw_connection()).dbapi_connection
        if adapted is None or adapted._transaction is not None:
            return
        deadline = asyncio.get_running_loop().time() + self.timeout
        with closed_at(deadline, adapted._connection.terminate, self.timeout):
            await adapted._start_transaction()

    def check_storage(self) -> None:
        """Raise ServiceUnavailable when the SQLite file is gone, replaced or read-only."""
        if self.sqlite_file is not None:
            self.sqlite_file.check(self.sqlite_file.expected, writing=True)

    async def _check_file(self, conn: AsyncConnection, *, writing: bool) -> None:
        if self.sqlite_file is None:
            return
        opened: FileId | None = conn.info.get(_FILE_ID)
        try:
            self.sqlite_file.check(opened, writing=writing)
        except ServiceUnavailable:
            if self.sqlite_file.problem(opened, writing=False) is not None:
                # Bound to a file that is not the database any more: never pool it again.
                await conn.invalidate()
            raise

    async def dispose(self) -> None:
        """Close every pooled connection."""
        if self.driver is not None:
            await self.driver.dispose()
        await self.read_engine.dispose()
        await self.engine.dispose()

    def connections_in_use(self) -> int:
        """Connections checked out of the pools right now."""
        pools = {
            id(self.engine.pool): self.engine.pool,
            id(self.read_engine.pool): self.read_engine.pool,
        }
        in_driver = 0 if self.driver is None else self.driver.in_use()
        return in_driver + sum(
            int(getattr(pool, "checkedout", lambda: 0)()) for pool in pools.values()
        )


# Checkouts given up on, kept referenced until their cleanup has finished.
_abandoned: set[asyncio.Task[Any]] = set()


def _abandon(checkout: asyncio.Task[AsyncConnection]) -> None:
    """Cancel a checkout nobody waits for; give back the connection should it succeed."""
    _abandoned.add(checkout)

    def finished(task: asyncio.Task[AsyncConnection]) -> None:
        _abandoned.discard(task)
        if task.cancelled() or task.exception() is not None:
            return  # exception() marks the error as seen: no "never retrieved" log
        closing = asyncio.create_task(task.result().close())
        _abandoned.add(closing)
        closing.add_done_callback(_abandoned.discard)

    checkout.add_done_callback(finished)
    checkout.cancel()


def create_database(settings: Settings) -> Database:
    """Build the engine ``settings.database_url`` names."""
    url = make_url(settings.database_url)
    kwargs: dict[str, Any] = {
        "pool_pre_ping": False,
        "json_serializer": _dump_json,
        "json_deserializer": orjson.loads,
    }
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"timeout": settings.db_timeout}
        engine = create_async_engine(url, **kwargs)
        _make_sqlite_transactional(engine, busy_ms=int(settings.db_timeout * 1000))
        sqlite_file = None
        if url.database and url.database != ":memory:":
            sqlite_file = SqliteFile(Path(url.database).absolute())
            _remember_file(engine, sqlite_file)
        return Database(
            engine,
            engine,
            dialect="sqlite",
            timeout=settings.db_timeout,
            sqlite_file=sqlite_file,
            writers=asyncio.Lock(),
        )

    kwargs |= {
        "pool_size": settings.db_pool_size,
        "max_overflow": 0,
        "pool_timeout": settings.db_timeout,
        # A dead server must fail requests fast rather than hang them.
        "connect_args": {"timeout": settings.db_timeout, "command_timeout": 30},
    }
    engine = create_async_engine(url, **kwargs)
    _check_on_checkout(engine)
    reads = create_async_engine(
        url,
        **kwargs,
        isolation_level="AUTOCOMMIT",
        # Autocommit connections hold no transaction to roll back when they are returned.
        pool_reset_on_return=None,
    )
    _check_on_checkout(reads)
    driver = DriverPool(
        asyncpg_dsn(settings.database_url), size=settings.db_pool_size, timeout=settings.db_timeout
    )
    return Database(engine, reads, dialect="postgresql", timeout=settings.db_timeout, driver=driver)


def _check_on_checkout(engine: AsyncEngine) -> None:
    """Replace a pooled connection the server has closed, without a round trip.

    A server that restarts or terminates a backend closes its socket; the driver sees that
    as soon as the event loop runs, so checking its flag catches what a pre-ping would,
    for none of the ping's round trip, which on the badge counts costs as much as the
    query. A server that vanishes without closing is caught by the read's bound.
    """

    @event.listens_for(engine.sync_engine, "checkout")
    def _on_checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        if dbapi_connection.driver_connection.is_closed():
            raise exc.DisconnectionError("the server closed this connection")


def _dump_json(value: Any) -> str:
    return orjson.dumps(value).decode()


def _make_sqlite_transactional(engine: AsyncEngine, *, busy_ms: int) -> None:
    """Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.

    The sqlite3 module defers BEGIN until the first write and never begins around reads,
    which breaks savepoints and read consistency (SQLAlchemy's SQLite dialect docs,
    "Serializable isolation / Savepoints / Transactional DDL"). Writers use BEGIN IMMEDIATE
    so two of them queue on the busy timeout instead of failing with "database is locked"
    when both try to upgrade a read lock.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        if conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
            return
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _remember_file(engine: AsyncEngine, sqlite_file: SqliteFile) -> None:
    """Open connections only read-write, onto the file the process started with.

    Why: a connection opened while the files are read-only does not fail; SQLite falls
    back to a read-only open and opens the wal-index (the ``-shm`` file, memory-mapped
    MAP_SHARED by every connection) read-only too, either mapped PROT_READ or used
    without the shared "DMS" lock by which openers tell that the wal-index is in use.
    That state belongs to the file, not the connection: every later connection of the
    process shares it, and writes kept failing after the files were writable again. A
    mapped ``-shm`` is sized only when mapped, and an opener that sees no DMS lock
    re-initialises it by truncating it; a page mapped past the new end is a SIGBUS
    when touched, which no Python code can catch. So SQLite never gets to open
    read-only here: no connection opens while the files are not writable (503
    instead), one that raced a chmod is closed before any statement maps the ``-shm``,
    and reads go on through the read-write connections already pooled. Opening with
    ``mode=rw`` also keeps SQLite from creating a new, empty database where the file
    was deleted.
    """

    @event.listens_for(engine.sync_engine, "do_connect")
    def _before_open(
        _dialect: Any, _record: Any, cargs: list[Any], cparams: dict[str, Any]
    ) -> None:
        sqlite_file.refuse_to_open()
        if (uri := sqlite_file.open_uri()) is not None:
            cargs[:] = [uri]
            cparams["uri"] = True

    @event.listens_for(engine.sync_engine, "connect", insert=True)
    def _on_open(dbapi_connection: Any, record: Any) -> None:
        # First of the connect listeners: nothing has touched the WAL or -shm yet.
        opened = sqlite_file.opened()
        if sqlite_file.problem(opened, writing=True) is not None:
            dbapi_connection.close()
            sqlite_file.refuse_to_open()
            raise StorageUnavailable("The database file changed while it was opened")
        record.info[_FILE_ID] = opened
