"""503 or re-run? Real driver errors, wrapped the way SQLAlchemy wraps them."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import exc, text
from sqlalchemy.dialects.postgresql.asyncpg import (
    AsyncAdapt_asyncpg_connection,
    AsyncAdapt_asyncpg_dbapi,
)

from notifgql.db import faults
from notifgql.db.engine import Database, create_database
from notifgql.errors import ServiceUnavailable, TransientConflict
from notifgql.settings import Settings

_DBAPI = AsyncAdapt_asyncpg_dbapi(asyncpg)  # type: ignore[no-untyped-call]


def wrapped(driver_error: Exception) -> exc.DBAPIError:
    """``driver_error`` as SQLAlchemy's asyncpg dialect hands it to the caller."""
    try:
        AsyncAdapt_asyncpg_connection._handle_exception_no_connection(_DBAPI, driver_error)
    except Exception as adapted:
        error = exc.DBAPIError.instance("SELECT 1", {}, adapted, _DBAPI.Error)
        assert isinstance(error, exc.DBAPIError)
        return error
    raise AssertionError("the adapter did not raise")


UNAVAILABLE = [
    asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
    asyncpg.exceptions.CannotConnectNowError("the database system is shutting down"),
    asyncpg.exceptions.AdminShutdownError("terminating connection due to administrator command"),
    asyncpg.exceptions.CrashShutdownError("terminating connection because of crash"),
    asyncpg.exceptions.TooManyConnectionsError("sorry, too many clients already"),
    asyncpg.exceptions.OutOfMemoryError("out of memory"),
    asyncpg.exceptions.DiskFullError("could not extend file: No space left on device"),
    asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed in the middle"),
    asyncpg.exceptions.ConnectionFailureError("connection failure"),
    asyncpg.exceptions.ClientCannotConnectError("cannot connect"),
]
RETRYABLE = [
    asyncpg.exceptions.DeadlockDetectedError("deadlock detected"),
    asyncpg.exceptions.SerializationError("could not serialize access"),
]
NEITHER = [
    asyncpg.exceptions.UniqueViolationError("duplicate key value"),
    asyncpg.exceptions.UndefinedTableError('relation "x" does not exist'),
    asyncpg.exceptions.DivisionByZeroError("division by zero"),
    asyncpg.exceptions.DataError("invalid input"),
]


def names(errors: list[Exception]) -> list[str]:
    return [f"{type(error).__name__}-{error.sqlstate}" for error in errors]  # type: ignore[attr-defined]


@pytest.mark.parametrize("driver_error", UNAVAILABLE, ids=names(UNAVAILABLE))
def test_unavailable_states(driver_error: Exception) -> None:
    error = wrapped(driver_error)
    # SQLAlchemy has no class of its own for most of these: the SQLSTATE decides.
    assert type(error) in (exc.DBAPIError, exc.InterfaceError)
    assert faults.is_unavailable(error)
    assert not faults.is_retryable(error)


@pytest.mark.parametrize("driver_error", RETRYABLE, ids=names(RETRYABLE))
def test_conflicts_are_retried_not_unavailable(driver_error: Exception) -> None:
    error = wrapped(driver_error)
    assert faults.is_retryable(error)
    assert not faults.is_unavailable(error)


@pytest.mark.parametrize("driver_error", NEITHER, ids=names(NEITHER))
def test_faults_of_the_statement_are_neither(driver_error: Exception) -> None:
    error = wrapped(driver_error)
    assert not faults.is_unavailable(error)
    assert not faults.is_retryable(error)


def test_the_raw_driver_error_is_classified_too() -> None:
    # asyncpg's connect() can raise before SQLAlchemy wraps anything.
    assert faults.is_unavailable(asyncpg.exceptions.CannotConnectNowError("starting up"))
    assert faults.is_unavailable(ConnectionRefusedError(111, "refused"))
    assert not faults.is_unavailable(ValueError("a bug"))


@pytest.mark.parametrize(
    ("sql", "unavailable"),
    [
        ("SELECT * FROM missing", False),
        ("SELECT 1/", False),
    ],
)
def test_sqlite_statement_faults_are_not_outages(sql: str, unavailable: bool) -> None:
    with sqlite3.connect(":memory:") as conn, pytest.raises(sqlite3.Error) as raised:
        conn.execute(sql)
    assert faults.is_unavailable(raised.value) is unavailable


def test_sqlite_readonly_and_full_are_outages(tmp_path: Path) -> None:
    path = tmp_path / "ro.db"
    sqlite3.connect(path).close()
    readonly = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    with pytest.raises(sqlite3.OperationalError) as raised:
        readonly.execute("CREATE TABLE t (x)")
    readonly.close()
    assert raised.value.sqlite_errorname.startswith("SQLITE_READONLY")
    assert faults.is_unavailable(raised.value)
    full = sqlite3.connect(":memory:")
    full.execute("CREATE TABLE t (x)")
    full.execute("PRAGMA max_page_count = 2")
    with pytest.raises(sqlite3.OperationalError) as raised:
        full.execute("INSERT INTO t SELECT randomblob(100000)")
    full.close()
    assert raised.value.sqlite_errorname == "SQLITE_FULL"
    assert faults.is_unavailable(raised.value)


# -- through Database.read() / Database.transaction() on a real PostgreSQL ----------------


@pytest.fixture
async def pg_database(postgres_url: str) -> AsyncIterator[Database]:
    database = create_database(Settings(database_url=postgres_url, db_timeout=2))
    yield database
    await database.dispose()


@pytest.mark.parametrize(
    ("sqlstate", "expected"),
    [
        ("57P01", ServiceUnavailable),
        ("57P03", ServiceUnavailable),
        ("53300", ServiceUnavailable),
        ("08006", ServiceUnavailable),
        ("40P01", TransientConflict),
        ("40001", TransientConflict),
    ],
)
async def test_server_raised_states_reach_callers_as_503(
    pg_database: Database, sqlstate: str, expected: type[Exception]
) -> None:
    # The server itself raises the SQLSTATE (RAISE … USING ERRCODE), mid-statement.
    raise_it = text(f"DO $$ BEGIN RAISE EXCEPTION 'simulated' USING ERRCODE = '{sqlstate}'; END $$")
    with pytest.raises(expected) as raised:
        async with pg_database.transaction() as conn:
            await conn.execute(raise_it)
    assert faults.sqlstate(raised.value) == sqlstate
    with pytest.raises(expected):
        async with pg_database.read() as conn:
            await conn.execute(raise_it)
    # And the pool still serves afterwards.
    async with pg_database.read() as conn:
        assert (await conn.execute(text("SELECT 1"))).scalar_one() == 1


async def test_a_statement_fault_stays_a_bug(pg_database: Database) -> None:
    with pytest.raises(exc.DBAPIError) as raised:
        async with pg_database.read() as conn:
            await conn.execute(text("SELECT 1/0"))
    assert not isinstance(raised.value, ServiceUnavailable)


def test_a_sqlite_bug_is_not_unavailable() -> None:
    """SQLite raises OperationalError for a syntax error or a missing table as well: those
    are bugs (a logged 500), not an outage to retry."""
    import sqlite3 as sqlite

    from sqlalchemy import exc as sa_exc

    from notifgql.db import faults

    conn = sqlite.connect(":memory:")
    for statement in ("SELEC 1", "SELECT * FROM nowhere", "SELECT nope FROM sqlite_master"):
        try:
            conn.execute(statement)
        except sqlite.OperationalError as driver_error:
            wrapped = sa_exc.OperationalError(statement, None, driver_error)
            assert not faults.is_unavailable(wrapped), statement
        else:
            raise AssertionError(f"{statement} did not fail")
    conn.close()
