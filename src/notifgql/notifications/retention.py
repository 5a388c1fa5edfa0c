"""Retention: deleting what no one will be shown again, in short batches.

A notification is purged when it has expired (``expires_at`` in the past), was withdrawn, or
was read more than ``retention_days`` ago, counted from ``read_at``: the last time its user
saw it as news. Unread notifications are never purged for age, so nothing a user has not
read is lost. With each notification go its ``notification_activities`` rows, then the
activities that no notification shows any more; idempotency keys go once they stop
answering retries (``IDEMPOTENCY_KEY_HOURS``).

Each batch of at most ``batch_size`` notifications is one short transaction of its own, so
no lock is held for long and writers interleave with a purge. A batch changes inboxes as
any writer does, taking their versions first, but skips an inbox a request holds (its rows
wait for the next round) rather than waiting; each deleted notification leaves a removal
for the change feed, and removals older than the change history (``history_days``) are
forgotten. On PostgreSQL one purge at a time runs per database, under a session advisory
lock; on SQLite each batch is a ``BEGIN IMMEDIATE`` transaction, which writers queue behind.
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
    bindparam,
    case,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from notifgql.db.engine import Database
from notifgql.db.models import activities as a
from notifgql.db.models import idempotency_keys as k
from notifgql.db.models import inboxes as i
from notifgql.db.models import notification_activities as na
from notifgql.db.models import notification_removals as r
from notifgql.db.models import notifications as t
from notifgql.notifications import versions
from notifgql.notifications.events import InboxEvent
from notifgql.notifications.limits import IDEMPOTENCY_KEY_HOURS
from notifgql.notifications.unit_of_work import Publisher, UnitOfWork

log = logging.getLogger(__name__)

# Notifications (or idempotency keys) per transaction.
PURGE_BATCH_SIZE = 1_000
# Any constant works, as long as every notifgql process uses it and no other lock does
# (the migration lock is 0x6E6F7469).
PG_PURGE_LOCK = 0x6E6F7470
# The change feed's history when no setting says otherwise (NOTIFGQL_CHANGE_HISTORY_DAYS).
DEFAULT_HISTORY_DAYS = 30

Transaction = Callable[[], AbstractAsyncContextManager[AsyncConnection]]


@dataclass(frozen=True, slots=True)
class Purged:
    """How many rows one purge deleted, per table."""

    notifications: int = 0
    activities: int = 0
    idempotency_keys: int = 0
    # Removals the change feed no longer reports (older than its history).
    removals: int = 0

    def __add__(self, other: Purged) -> Purged:
        return Purged(
            self.notifications + other.notifications,
            self.activities + other.activities,
            self.idempotency_keys + other.idempotency_keys,
            self.removals + other.removals,
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
    history_days: int = DEFAULT_HISTORY_DAYS,
    now: datetime | None = None,
    batch_size: int = PURGE_BATCH_SIZE,
    publisher: Publisher | None = None,
) -> Purged | None:
    """Delete what retention no longer keeps; None when another purge holds the lock.

    ``publisher`` hears a counts event for every inbox a batch deleted from, after its
    commit: live change feeds then report the removals at once.
    """
    now = now or datetime.now(UTC)
    args = (now, retention_days, batch_size, history_days, publisher)
    if database.dialect != "postgresql":
        return await _purge(database.transaction, *args)
    async with _purge_lock(database) as conn:
        if conn is None:
            return None

        @asynccontextmanager
        async def transaction() -> AsyncIterator[AsyncConnection]:
            async with conn.begin():
                yield conn

        return await _purge(transaction, *args)


async def purge_periodically(
    database: Database,
    *,
    retention_days: int,
    interval: float,
    history_days: int = DEFAULT_HISTORY_DAYS,
    publisher: Publisher | None = None,
) -> None:
    """Purge every ``interval`` seconds, the first time one interval after starting.

    A failed round is logged on one line (the log formatter never writes a traceback or
    SQL parameters) and the next round runs as planned.
    """
    while True:
        await asyncio.sleep(interval)
        try:
            purged = await purge(
                database,
                retention_days=retention_days,
                history_days=history_days,
                publisher=publisher,
            )
        except Exception as error:
            log.warning("purge failed; trying again in %gs", interval, exc_info=error)
            continue
        if purged is None:
            log.debug("another process is purging; skipping this round")
        elif purged != Purged():
            log.info(
                "purged %d notifications, %d activities, %d idempotency keys, %d removals",
                purged.notifications,
                purged.activities,
                purged.idempotency_keys,
                purged.removals,
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
    transaction: Transaction,
    now: datetime,
    retention_days: int,
    batch_size: int,
    history_days: int,
    publisher: Publisher | None,
) -> Purged:
    total = Purged()
    doomed = purgeable(now, retention_days)
    after = 0  # the batches walk the ids upwards: one pass over the table per purge
    while True:
        async with transaction() as conn:
            work = UnitOfWork(conn)
            count, last, orphans = await _notifications_batch(work, doomed, after, batch_size, now)
        total += Purged(notifications=count, activities=orphans)
        if publisher is not None and work.events:
            await publisher.publish(work.events)
        if last is None:
            break
        after = last
    cutoff = now - timedelta(hours=IDEMPOTENCY_KEY_HOURS)
    while True:
        async with transaction() as conn:
            keys = await _expired_keys_batch(conn, cutoff, batch_size)
        total += Purged(idempotency_keys=keys)
        if keys < batch_size:
            break
    while True:
        async with transaction() as conn:
            forgotten = await _history_batch(conn, now - timedelta(days=history_days), batch_size)
        total += Purged(removals=forgotten)
        if forgotten < batch_size:
            return total


def _orphaned(ids: Any) -> ColumnElement[bool]:
    """Activities shown by the notifications ``ids`` and by no other notification."""
    other = na.alias("other")
    return a.c.id.in_(select(na.c.activity_id).where(na.c.notification_id.in_(ids))) & ~exists(
        select(other.c.activity_id).where(
            other.c.activity_id == a.c.id, other.c.notification_id.not_in(ids)
        )
    )


async def _notifications_batch(
    work: UnitOfWork, doomed: ColumnElement[bool], after: int, batch_size: int, now: datetime
) -> tuple[int, int | None, int]:
    """(notifications deleted, the highest id looked at or None at the end, activities
    deleted), for the next ``batch_size`` purgeable notifications after id ``after``.

    The inboxes' versions are taken first, as every writer does; an inbox a request holds
    is skipped (its rows wait for the next purge). Each deleted notification leaves a
    removal in its inbox's change feed: at the version it was removed from view with when
    it was withdrawn or its expiry noted (the feed reported it then), else at this one.
    """
    conn = work.conn
    candidates = (
        await conn.execute(
            select(t.c.id, t.c.organization_id, t.c.recipient_id)
            .where(t.c.id > after, doomed)
            .order_by(t.c.id)
            .limit(batch_size)
        )
    ).all()
    if not candidates:
        return 0, None, 0
    taken = set(await versions.take_free(work, {(str(o), str(r)) for _, o, r in candidates}))
    held = [row.id for row in candidates if (row.organization_id, row.recipient_id) in taken]
    # Looked at again under the inboxes' locks: a publish may have brought one back.
    ids = list(
        (await conn.execute(select(t.c.id).where(t.c.id.in_(held), doomed))).scalars()
        if held
        else []
    )
    last = candidates[-1].id if len(candidates) == batch_size else None
    if not ids:
        return 0, last, 0
    reported = or_(t.c.withdrawn_at.is_not(None), t.c.expired_at.is_not(None))
    removals = select(
        t.c.organization_id,
        t.c.recipient_id,
        case((reported, t.c.change_version), else_=versions.of_row()),
        t.c.id,
        literal(now, type_=r.c.removed_at.type),
    ).where(t.c.id.in_(ids))
    columns = ["organization_id", "recipient_id", "version", "notification_id", "removed_at"]
    await conn.execute(insert(r).from_select(columns, removals))
    # Before the links go: the links are how the batch's activities are found.
    orphaned = (await conn.execute(delete(a).where(_orphaned(ids)))).rowcount
    await conn.execute(delete(na).where(na.c.notification_id.in_(ids)))
    gone = (
        await conn.execute(
            delete(t).where(t.c.id.in_(ids)).returning(t.c.organization_id, t.c.recipient_id)
        )
    ).all()
    for organization_id, recipient_id in sorted({(str(o), str(rc)) for o, rc in gone}):
        work.record(InboxEvent("counts", organization_id, recipient_id))
    return len(gone), last, orphaned


async def _history_batch(conn: AsyncConnection, cutoff: datetime, batch_size: int) -> int:
    """Forget up to ``batch_size`` removals made before ``cutoff``, oldest first; how many.

    Each inbox remembers the newest version it forgot, so that a client whose position
    is older is told to sync from scratch instead of missing a removal.
    """
    old = (
        await conn.execute(
            select(r.c.organization_id, r.c.recipient_id, r.c.version, r.c.notification_id)
            .where(r.c.removed_at < cutoff)
            .order_by(r.c.removed_at)
            .limit(batch_size)
        )
    ).all()
    if not old:
        return 0
    newest: dict[tuple[str, str], int] = {}
    for organization_id, recipient_id, version, _ in old:
        key = (organization_id, recipient_id)
        newest[key] = max(version, newest.get(key, 0))
    forget = (
        update(i)
        .where(
            i.c.organization_id == bindparam("b_org", type_=i.c.organization_id.type),
            i.c.recipient_id == bindparam("b_rcp", type_=i.c.recipient_id.type),
            i.c.forgotten_through < bindparam("b_version", type_=i.c.version.type),
        )
        .values(forgotten_through=bindparam("b_version", type_=i.c.version.type))
    )
    await conn.execute(
        forget,
        [{"b_org": o, "b_rcp": rc, "b_version": v} for (o, rc), v in sorted(newest.items())],
    )
    keys = tuple_(r.c.organization_id, r.c.recipient_id, r.c.version, r.c.notification_id)
    await conn.execute(delete(r).where(keys.in_([tuple(row) for row in old])))
    return len(old)


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
