"""Waking snoozed notifications: they come back unread, at the top of the list.

Every serving process polls for due snoozes. A wake-up is one UPDATE that clears
``snoozed_until`` and returns the rows it changed, inside a unit of work, so that their
events go out after the commit like every other change. Clearing the column is what makes
each wake-up happen once: a second process's UPDATE finds the row no longer due (on
PostgreSQL it skips the rows another holds, ``FOR UPDATE SKIP LOCKED``; SQLite has one
writer at a time). The state is in the database only, so a wake-up that fell due while no
server ran is applied by the first round of the next one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime

from sqlalchemy import bindparam, select, update

from notifgql.db.engine import Database
from notifgql.db.models import notifications as t
from notifgql.notifications.events import InboxEvent
from notifgql.notifications.unit_of_work import Publisher, UnitOfWork, in_transaction

log = logging.getLogger(__name__)

# Seconds between two polls: a wake-up reaches its subscribers within about this long.
WAKE_INTERVAL_SECONDS = 0.25
# Notifications woken per transaction; a fuller backlog is taken batch after batch.
WAKE_BATCH_SIZE = 500


async def wake_due(
    database: Database, publisher: Publisher, *, batch_size: int = WAKE_BATCH_SIZE
) -> int:
    """Wake every notification whose snooze has passed; how many this process woke."""
    # Most rounds find nothing due: asking first, on the read path, keeps them from taking
    # a write transaction (SQLite's one write lock) several times a second.
    async with database.reader() as reader:
        if not await reader.rows(_ANY_DUE, {"now": datetime.now(UTC)}):
            return 0
    woken = 0
    while True:
        batch = await in_transaction(
            database, publisher, lambda work: _wake_batch(work, batch_size)
        )
        woken += batch
        if batch < batch_size:
            return woken


# The partial index on snoozed_until answers this without touching the table.
_ANY_DUE = (
    select(t.c.id)
    .where(t.c.snoozed_until <= bindparam("now", type_=t.c.snoozed_until.type))
    .limit(1)
)


async def _wake_batch(work: UnitOfWork, batch_size: int) -> int:
    now = datetime.now(UTC)
    due = select(t.c.id).where(t.c.snoozed_until <= now).limit(batch_size)
    if work.conn.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    # SET reads the row as it was: the wake-up time becomes its last action and list place.
    statement = (
        update(t)
        .where(t.c.id.in_(due.scalar_subquery()), t.c.snoozed_until <= now)
        .values(
            snoozed_until=None,
            read_at=None,
            last_action_at=t.c.snoozed_until,
            activity_at=t.c.snoozed_until,
        )
        .returning(t.c.organization_id, t.c.recipient_id, t.c.id)
    )
    rows = (await work.conn.execute(statement)).all()
    inboxes = set()
    for organization_id, recipient_id, notification_id in rows:
        work.record(InboxEvent("updated", organization_id, recipient_id, notification_id))
        inboxes.add((organization_id, recipient_id))
    for organization_id, recipient_id in sorted(inboxes):
        work.record(InboxEvent("counts", organization_id, recipient_id))
    return len(rows)


async def wake_periodically(
    database: Database,
    publisher: Publisher,
    stop: asyncio.Event,
    *,
    interval: float = WAKE_INTERVAL_SECONDS,
) -> None:
    """Wake due snoozes now, then every ``interval`` seconds, until ``stop`` is set.

    Stopping lets the round in progress finish: cancelling a statement on aiosqlite leaves
    its worker thread to report the cancelled call on stderr. A failed round is logged
    once per run of failures (the database may be down for a while) and the next round
    runs as planned.
    """
    failing = False
    while not stop.is_set():
        try:
            woken = await wake_due(database, publisher)
        except Exception as error:
            if not failing:
                log.warning("waking snoozed notifications failed; retrying", exc_info=error)
            failing = True
        else:
            if failing:
                log.info("waking snoozed notifications works again")
            failing = False
            if woken:
                log.debug("woke %d snoozed notifications", woken)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)
