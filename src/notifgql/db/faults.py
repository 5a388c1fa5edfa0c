"""Which database failures mean "unavailable, try later" and which mean "run it again".

SQLAlchemy wraps driver errors in its own classes, and not always in the one a reader
would expect: asyncpg's errors that SQLAlchemy has no mapping for (57P03 "cannot connect
now", 57P01 "admin shutdown", 53300 "too many connections", …) all arrive as a plain
``DBAPIError``. So the decision looks through the wrapping to the SQLSTATE the server
sent, and to the driver's own exception classes, rather than at the outer class alone.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import asyncpg
from sqlalchemy import exc

# SQLSTATEs of a server that cannot serve right now (PostgreSQL Appendix A).
_UNAVAILABLE_CLASSES = ("08", "53")  # connection exception, insufficient resources
_UNAVAILABLE_CODES = frozenset(
    {
        "57P01",  # admin_shutdown
        "57P02",  # crash_shutdown
        "57P03",  # cannot_connect_now (starting up, shutting down, in recovery)
        "57P05",  # idle_session_timeout
        "58030",  # io_error
    }
)
# Conflicts between concurrent transactions: running the transaction again succeeds.
RETRYABLE_CODES = frozenset({"40001", "40P01"})  # serialization_failure, deadlock_detected

# Driver exceptions that mean the connection or the server went away.
_DRIVER_UNAVAILABLE: tuple[type[BaseException], ...] = (
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.InsufficientResourcesError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.ConnectionFailureError,
    ConnectionError,
    TimeoutError,
    OSError,
)
# SQLAlchemy's own classes for the same, on either driver.
_WRAPPED_UNAVAILABLE: tuple[type[BaseException], ...] = (
    exc.OperationalError,
    exc.InterfaceError,
    exc.TimeoutError,
)
# SQLite result codes (primary) of a file that cannot be used right now: locked, read-only,
# full, unreadable or gone. sqlite3 already raises most of these as OperationalError;
# naming them keeps the decision independent of that mapping.
_SQLITE_UNAVAILABLE = frozenset(
    {
        "SQLITE_BUSY",
        "SQLITE_LOCKED",
        "SQLITE_READONLY",
        "SQLITE_FULL",
        "SQLITE_IOERR",
        "SQLITE_CANTOPEN",
        "SQLITE_PROTOCOL",
        "SQLITE_NOTADB",
    }
)


def _chain(error: BaseException) -> Iterator[BaseException]:
    """``error``, the driver error SQLAlchemy wrapped, and their causes (bounded)."""
    seen: set[int] = set()
    pending: list[BaseException] = [error]
    while pending and len(seen) < 16:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        orig = getattr(current, "orig", None)
        # Not __context__: an error raised while another was being handled (a bug in an
        # except block) is not the database's doing.
        for nested in (orig, current.__cause__):
            if isinstance(nested, BaseException):
                pending.append(nested)


def sqlstate(error: BaseException) -> str | None:
    """The SQLSTATE the server answered with, wherever in the chain it is."""
    for link in _chain(error):
        code = getattr(link, "sqlstate", None) or getattr(link, "pgcode", None)
        if isinstance(code, str) and len(code) == 5:
            return code
    return None


def is_retryable(error: BaseException) -> bool:
    """A serialization failure or deadlock: the same transaction, run again, may succeed."""
    return sqlstate(error) in RETRYABLE_CODES


def is_unavailable(error: BaseException) -> bool:
    """The database is down, starting, stopping, overloaded or its storage is failing."""
    code = sqlstate(error)
    if code is not None:
        return code in _UNAVAILABLE_CODES or code.startswith(_UNAVAILABLE_CLASSES)
    driver = next((link for link in _chain(error) if isinstance(link, sqlite3.Error)), None)
    if driver is not None:
        # SQLite reports a syntax error or a missing table as OperationalError too: only
        # its result code tells a file that cannot be used now from a bug (a 500).
        return _sqlite_unavailable(driver)
    for link in _chain(error):
        if isinstance(link, _DRIVER_UNAVAILABLE + _WRAPPED_UNAVAILABLE):
            return True
        if isinstance(link, exc.DBAPIError) and link.connection_invalidated:
            return True
    return False


def _sqlite_unavailable(error: sqlite3.Error) -> bool:
    name = getattr(error, "sqlite_errorname", None)
    if not isinstance(name, str):
        return False
    # Extended codes refine a primary one: SQLITE_IOERR_SHORT_READ is an SQLITE_IOERR.
    return "_".join(name.split("_", 2)[:2]) in _SQLITE_UNAVAILABLE
