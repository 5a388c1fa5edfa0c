"""Retention: deleting what no one will be shown again, in short batches.

A notification is purged when it has expired (``expires_at`` in the past), was withdrawn, or
was read more than ``retention_days`` ago, counted from ``read_at``: the last time its user
saw it as news. Unread notifications are never purged for age, so nothing a user has not
read is lost. With each notification go its ``notification_activities`` rows, then the
activities that no notification shows any more; idempotency keys go once they stop
answering retries (``IDEMPOTENCY_KEY_HOURS``).

Each batch of at most ``batch_size`` notifications is one short transaction of its own, so
no lock is held for long and writers interleave with a purge. On PostgreSQL a batch is one
statement that picks its rows ``FOR UPDATE SKIP LOCKED`` (a purge never waits on a row a
user or a publish holds: that row waits for the next round), and one purge at a time runs
per database, under a session advisory lock. On SQLite each batch is a few statements in
one ``BEGIN IMMEDIATE`` transaction, which writers already queue behind.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    delete,
    exists,
    func,
    or_,
    select,
    tuple_,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from notifgql.db.engine import Database
from notifgql.db.models import activities as a
from notifgql.db.models import idempotency_keys as k
from notifgql.db.models import notification_activities as na
from notifgql.db.models import notifications as t
from notifgql.notifications.limits import IDEMPOTENCY_KEY_HOURS

log = logging.getLogger(__name__)

# Notifications (or idempotency keys) per transaction.
PURGE_BATCH_SIZE = 1_000
# Any constant works, as long as every notifgql process uses it and no other lock does
# (the migration lock is 0x6E6F7469).
PG_PURGE_LOCK = 0x6E6F7470

Transaction = Callable[[], AbstractAsyncContextManager[AsyncConnection]]


@dataclass(frozen=True, slots=True)
class Purged:
    """How many rows one purge deleted, per table."""

    notifications: int = 0
    activities: int = 0
    idempotency_keys: int = 0

    def __add__(self, other: Purged) -> Purged:
        return Purged(
            self.notifications + other.notifications,
            self.activities + other.activities,
            self.idempotency_keys + other.idempotency_keys,
        )


def purgeable(now: datetime, retention_days: int) -> ColumnElement[bool]:
    """The notifications a purge at ``now`` deletes."""
    return or_(
        t.c.expires_at <= now,
        t.c.withdrawn_at.is_not(None),
        t.c.read_at < now - timedelta(days=retention_days),
    )


async def purge(
    database: Database,
    *,
    retention_days: int,
    now: datetime | None = None,
    batch_size: int = PURGE_BATCH_SIZE,
) -> Purged | None:
    """Delete what retention no longer keeps; None when another purge holds the lock."""
    now = now or datetime.now(UTC)
    if database.dialect != "postgresql":
        return await _purge(database.transaction, now, retention_days, batch_size)
    async with _purge_lock(database) as conn:
        if conn is None:
            return None

        @asynccontextmanager
        async def transaction() -> AsyncIterator[AsyncConnection]:
            async with conn.begin():
                yield conn

        return await _purge(transaction, now, retention_days, batch_size)


async def purge_periodically(database: Database, *, retention_days: int, interval: float) -> None:
    """Purge every ``interval`` seconds, the first time one interval after starting.

    A failed round is logged on one line (the log formatter never writes a traceback or
    SQL parameters) and the next round runs as planned.
    """
    while True:
        await asyncio.sleep(interval)
        try:
            purged = await purge(database, retention_days=retention_days)
        except Exception as error:
            log.warning("purge failed; trying again in %gs", interval, exc_info=error)
            continue
        if purged is None:
            log.debug("another process is purging; skipping this round")
        elif purged != Purged():
            log.info(
                "purged %d notifications, %d activities, %d idempotency keys",
                purged.notifications,
                purged.activities,
                purged.idempotency_keys,
            )


@asynccontextmanager
async def _purge_lock(database: Database) -> AsyncIterator[AsyncConnection | None]:
    """A connection holding the purge lock, or None when another session holds it.

    A session lock rather than a transaction one, so that it spans every batch while each
    batch still commits on its own.
    """
    async with database.connect() as conn:
        taken = (await conn.execute(select(func.pg_try_advisory_lock(PG_PURGE_LOCK)))).scalar()
        await conn.commit()
        if not taken:
            yield None
            return
        try:
            yield conn
            await conn.execute(select(func.pg_advisory_unlock(PG_PURGE_LOCK)))
            await conn.commit()
        except BaseException:
            # Rolling back does not release a session lock, and after a failure or a
            # cancellation an unlock may not run: closing the connection always does, so
            # a pooled connection never keeps the lock.
            await asyncio.shield(conn.invalidate())
            raise


async def _purge(
    transaction: Transaction, now: datetime, retention_days: int, batch_size: int
) -> Purged:
    total = Purged()
    doomed = purgeable(now, retention_days)
    after = 0  # the batches walk the ids upwards: one pass over the table per purge
    while True:
        async with transaction() as conn:
            if conn.dialect.name == "postgresql":
                count, last, orphans = await _pg_batch(conn, doomed, after, batch_size)
            else:
                count, last, orphans = await _sqlite_batch(conn, doomed, after, batch_size)
        total += Purged(notifications=count, activities=orphans)
        if count < batch_size or last is None:
            break
        after = last
    cutoff = now - timedelta(hours=IDEMPOTENCY_KEY_HOURS)
    while True:
        async with transaction() as conn:
            keys = await _expired_keys_batch(conn, cutoff, batch_size)
        total += Purged(idempotency_keys=keys)
        if keys < batch_size:
            return total


def _batch(doomed: ColumnElement[bool], after: int, batch_size: int) -> Select[Any]:
    """The next batch's ids, in id order, skipping rows another transaction holds."""
    return (
        select(t.c.id)
        .where(t.c.id > after, doomed)
        .order_by(t.c.id)
        .limit(batch_size)
        .with_for_update(skip_locked=True)
    )


def _orphaned(ids: Any) -> ColumnElement[bool]:
    """Activities shown by the notifications ``ids`` and by no other notification."""
    other = na.alias("other")
    return a.c.id.in_(select(na.c.activity_id).where(na.c.notification_id.in_(ids))) & ~exists(
        select(other.c.activity_id).where(
            other.c.activity_id == a.c.id, other.c.notification_id.not_in(ids)
        )
    )


async def _pg_batch(
    conn: AsyncConnection, doomed: ColumnElement[bool], after: int, batch_size: int
) -> tuple[int, int | None, int]:
    """(notifications deleted, the highest of their ids, activities deleted): one statement.

    Every part of one statement reads the same snapshot: the activities' check still sees
    the links the statement deletes, which is why it looks past this batch's own links
    instead of for none at all.
    """
    batch = _batch(doomed, after, batch_size).cte("batch")
    ids = select(batch.c.id)
    orphans = delete(a).where(_orphaned(ids)).returning(a.c.id).cte("orphans")
    unlinked = delete(na).where(na.c.notification_id.in_(ids)).cte("unlinked")
    gone = delete(t).where(t.c.id.in_(ids)).returning(t.c.id).cte("gone")
    statement = select(
        select(func.count()).select_from(gone).scalar_subquery(),
        select(func.max(gone.c.id)).scalar_subquery(),
        select(func.count()).select_from(orphans).scalar_subquery(),
    ).add_cte(unlinked)
    count, last, orphaned = (await conn.execute(statement)).one()
    return int(count), last, int(orphaned)


async def _sqlite_batch(
    conn: AsyncConnection, doomed: ColumnElement[bool], after: int, batch_size: int
) -> tuple[int, int | None, int]:
    """The same as ``_pg_batch``, as statements inside the batch's write transaction."""
    ids = list((await conn.execute(_batch(doomed, after, batch_size))).scalars())
    if not ids:
        return 0, None, 0
    # Before the links go: the links are how the batch's activities are found.
    orphaned = (await conn.execute(delete(a).where(_orphaned(ids)))).rowcount
    await conn.execute(delete(na).where(na.c.notification_id.in_(ids)))
    count = (await conn.execute(delete(t).where(t.c.id.in_(ids)))).rowcount
    return count, ids[-1], orphaned


async def _expired_keys_batch(conn: AsyncConnection, cutoff: datetime, batch_size: int) -> int:
    """Delete up to ``batch_size`` idempotency keys created before ``cutoff``, oldest first."""
    expired = (
        select(k.c.organization_id, k.c.key)
        .where(k.c.created_at < cutoff)
        .order_by(k.c.created_at)
        .limit(batch_size)
        .with_for_update(skip_locked=True)
    )
    result = await conn.execute(delete(k).where(tuple_(k.c.organization_id, k.c.key).in_(expired)))
    return result.rowcount
