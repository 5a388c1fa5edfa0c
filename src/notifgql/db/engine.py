"""Engines for both dialects, tuned so the rest of the code need not know which one it has."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from notifgql.errors import ServiceUnavailable
from notifgql.settings import Settings

# What a database that is down, restarting or overloaded raises, on either driver.
_UNAVAILABLE = (exc.OperationalError, exc.InterfaceError, exc.TimeoutError, OSError, TimeoutError)


@asynccontextmanager
async def _unavailable_as_503() -> AsyncIterator[None]:
    try:
        yield
    except exc.DBAPIError as error:
        if error.connection_invalidated or isinstance(error, _UNAVAILABLE):
            raise ServiceUnavailable("The database is unavailable; try again shortly") from error
        raise
    except _UNAVAILABLE as error:
        raise ServiceUnavailable("The database is unavailable; try again shortly") from error


@dataclass(frozen=True, slots=True)
class Database:
    """The process's engine; reads run in autocommit, writes in one transaction each."""

    engine: AsyncEngine
    dialect: str

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A connection for reads: no BEGIN/ROLLBACK round trips around one SELECT."""
        async with _unavailable_as_503(), self.engine.connect() as conn:
            yield await conn.execution_options(isolation_level="AUTOCOMMIT")

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """A connection inside a transaction that commits when the block ends cleanly."""
        async with _unavailable_as_503(), self.engine.begin() as conn:
            yield conn

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()


def create_database(settings: Settings) -> Database:
    """Build the engine ``settings.database_url`` names."""
    url = make_url(settings.database_url)
    kwargs: dict[str, Any] = {"pool_pre_ping": False}
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"timeout": settings.db_timeout}
        engine = create_async_engine(url, **kwargs)
        _make_sqlite_transactional(engine, busy_ms=int(settings.db_timeout * 1000))
        return Database(engine=engine, dialect="sqlite")

    kwargs |= {
        "pool_size": settings.db_pool_size,
        "max_overflow": 0,
        "pool_timeout": settings.db_timeout,
        # A dead server must fail requests fast rather than hang them.
        "connect_args": {"timeout": settings.db_timeout, "command_timeout": 30},
        "pool_pre_ping": True,
    }
    return Database(engine=create_async_engine(url, **kwargs), dialect="postgresql")


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
