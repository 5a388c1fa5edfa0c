"""Helpers of the SQLite storage-fault tests: a served file, its requests, its permissions."""

from __future__ import annotations

import os
import pwd
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from notifgql.auth import issue_token
from tests.conftest import JWT_SECRET

RECIPIENT, ORGANIZATION = "4040", "77"
CREATE = (
    "mutation($d: String) { createNotification(input: "
    '{recipientId: "4040", title: "stored", description: $d}) { id } }'
)
MARK_ALL_READ = "mutation { markAllRead { count } }"
COUNTS = "{ notificationCounts { total unread } }"
USER = issue_token(JWT_SECRET, subject=RECIPIENT, organization_id=ORGANIZATION)
SERVICE = issue_token(JWT_SECRET, subject="publisher", organization_id=ORGANIZATION, role="service")
# The server as an unprivileged user: root ignores file modes. It may still read (and
# search) what root owns, such as the interpreter, but writes only what it owns.
AS_NOBODY = [
    "setpriv",
    "--reuid=nobody",
    "--regid=nogroup",
    "--clear-groups",
    "--inh-caps=+dac_read_search",
    "--ambient-caps=+dac_read_search",
    "--",
]


@dataclass(frozen=True)
class Outcome:
    """One answer: HTTP status, then "ok" or the first error's code, and a created id."""

    status: int
    code: str
    created: int | None = None


async def graphql(
    session: aiohttp.ClientSession, url: str, query: str, token: str, **variables: Any
) -> Outcome:
    """POST one operation; never raises on an error answer."""
    async with session.post(
        f"{url}/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
        timeout=aiohttp.ClientTimeout(total=30),
    ) as response:
        body = await response.json(content_type=None)
    errors = body.get("errors")
    if errors:
        return Outcome(response.status, str(errors[0].get("extensions", {}).get("code")))
    data = body.get("data") or {}
    created = data.get("createNotification")
    return Outcome(response.status, "ok", int(created["id"]) if created else None)


async def create(session: aiohttp.ClientSession, url: str, description: str = "") -> Outcome:
    return await graphql(session, url, CREATE, SERVICE, d=description)


async def readyz(session: aiohttp.ClientSession, url: str) -> int:
    async with session.get(f"{url}/readyz", timeout=aiohttp.ClientTimeout(total=30)) as response:
        return response.status


def assert_refused(outcome: Outcome) -> None:
    """A 503-class refusal: never a 500, never an acknowledgement."""
    assert outcome.status in (200, 503), outcome
    assert outcome.code == "SERVICE_UNAVAILABLE", outcome


def sqlite_env(database: Path, **extra: str) -> dict[str, str]:
    return {
        "NOTIFGQL_DATABASE_URL": f"sqlite+aiosqlite:///{database}",
        "NOTIFGQL_JWT_SECRET": JWT_SECRET,
        "NOTIFGQL_DB_TIMEOUT": "2",
        "NOTIFGQL_LOG_LEVEL": "WARNING",
        **extra,
    }


def stored_ids(database: Path) -> set[int]:
    """Ids in the file, read from outside once the server has stopped."""
    with sqlite3.connect(database) as conn:
        ids = {row[0] for row in conn.execute("SELECT id FROM notifications")}
    conn.close()
    return ids


def unprivileged_prefix(directory: Path) -> list[str]:
    """How to run the server so that file modes bind it; hands it ``directory``."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv is needed to run the server as an unprivileged user")
    nobody = pwd.getpwnam("nobody")
    os.chown(directory, nobody.pw_uid, nobody.pw_gid)
    return AS_NOBODY


def set_read_only(database: Path, read_only: bool) -> None:
    """chmod the database, its -wal and -shm, and their directory."""
    for path in (database, *(database.with_name(database.name + s) for s in ("-wal", "-shm"))):
        if path.exists():
            path.chmod(0o444 if read_only else 0o644)
    database.parent.chmod(0o555 if read_only else 0o755)
