"""The clock: what happens to notifications with time rather than by request.

Snoozes fall due and notifications expire while nobody writes. Each serving process looks
four times a second (a read on a partial index when nothing is due) and applies what is
due as ordinary changes: in a transaction, with the inbox's next version, and with events
after the commit. Several processes share the work without doing anything twice (see
``snoozing`` and ``expiry``), and what fell due while no process ran is applied at start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime

from sqlalchemy import exists, literal, or_, select

from notifgql.db.engine import Database
from notifgql.notifications import expiry, snoozing
from notifgql.notifications.expiry import note_expired
from notifgql.notifications.snoozing import wake_due
from notifgql.notifications.unit_of_work import Publisher

log = logging.getLogger(__name__)

# Seconds between two looks: a wake-up reaches its subscribers within about this long.
TICK_SECONDS = 0.25


async def tick(database: Database, publisher: Publisher) -> tuple[int, int]:
    """Apply what is due now: (snoozes woken, expiries noted) by this process."""
    # Nearly every look finds nothing due: one read answers for both, on their indexes.
    async with database.reader() as reader:
        if not await reader.rows(_ANYTHING_DUE, {"now": datetime.now(UTC)}):
            return 0, 0
    return await wake_due(database, publisher), await note_expired(database, publisher)


_ANYTHING_DUE = select(literal(1)).where(or_(exists(snoozing.ANY_DUE), exists(expiry.ANY_DUE)))


async def run(
    database: Database,
    publisher: Publisher,
    stop: asyncio.Event,
    *,
    interval: float = TICK_SECONDS,
) -> None:
    """Tick now, then every ``interval`` seconds, until ``stop`` is set.

    Stopping lets the round in progress finish: cancelling a statement on aiosqlite leaves
    its worker thread to report the cancelled call on stderr. A failed round is logged
    once per run of failures (the database may be down for a while) and the next round
    runs as planned.
    """
    failing = False
    while not stop.is_set():
        try:
            woken, noted = await tick(database, publisher)
        except Exception as error:
            if not failing:
                log.warning("applying due snoozes and expiries failed; retrying", exc_info=error)
            failing = True
        else:
            if failing:
                log.info("applying due snoozes and expiries works again")
            failing = False
            if woken or noted:
                log.debug("woke %d snoozed notifications, noted %d expiries", woken, noted)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)
