"""The counts hub on its own: shared reads, newest-only feeds, readers that stop."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from notifgql.notifications.counts_hub import CountsHub, Inbox
from notifgql.notifications.events import InboxEvent
from notifgql.notifications.local_broker import LocalBroker
from notifgql.notifications.queries import Counts
from tests.subscriptions.brokers import inbox_count, subscriber_count
from tests.subscriptions.ws import TIMEOUT

INBOX = ("10", "1001")


class Loader:
    """Answers ``Counts(total=n)`` on its n-th read, and ``expiries`` in turn (then none)."""

    def __init__(self, expiries: Sequence[datetime | None] = ()) -> None:
        self.reads = 0
        self.expiries = list(expiries)

    async def __call__(self, inbox: Inbox) -> tuple[Counts, datetime | None]:
        assert inbox == INBOX
        self.reads += 1
        expiry = self.expiries.pop(0) if self.expiries else None
        return Counts(self.reads, 0, 0, 0, 0, 0), expiry


def change(broker: LocalBroker) -> None:
    broker.deliver([InboxEvent("counts", *INBOX, None)])


class TestCountsHub:
    async def test_a_slow_feed_holds_nobody_up_and_keeps_the_newest(self) -> None:
        broker, load = LocalBroker(), Loader()
        hub = CountsHub(broker, load)
        slow, quick = hub.join(INBOX), hub.join(INBOX)
        assert (await asyncio.wait_for(quick.next(), TIMEOUT)).total == 1

        for expected in (2, 3):
            change(broker)
            assert (await asyncio.wait_for(quick.next(), TIMEOUT)).total == expected

        # One read per change for both feeds; the one that did not read gets the newest.
        assert load.reads == 3
        assert (await asyncio.wait_for(slow.next(), TIMEOUT)).total == 3
        await hub.close()

    async def test_last_feed_leaving_stops_the_reader(self) -> None:
        broker = LocalBroker()
        hub = CountsHub(broker, Loader())
        feeds = [hub.join(INBOX) for _ in range(3)]
        assert (inbox_count(hub), subscriber_count(broker)) == (1, 1)

        for feed in feeds:
            hub.leave(feed)

        assert (inbox_count(hub), subscriber_count(broker)) == (0, 0)
        await hub.close()

    async def test_reads_again_when_a_notification_expires(self) -> None:
        soon = datetime.now(UTC) + timedelta(milliseconds=50)
        broker, load = LocalBroker(), Loader([soon, None])
        hub = CountsHub(broker, load)
        feed = hub.join(INBOX)
        assert (await asyncio.wait_for(feed.next(), TIMEOUT)).total == 1
        # No event: the second read comes from the expiry alone, and no third follows.
        assert (await asyncio.wait_for(feed.next(), TIMEOUT)).total == 2
        assert datetime.now(UTC) >= soon
        change(broker)
        assert (await asyncio.wait_for(feed.next(), TIMEOUT)).total == 3
        assert load.reads == 3
        await hub.close()

    async def test_a_reader_that_stops_forgets_its_expiry(self) -> None:
        later = datetime.now(UTC) + timedelta(hours=1)
        broker, load = LocalBroker(), Loader([later])
        hub = CountsHub(broker, load)
        feed = hub.join(INBOX)
        await asyncio.wait_for(feed.next(), TIMEOUT)
        (shared,) = hub._inboxes.values()
        assert shared._expiry is not None
        hub.leave(feed)
        assert shared._expiry is None
        await hub.close()
