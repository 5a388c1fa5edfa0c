"""Fan-out of committed inbox events to the live subscribers of this process.

Each subscriber owns a bounded queue. A subscriber that falls so far behind that its queue
fills stops receiving individual events and is marked stale instead: its next read says
"resynchronise", and the subscription answers with fresh counts. A stalled client
therefore costs a fixed amount of memory and never slows anyone else down.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Sequence

from notifgql.notifications.events import InboxEvent

DEFAULT_QUEUE_SIZE = 100


class Subscriber:
    """One live subscription's mailbox for one inbox; ``None`` in it means "resynchronise"."""

    def __init__(self, inbox: tuple[int, int], maxsize: int = DEFAULT_QUEUE_SIZE) -> None:
        self.inbox = inbox
        self._queue: asyncio.Queue[InboxEvent | None] = asyncio.Queue(maxsize=maxsize)

    def offer(self, event: InboxEvent) -> None:
        """Queue ``event``; when the queue is full, replace its backlog with a resync."""
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self.resync()

    def resync(self) -> None:
        """Drop the backlog and ask the subscriber to reload its state."""
        while not self._queue.empty():
            self._queue.get_nowait()
        self._queue.put_nowait(None)

    async def next(self) -> InboxEvent | None:
        """The next event, or None when the subscriber must resynchronise."""
        return await self._queue.get()


class LocalBroker:
    """Delivers events to this process's subscribers; the base of every broker."""

    def __init__(self, queue_size: int = DEFAULT_QUEUE_SIZE) -> None:
        self.queue_size = queue_size
        self._subscribers: defaultdict[tuple[int, int], set[Subscriber]] = defaultdict(set)

    @property
    def subscriber_count(self) -> int:
        """Live subscriptions in this process."""
        return sum(len(group) for group in self._subscribers.values())

    def subscribe(self, inbox: tuple[int, int]) -> Subscriber:
        """Start receiving the events of ``inbox``."""
        subscriber = Subscriber(inbox, self.queue_size)
        self._subscribers[inbox].add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        """Stop delivering to ``subscriber``."""
        group = self._subscribers.get(subscriber.inbox)
        if group is not None:
            group.discard(subscriber)
            if not group:
                del self._subscribers[subscriber.inbox]

    def deliver(self, events: Sequence[InboxEvent]) -> None:
        """Hand ``events`` to the subscribers of their inboxes in this process."""
        for event in events:
            for subscriber in self._subscribers.get(event.inbox, ()):
                subscriber.offer(event)

    def resync_all(self) -> None:
        """Make every subscriber reload, when events may have been lost."""
        for group in self._subscribers.values():
            for subscriber in group:
                subscriber.resync()

    async def publish(self, events: Sequence[InboxEvent]) -> None:
        """Publish committed events; in-process here, across processes in subclasses."""
        self.deliver(events)

    async def start(self) -> None:
        """Connect to whatever carries events between processes."""

    async def stop(self) -> None:
        """Disconnect; subscribers are closed by their connections."""
