"""Fan-out of committed inbox events to the live subscribers of this process.

``LocalBroker`` delivers in process and is the base of every broker; the ones that carry
events between processes derive from ``RelayBroker`` (relay_broker.py). Events carry ids
only; subscribers load what they show under their own viewer.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Container, Sequence

from notifgql.notifications.events import EventKind, Inbox, InboxEvent
from notifgql.notifications.subscriber import ALL_KINDS, DEFAULT_QUEUE_SIZE, Subscriber


class LocalBroker:
    """Delivers events to this process's subscribers; the base of every broker."""

    def __init__(self, queue_size: int = DEFAULT_QUEUE_SIZE) -> None:
        self.queue_size = queue_size
        self._subscribers: defaultdict[Inbox, set[Subscriber]] = defaultdict(set)

    def subscribe(self, inbox: Inbox, kinds: frozenset[EventKind] = ALL_KINDS) -> Subscriber:
        """Start receiving the events of ``inbox`` (only those of ``kinds``)."""
        subscriber = Subscriber(inbox, self.queue_size, kinds)
        self._subscribers[inbox].add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        """Stop delivering to ``subscriber``."""
        group = self._subscribers.get(subscriber.inbox)
        if group is not None:
            group.discard(subscriber)
            if not group:
                del self._subscribers[subscriber.inbox]

    def subscribed_inboxes(self) -> Container[Inbox]:
        """The inboxes someone in this process listens to, for a quick membership test."""
        return self._subscribers.keys()

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
