"""The base of the brokers that carry events between processes, through an outbox.

A ``RelayBroker`` (PostgreSQL LISTEN/NOTIFY, Redis pub/sub) publishes through the channel
only, and every process, the publisher included, delivers what it receives, so nothing
is delivered twice. Messages are those of relay_messages.py.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from notifgql.notifications.events import InboxEvent
from notifgql.notifications.local_broker import LocalBroker
from notifgql.notifications.relay_messages import RESYNC_MESSAGE, decode_message, encode_events
from notifgql.notifications.subscriber import DEFAULT_QUEUE_SIZE

log = logging.getLogger(__name__)

DEFAULT_OUTBOX_SIZE = 10_000
MAX_BATCH = 500


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
        retry_max: float = 2.0,
    ) -> None:
        super().__init__(queue_size)
        self.channel = channel
        # Seconds to wait for the channel when starting, and to flush the outbox when stopping.
        self.timeout = timeout
        # Seconds between checks that an idle channel connection is still alive.
        self.health_interval = health_interval
        # Backoff between reconnection attempts: capped low, since every live change feed
        # of the process waits for the channel to come back before it reads again.
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
            events = decode_message(message, self.subscribed_inboxes())
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
