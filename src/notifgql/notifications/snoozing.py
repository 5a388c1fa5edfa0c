"""Waking snoozed notifications: they come back unread, at the top of the list.

Every serving process polls for due snoozes. A wake-up is one UPDATE that clears
``snoozed_until`` and returns the rows it changed, inside a unit of work, so that their
events go out after the commit like every other change. Clearing the column is what makes
each wake-up happen once: a second process's UPDATE finds the row no longer due (on
PostgreSQL it skips the inboxes another transaction holds, see ``versions.take_free``;
SQLite has one writer at a time). The state is in the database only, so a wake-up that
fell due while no server ran is applied by the first round of the next one.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import bindparam, select, tuple_, update

from notifgql.db.engine import Database
from notifgql.db.models import notifications as t
from notifgql.notifications import versions
from notifgql.notifications.events import InboxEvent
from notifgql.notifications.unit_of_work import Publisher, UnitOfWork, batch_after_batch

# Notifications woken per transaction; a fuller backlog is taken batch after batch.
WAKE_BATCH_SIZE = 500


async def wake_due(
    database: Database, publisher: Publisher, *, batch_size: int = WAKE_BATCH_SIZE
) -> int:
    """Wake every notification whose snooze has passed; how many this process woke."""
    # Most rounds find nothing due: asking first, on the read path, keeps them from taking
    # a write transaction (SQLite's one write lock) several times a second.
    async with database.reader() as reader:
        if not await reader.rows(ANY_DUE, {"now": datetime.now(UTC)}):
            return 0
    return await batch_after_batch(database, publisher, lambda work: _wake_batch(work, batch_size))


# The partial index on snoozed_until answers this without touching the table.
ANY_DUE = (
    select(t.c.id)
    .where(t.c.snoozed_until <= bindparam("now", type_=t.c.snoozed_until.type))
    .limit(1)
)


async def _wake_batch(work: UnitOfWork, batch_size: int) -> tuple[int, bool]:
    """Wake the due snoozes of up to ``batch_size`` inboxes; (rows woken, more may be due).

    An inbox a request is changing right now is left for the next round rather than
    waited for (see ``versions.take_free``).
    """
    now = datetime.now(UTC)
    due = (
        select(t.c.organization_id, t.c.recipient_id)
        .where(t.c.snoozed_until <= now)
        .distinct()
        .limit(batch_size)
    )
    found = [(str(o), str(r)) for o, r in await work.conn.execute(due)]
    taken = await versions.take_free(work, found)
    if not taken:
        return 0, False
    # SET reads the row as it was: the wake-up time becomes its last action and list place.
    statement = (
        update(t)
        .where(tuple_(t.c.organization_id, t.c.recipient_id).in_(taken), t.c.snoozed_until <= now)
        .values(
            snoozed_until=None,
            read_at=None,
            last_action_at=t.c.snoozed_until,
            activity_at=t.c.snoozed_until,
            change_version=versions.of_row(),
        )
        .returning(t.c.organization_id, t.c.recipient_id, t.c.id)
    )
    rows = (await work.conn.execute(statement)).all()
    for organization_id, recipient_id, notification_id in rows:
        work.record(InboxEvent("updated", organization_id, recipient_id, notification_id))
    for organization_id, recipient_id in taken:
        work.record(InboxEvent("counts", organization_id, recipient_id))
    return len(rows), len(found) == batch_size
