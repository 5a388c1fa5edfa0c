"""One live subscription's mailbox: a bounded queue that degrades to "resynchronise".

A subscriber that falls so far behind that its queue fills stops receiving individual
events and is marked stale instead: its next read says "resynchronise", and the
subscription answers with fresh counts. A stalled client therefore costs a fixed amount
of memory and never slows anyone else down.
"""

from __future__ import annotations

import asyncio
from typing import get_args

from notifgql.notifications.events import EventKind, Inbox, InboxEvent

DEFAULT_QUEUE_SIZE = 100
ALL_KINDS: frozenset[EventKind] = frozenset(get_args(EventKind))


class Subscriber:
    """One live subscription's mailbox for one inbox; ``None`` in it means "resynchronise"."""

    def __init__(
        self,
        inbox: Inbox,
        maxsize: int = DEFAULT_QUEUE_SIZE,
        kinds: frozenset[EventKind] = ALL_KINDS,
    ) -> None:
        self.inbox = inbox
        self.kinds = kinds
        self._queue: asyncio.Queue[InboxEvent | None] = asyncio.Queue(maxsize=maxsize)

    def offer(self, event: InboxEvent) -> None:
        """Queue ``event`` if wanted; when the queue is full, replace its backlog with a resync."""
        if event.kind not in self.kinds:
            return
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self.resync()

    def resync(self) -> None:
        """Drop the backlog and ask the subscriber to reload its state."""
        self.skip_pending()
        self._queue.put_nowait(None)

    def skip_pending(self) -> int:
        """Drop whatever is queued, for a subscriber whose next reload covers it all."""
        skipped = 0
        while not self._queue.empty():
            self._queue.get_nowait()
            skipped += 1
        return skipped

    async def next(self) -> InboxEvent | None:
        """The next event, or None when the subscriber must resynchronise."""
        return await self._queue.get()
