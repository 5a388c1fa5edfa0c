"""Idempotency keys: a retried request gets its first result, and nothing is written twice.

A request claims its key with one ``INSERT … ON CONFLICT`` inside its own transaction. The
unique key makes concurrent retries queue on the first one: once it commits they find its
result; if it rolls back, the next one claims the key. A key older than
``IDEMPOTENCY_KEY_HOURS`` is claimed again as if it were new.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite

from notifgql.db.models import idempotency_keys as k
from notifgql.errors import BadUserInput
from notifgql.notifications.limits import IDEMPOTENCY_KEY_HOURS
from notifgql.notifications.unit_of_work import UnitOfWork


def fingerprint(canonical: Any) -> str:
    """SHA-256 of a request's canonical form (JSON with sorted keys)."""
    encoded = orjson.dumps(canonical, option=orjson.OPT_SORT_KEYS | orjson.OPT_UTC_Z)
    return hashlib.sha256(encoded).hexdigest()


async def claim(
    work: UnitOfWork, organization_id: str, key: str, print_: str, now: datetime
) -> Any | None:
    """None when this request owns ``key`` now; else the first request's stored result.

    BAD_USER_INPUT when the key was first used for a different request.
    """
    dialect = postgresql if work.conn.dialect.name == "postgresql" else sqlite
    values = {
        "organization_id": organization_id,
        "key": key,
        "fingerprint": print_,
        "result": None,
        "created_at": now,
    }
    stale = k.c.created_at < now - timedelta(hours=IDEMPOTENCY_KEY_HOURS)
    statement = (
        dialect.insert(k)
        .values(**values)
        .on_conflict_do_update(
            index_elements=[k.c.organization_id, k.c.key],
            set_={"fingerprint": print_, "result": None, "created_at": now},
            where=stale,
        )
        .returning(k.c.key)
    )
    if (await work.conn.execute(statement)).first() is not None:
        return None
    found = (
        await work.conn.execute(
            select(k.c.fingerprint, k.c.result).where(
                k.c.organization_id == organization_id, k.c.key == key
            )
        )
    ).one()
    if found.fingerprint != print_:
        raise BadUserInput.about(
            "publish.idempotency_key", "was already used for a different request"
        )
    return found.result


async def remember(work: UnitOfWork, organization_id: str, key: str, result: Any) -> None:
    """Store the result of the request that owns ``key``."""
    await work.conn.execute(
        update(k)
        .where(k.c.organization_id == organization_id, k.c.key == key)
        .values(result=result)
    )
