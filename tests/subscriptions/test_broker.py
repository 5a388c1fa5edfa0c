"""The brokers' own rules, on real broker objects without a server."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import orjson
import pytest

from notifgql.notifications.events import InboxEvent
from notifgql.notifications.local_broker import LocalBroker
from notifgql.notifications.relay_broker import RelayBroker
from notifgql.notifications.relay_messages import (
    MAX_MESSAGE_BYTES,
    RESYNC_MESSAGE,
    decode_message,
    encode_events,
)
from tests.subscriptions.brokers import subscriber_count

INBOX = ("10", "1001")


def created(notification_id: int, inbox: tuple[str, str] = INBOX) -> InboxEvent:
    return InboxEvent("created", *inbox, notification_id)


def queued(subscriber: object) -> list[InboxEvent | None]:
    queue = subscriber._queue  # type: ignore[attr-defined]
    return [queue.get_nowait() for _ in range(queue.qsize())]


class TestSubscriber:
    async def test_full_queue_becomes_one_resync(self) -> None:
        broker = LocalBroker(queue_size=3)
        subscriber = broker.subscribe(INBOX)

        broker.deliver([created(n) for n in range(1, 5)])

        assert queued(subscriber) == [None]

    async def test_events_after_a_resync_queue_behind_it(self) -> None:
        broker = LocalBroker(queue_size=2)
        subscriber = broker.subscribe(INBOX)
        broker.deliver([created(n) for n in range(1, 4)])

        broker.deliver([created(9)])

        assert queued(subscriber) == [None, created(9)]

    async def test_only_wanted_kinds_are_queued(self) -> None:
        broker = LocalBroker()
        subscriber = broker.subscribe(INBOX, frozenset({"counts"}))

        broker.deliver([created(1), InboxEvent("updated", *INBOX, 1), InboxEvent("counts", *INBOX)])

        assert queued(subscriber) == [InboxEvent("counts", *INBOX)]

    async def test_other_inboxes_are_not_queued(self) -> None:
        broker = LocalBroker()
        subscriber = broker.subscribe(INBOX)

        broker.deliver([created(1, ("10", "1002")), created(2, ("20", "1001")), created(3)])

        assert queued(subscriber) == [created(3)]

    async def test_skip_pending_empties_the_queue(self) -> None:
        subscriber = LocalBroker().subscribe(INBOX)
        for n in range(3):
            subscriber.offer(created(n))

        assert subscriber.skip_pending() == 3
        assert queued(subscriber) == []

    async def test_unsubscribed_gets_nothing(self) -> None:
        broker = LocalBroker()
        subscriber = broker.subscribe(INBOX)
        broker.unsubscribe(subscriber)

        broker.deliver([created(1)])
        broker.resync_all()

        assert queued(subscriber) == []
        assert subscriber_count(broker) == 0


class TestWireFormat:
    def test_round_trip(self) -> None:
        events = [
            created(1),
            InboxEvent("updated", "20", "auth0|ünïcødé-7", 3),
            InboxEvent("counts", "10", "1001"),
        ]
        messages = list(encode_events(events))

        decoded = [event for message in messages for event in decode_message(message) or []]

        assert decoded == events

    def test_many_events_split_under_the_notify_limit(self) -> None:
        # The longest ids, in characters of four UTF-8 bytes each.
        widest = "\U0001f680" * 255
        events = [InboxEvent("updated", widest, widest, 2**40 + n) for n in range(1000)]

        messages = list(encode_events(events))

        assert len(messages) > 1
        assert all(len(message.encode()) <= MAX_MESSAGE_BYTES for message in messages)
        assert [e for m in messages for e in decode_message(m) or []] == events

    def test_resync_message(self) -> None:
        assert decode_message(RESYNC_MESSAGE) is None

    def test_only_the_events_of_the_inboxes_asked_for(self) -> None:
        other = ("10", "1002")
        events = [created(1), created(2, other), created(3), created(4, ("20", "1001"))]
        (message,) = encode_events(events)
        assert decode_message(message, {INBOX}) == [created(1), created(3)]
        assert decode_message(message, set()) == []
        assert decode_message(message, {INBOX, other}) == events[:3]

    @pytest.mark.parametrize(
        "message",
        [b'{"e": [["created", ["10"], "1001", 1]]}', b'{"e": [["created", "10", "1001", "1"]]}'],
    )
    def test_an_inbox_asked_for_is_still_checked(self, message: bytes) -> None:
        with pytest.raises(ValueError, match=r"malformed"):
            decode_message(message, {INBOX})

    @pytest.mark.parametrize(
        "message",
        [
            b"not json",
            b"[]",
            b'{"e": 1}',
            b'{"e": [["deleted", 1, 2, 3]]}',
            b'{"e": [["created", "10", 1001, 1]]}',
            b'{"e": [["created", 10, "1001", 1]]}',
            b'{"e": [["created", 10, 1001]]}',
        ],
    )
    def test_malformed_messages_are_refused(self, message: bytes) -> None:
        with pytest.raises(ValueError, match=r"."):
            decode_message(message)


class LoopbackBroker(RelayBroker):
    """A relay whose channel is a list in memory; it can be made to fail."""

    def __init__(self, outbox_size: int = 100, failures: int = 0) -> None:
        super().__init__(outbox_size=outbox_size, retry_initial=0.001, retry_max=0.001)
        self.failures = failures
        self.sent: list[str] = []
        self.channel_open = asyncio.Event()
        self.channel_open.set()

    async def send(self, messages: Sequence[str]) -> None:
        await self.channel_open.wait()
        if self.failures:
            self.failures -= 1
            raise ConnectionError("channel down")
        self.sent.extend(messages)
        for message in messages:
            self.receive(message)


class TestRelayBroker:
    async def test_delivers_only_what_comes_back_from_the_channel(self) -> None:
        broker = LoopbackBroker()
        subscriber = broker.subscribe(INBOX)
        broker.start_sender()
        try:
            await broker.publish([created(1)])
            assert queued(subscriber) == []  # not delivered directly: only from the channel

            assert await asyncio.wait_for(subscriber.next(), 1) == created(1)
            assert queued(subscriber) == []  # and exactly once
        finally:
            await broker.stop_sender(flush_timeout=1)

    async def test_failed_sends_are_retried_in_order(self) -> None:
        broker = LoopbackBroker(failures=3)
        subscriber = broker.subscribe(INBOX)
        broker.start_sender()
        try:
            await broker.publish([created(1)])
            await broker.publish([created(2)])
            received = [await asyncio.wait_for(subscriber.next(), 1) for _ in range(2)]
        finally:
            await broker.stop_sender(flush_timeout=1)

        assert received == [created(1), created(2)]

    async def test_overflow_is_followed_by_a_resync_for_everyone(self) -> None:
        broker = LoopbackBroker(outbox_size=2)
        broker.channel_open.clear()  # the channel is down: the outbox fills
        broker.start_sender()
        try:
            for n in range(1, 6):
                await broker.publish([created(n)])
            broker.channel_open.set()
            await asyncio.wait_for(broker._outbox.join(), 1)
        finally:
            await broker.stop_sender(flush_timeout=1)

        decoded = [decode_message(message) for message in broker.sent]
        events = [batch[0] for batch in decoded[:-1] if batch]
        assert decoded[-1] is None  # the resync, after what fit in the outbox
        assert events == [created(n) for n in range(1, len(events) + 1)]
        assert 2 <= len(events) < 5

    async def test_malformed_message_is_ignored(self) -> None:
        broker = LoopbackBroker()
        subscriber = broker.subscribe(INBOX)

        broker.receive(b'{"e": "nope"}')
        broker.receive(orjson.dumps({"e": [["created", *INBOX, 5]]}))

        assert queued(subscriber) == [created(5)]

    async def test_stop_flushes_the_outbox(self) -> None:
        broker = LoopbackBroker()
        broker.start_sender()
        await broker.publish([created(1)])

        await broker.stop_sender(flush_timeout=1)

        assert [decode_message(message) for message in broker.sent] == [[created(1)]]
