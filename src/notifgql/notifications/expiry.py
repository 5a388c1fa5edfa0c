"""Noting expiries: an expired notification leaves its inbox's change feed as removed.

Expiry writes nothing by itself: every read leaves a notification out from the moment its
``expires_at`` passes. The change feed, though, reports removals in commit order, so each
process notes them: one UPDATE sets ``expired_at`` and gives the row its inbox's next
version, as any change does, with a counts event after the commit. Like the snooze waker it
asks first, on a partial index, whether anything is due, and leaves an inbox a request holds
for the next round.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import bindparam, case, select, tuple_, update

from notifgql.db.engine import Database
from notifgql.db.models import notifications as t
from notifgql.notifications import versions
from notifgql.notifications.events import InboxEvent
from notifgql.notifications.unit_of_work import Publisher, UnitOfWork, batch_after_batch

# Inboxes per transaction; a fuller backlog is taken batch after batch.
NOTE_BATCH_SIZE = 500


async def note_expired(
    database: Database, publisher: Publisher, *, batch_size: int = NOTE_BATCH_SIZE
) -> int:
    """Note every expiry that has passed; how many notifications this process noted."""
    async with database.reader() as reader:
        if not await reader.rows(ANY_DUE, {"now": datetime.now(UTC)}):
            return 0
    return await batch_after_batch(database, publisher, lambda work: _note_batch(work, batch_size))


# Answered by the partial index on the rows that will expire and have not been noted.
_DUE = (t.c.expires_at <= bindparam("now", type_=t.c.expires_at.type), t.c.expired_at.is_(None))
ANY_DUE = select(t.c.id).where(*_DUE).limit(1)


async def _note_batch(work: UnitOfWork, batch_size: int) -> tuple[int, bool]:
    now = {"now": datetime.now(UTC)}
    due = select(t.c.organization_id, t.c.recipient_id).where(*_DUE).distinct().limit(batch_size)
    found = [(str(o), str(r)) for o, r in await work.conn.execute(due, now)]
    taken = await versions.take_free(work, found)
    if not taken:
        return 0, False
    statement = (
        update(t)
        .where(tuple_(t.c.organization_id, t.c.recipient_id).in_(taken), *_DUE)
        .values(
            expired_at=t.c.expires_at,
            # A withdrawn notification left the feed when it was withdrawn: once is enough.
            change_version=case(
                (t.c.withdrawn_at.is_(None), versions.of_row()), else_=t.c.change_version
            ),
        )
        .returning(t.c.organization_id, t.c.recipient_id)
    )
    rows = (await work.conn.execute(statement, now)).all()
    for organization_id, recipient_id in sorted({(str(o), str(r)) for o, r in rows}):
        work.record(InboxEvent("counts", organization_id, recipient_id))
    return len(rows), len(found) == batch_size
