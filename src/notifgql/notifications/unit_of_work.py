"""One transaction per state change; its events are published only after it commits."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection

from notifgql.db.engine import Database
from notifgql.db.faults import sqlstate
from notifgql.errors import TransientConflict
from notifgql.notifications.events import Inbox, InboxEvent

T = TypeVar("T")

# A deadlock or serialization failure is re-run this many times in all, after a short,
# jittered pause (so that the two losers of one collision do not collide again).
ATTEMPTS = 3
BACKOFF_SECONDS = 0.02

log = logging.getLogger(__name__)


class Publisher(Protocol):
    """Where committed events go (a broker)."""

    async def publish(self, events: Sequence[InboxEvent]) -> None: ...


@dataclass(slots=True)
class UnitOfWork:
    """The connection of one transaction and the events it will publish."""

    conn: AsyncConnection
    events: list[InboxEvent] = field(default_factory=list)
    # The inbox versions this transaction took (see ``versions``): one per inbox.
    versions: dict[Inbox, int] = field(default_factory=dict)

    def record(self, event: InboxEvent) -> None:
        """Queue ``event`` for after the commit."""
        self.events.append(event)


async def in_transaction(
    database: Database, publisher: Publisher, body: Callable[[UnitOfWork], Awaitable[T]]
) -> T:
    """Run ``body`` in one transaction, again if it loses to a concurrent one; then publish.

    A deadlock (40P01) or serialization failure (40001) rolls the whole transaction back,
    so ``body`` starts over with a fresh unit and nothing of the failed attempt survives,
    its events included: they are published once, after the commit that succeeded. Once
    the attempts are spent, TransientConflict (503, "try again") reaches the client.
    """
    for attempt in range(1, ATTEMPTS + 1):
        try:
            async with unit_of_work(database, publisher) as work:
                return await body(work)
        except TransientConflict as conflict:
            if attempt == ATTEMPTS:
                log.warning("a transaction lost to concurrent ones %d times; giving up", attempt)
                raise
            log.info(
                "a transaction lost to a concurrent one (SQLSTATE %s); running it again",
                sqlstate(conflict),
            )
            await asyncio.sleep(random.uniform(0.5, 1.5) * BACKOFF_SECONDS * attempt)
    raise AssertionError("unreachable")  # pragma: no cover


async def batch_after_batch(
    database: Database,
    publisher: Publisher,
    batch: Callable[[UnitOfWork], Awaitable[tuple[int, bool]]],
) -> int:
    """Run ``batch`` in transactions of its own until it says no more is due; the sum of
    what each did. For background work taken a bounded batch at a time."""
    done = 0
    while True:
        count, more = await in_transaction(database, publisher, batch)
        done += count
        if not more:
            return done


@asynccontextmanager
async def unit_of_work(database: Database, publisher: Publisher) -> AsyncIterator[UnitOfWork]:
    """Run a block in one transaction, then publish what it recorded.

    It cannot run its block again: callers use :func:`in_transaction`, which can.

    A failed publish is logged, not raised: the change is committed and the client must
    hear so; subscribers resynchronise from their next counts event.
    """
    async with database.transaction() as conn:
        work = UnitOfWork(conn)
        yield work
    if work.events:
        # Shielded: the change is committed, so its events go out even when the request is
        # cancelled now (its client hung up); live subscribers would otherwise miss it.
        publishing = asyncio.ensure_future(_publish(publisher, work.events))
        _publishing.add(publishing)
        publishing.add_done_callback(_publishing.discard)
        await asyncio.shield(publishing)


# Publishes under way, kept referenced until done even if their request was cancelled.
_publishing: set[asyncio.Future[None]] = set()


async def _publish(publisher: Publisher, events: Sequence[InboxEvent]) -> None:
    try:
        await publisher.publish(events)
    except Exception:
        log.exception("publishing %d inbox events failed", len(events))
