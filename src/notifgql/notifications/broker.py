"""Fan-out of committed inbox events to the live subscribers of this process.

Each subscriber owns a bounded queue. A subscriber that falls so far behind that its queue
fills stops receiving individual events and is marked stale instead: its next read says
"resynchronise", and the subscription answers with fresh counts. A stalled client
therefore costs a fixed amount of memory and never slows anyone else down.

``LocalBroker`` delivers in process. ``RelayBroker`` is the base of the brokers that carry
events between processes (PostgreSQL LISTEN/NOTIFY, Redis pub/sub): it publishes through
the channel only, and every process, the publisher included, delivers what it receives,
so nothing is delivered twice. Its wire format is one small JSON document per message::

    {"e": [["created", org, recipient, id], ["counts", org, recipient, null], ...]}
    {"resync": true}      # every process: make all subscribers reload

Events carry ids only; subscribers load what they show under their own viewer.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Iterator, Sequence
from typing import Any, get_args

import orjson

from notifgql.notifications.events import EventKind, InboxEvent

log = logging.getLogger(__name__)

DEFAULT_QUEUE_SIZE = 100
ALL_KINDS: frozenset[EventKind] = frozenset(get_args(EventKind))


class Subscriber:
    """One live subscription's mailbox for one inbox; ``None`` in it means "resynchronise"."""

    def __init__(
        self,
        inbox: tuple[int, int],
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


class LocalBroker:
    """Delivers events to this process's subscribers; the base of every broker."""

    def __init__(self, queue_size: int = DEFAULT_QUEUE_SIZE) -> None:
        self.queue_size = queue_size
        self._subscribers: defaultdict[tuple[int, int], set[Subscriber]] = defaultdict(set)
        self._count_waiters: list[tuple[int, asyncio.Future[None]]] = []

    @property
    def subscriber_count(self) -> int:
        """Live subscriptions in this process."""
        return sum(len(group) for group in self._subscribers.values())

    def subscribe(
        self, inbox: tuple[int, int], kinds: frozenset[EventKind] = ALL_KINDS
    ) -> Subscriber:
        """Start receiving the events of ``inbox`` (only those of ``kinds``)."""
        subscriber = Subscriber(inbox, self.queue_size, kinds)
        self._subscribers[inbox].add(subscriber)
        self._wake_count_waiters()
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        """Stop delivering to ``subscriber``."""
        group = self._subscribers.get(subscriber.inbox)
        if group is not None:
            group.discard(subscriber)
            if not group:
                del self._subscribers[subscriber.inbox]

    async def until_subscribed(self, count: int) -> None:
        """Wait until this process has at least ``count`` live subscriptions.

        Lets a client that has just sent a subscribe frame know when an event published
        now will reach it, without guessing with a sleep.
        """
        if self.subscriber_count >= count:
            return
        waiter = asyncio.get_running_loop().create_future()
        self._count_waiters.append((count, waiter))
        try:
            await waiter
        finally:
            self._count_waiters = [(n, w) for n, w in self._count_waiters if w is not waiter]

    def _wake_count_waiters(self) -> None:
        if not self._count_waiters:
            return
        current = self.subscriber_count
        for wanted, waiter in self._count_waiters:
            if current >= wanted and not waiter.done():
                waiter.set_result(None)

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


# Both PostgreSQL's NOTIFY (8000 bytes at most) and Redis take this comfortably.
MAX_MESSAGE_BYTES = 7000
DEFAULT_OUTBOX_SIZE = 10_000
MAX_BATCH = 500
RESYNC_MESSAGE = orjson.dumps({"resync": True}).decode()


def encode_events(events: Sequence[InboxEvent]) -> Iterator[str]:
    """The wire messages for ``events``, each under MAX_MESSAGE_BYTES."""
    batch: list[bytes] = []
    size = 0
    for event in events:
        item = orjson.dumps(
            [event.kind, event.organization_id, event.recipient_id, event.notification_id]
        )
        if batch and size + len(item) + 16 > MAX_MESSAGE_BYTES:
            yield _message(batch)
            batch, size = [], 0
        batch.append(item)
        size += len(item) + 1
    if batch:
        yield _message(batch)


def _message(items: list[bytes]) -> str:
    return (b'{"e":[' + b",".join(items) + b"]}").decode()


def decode_message(message: str | bytes) -> list[InboxEvent] | None:
    """The events of one wire message; None for a resync; raises ValueError when malformed."""
    try:
        document: Any = orjson.loads(message)
    except orjson.JSONDecodeError as error:
        raise ValueError("not JSON") from error
    if document == {"resync": True}:
        return None
    if not isinstance(document, dict) or not isinstance(document.get("e"), list):
        raise ValueError("not an event message")
    events = []
    for item in document["e"]:
        match item:
            case [str(kind), int(org), int(recipient), int() | None as notification_id] if (
                kind in ALL_KINDS
            ):
                events.append(InboxEvent(kind, org, recipient, notification_id))
            case _:
                raise ValueError(f"malformed event {item!r}")
    return events


class RelayBroker(LocalBroker):
    """A broker whose events travel through a channel shared by every process.

    ``publish`` never waits for the channel: it puts the messages in a bounded outbox,
    and one sender task sends them, in order, batching whatever has piled up. While the
    channel is down the sender retries with backoff, so a mutation never stalls on it. If
    the outbox overflows, the newest messages are dropped and, once the channel is back,
    a resync message makes every process refresh all of its subscribers.
    """

    def __init__(
        self,
        queue_size: int = DEFAULT_QUEUE_SIZE,
        *,
        channel: str = "notifgql",
        timeout: float = 5.0,
        health_interval: float = 30.0,
        outbox_size: int = DEFAULT_OUTBOX_SIZE,
        retry_initial: float = 0.05,
        retry_max: float = 5.0,
    ) -> None:
        super().__init__(queue_size)
        self.channel = channel
        # Seconds to wait for the channel when starting, and to flush the outbox when stopping.
        self.timeout = timeout
        # Seconds between checks that an idle channel connection is still alive.
        self.health_interval = health_interval
        self.retry_initial = retry_initial
        self.retry_max = retry_max
        self._outbox: asyncio.Queue[str] = asyncio.Queue(maxsize=outbox_size)
        self._dropped = 0
        self._sender: asyncio.Task[None] | None = None
        # Set while the process is connected to the channel and receiving from it.
        self.attached = asyncio.Event()
        self._attachment: asyncio.Task[None] | None = None

    async def publish(self, events: Sequence[InboxEvent]) -> None:
        """Queue ``events`` for the channel; delivery happens when they come back from it."""
        for message in encode_events(events):
            try:
                self._outbox.put_nowait(message)
            except asyncio.QueueFull:
                if not self._dropped:
                    log.error("broker outbox full: dropping events until the channel drains")
                self._dropped += 1

    def receive(self, message: str | bytes) -> None:
        """Deliver one message that arrived from the channel."""
        try:
            events = decode_message(message)
        except ValueError as error:
            # Someone else may write to the channel; a bad message must not stop delivery.
            log.warning("ignoring a malformed broker message: %s", error)
            return
        if events is None:
            self.resync_all()
        else:
            self.deliver(events)

    async def send(self, messages: Sequence[str]) -> None:
        """Put ``messages`` on the channel, in order; raise if it is unavailable."""
        raise NotImplementedError

    async def stay_attached(self) -> None:
        """Receive from the channel until cancelled, reconnecting when it drops; ``attached``
        is set while connected, and every (re)connection resyncs the subscribers."""
        raise NotImplementedError

    async def detach(self) -> None:
        """Release the channel's client once ``stay_attached`` has stopped."""

    async def start(self) -> None:
        """Attach to the channel; keeps trying in the background if it is not there yet."""
        name = f"notifgql-{type(self).__name__}"
        self._attachment = asyncio.create_task(self.stay_attached(), name=name)
        self.start_sender()
        try:
            await asyncio.wait_for(self.attached.wait(), self.timeout)
        except TimeoutError:
            log.warning("%s not attached yet; live delivery starts once it is", name)

    async def stop(self) -> None:
        """Send what is queued, then detach from the channel."""
        await self.stop_sender(flush_timeout=self.timeout)
        if self._attachment is not None:
            self._attachment.cancel()
            await asyncio.gather(self._attachment, return_exceptions=True)
            self._attachment = None
        await self.detach()

    def start_sender(self) -> None:
        """Start draining the outbox; subclasses call this from ``start``."""
        self._sender = asyncio.create_task(self._send_forever(), name="notifgql-broker-sender")

    async def stop_sender(self, flush_timeout: float) -> None:
        """Send what is queued (for up to ``flush_timeout`` seconds), then stop the sender."""
        if self._sender is None:
            return
        if not self._sender.done():
            try:
                await asyncio.wait_for(self._outbox.join(), flush_timeout)
            except TimeoutError:
                log.warning("broker stopped with %d messages unsent", self._outbox.qsize())
        self._sender.cancel()
        await asyncio.gather(self._sender, return_exceptions=True)
        self._sender = None

    async def _send_forever(self) -> None:
        while True:
            batch = [await self._outbox.get()]
            while not self._outbox.empty() and len(batch) < MAX_BATCH:
                batch.append(self._outbox.get_nowait())
            taken, dropped = len(batch), self._dropped
            if dropped:
                batch.append(RESYNC_MESSAGE)
            await self._send_until_sent(batch)
            self._dropped -= dropped
            for _ in range(taken):
                self._outbox.task_done()

    async def _send_until_sent(self, batch: Sequence[str]) -> None:
        delay = self.retry_initial
        while True:
            try:
                await self.send(batch)
            except Exception as error:
                log.warning("broker send failed (%s); retrying in %.2fs", error, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.retry_max)
            else:
                return
