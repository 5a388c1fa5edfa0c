"""One transaction per state change; its events are published only after it commits."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from notifgql.db.engine import Database
from notifgql.notifications.events import InboxEvent

log = logging.getLogger(__name__)


class Publisher(Protocol):
    """Where committed events go (a broker)."""

    async def publish(self, events: Sequence[InboxEvent]) -> None: ...


@dataclass(slots=True)
class UnitOfWork:
    """The connection of one transaction and the events it will publish."""

    conn: AsyncConnection
    events: list[InboxEvent] = field(default_factory=list)

    def record(self, event: InboxEvent) -> None:
        """Queue ``event`` for after the commit."""
        self.events.append(event)


@asynccontextmanager
async def unit_of_work(database: Database, publisher: Publisher) -> AsyncIterator[UnitOfWork]:
    """Run a block in one transaction, then publish what it recorded.

    A failed publish is logged, not raised: the change is committed and the client must
    hear so; subscribers resynchronise from their next counts event.
    """
    async with database.transaction() as conn:
        work = UnitOfWork(conn)
        yield work
    if work.events:
        try:
            await publisher.publish(work.events)
        except Exception:
            log.exception("publishing %d inbox events failed", len(work.events))
