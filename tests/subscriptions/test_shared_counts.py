"""An inbox's counts subscriptions share one read per change."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from aiohttp.test_utils import TestServer

from notifgql import appkeys
from notifgql.db.reader import AnySelect, DriverReader, EngineReader, Reader
from tests.client import ALICE, BOB, Api, Person
from tests.subscriptions.actions import change, create
from tests.subscriptions.brokers import inbox_count, subscriber_count
from tests.subscriptions.test_counts import counts
from tests.subscriptions.ws import COUNTS, LEGACY_WS, Socket, Sockets

IDS = ["a", "b", "c"]


@contextmanager
def counts_reads(_server: TestServer) -> Iterator[Counter[str]]:
    """Counts the counts statements the app's readers run, by recipient id."""
    seen: Counter[str] = Counter()
    people = {ALICE.recipient_id, BOB.recipient_id}
    originals = {kind: kind.rows for kind in (DriverReader, EngineReader)}

    def counting(kind: type[Reader]) -> Any:
        original = originals[kind]

        async def rows(self: Reader, statement: AnySelect, params: Mapping[str, Any]) -> Any:
            if "count(*)" in str(statement).lower():
                for recipient in people.intersection(params.values()):
                    seen[recipient] += 1
            return await original(self, statement, params)

        return rows

    try:
        for kind in originals:
            setattr(kind, "rows", counting(kind))  # noqa: B010
        yield seen
    finally:
        for kind, original in originals.items():
            setattr(kind, "rows", original)  # noqa: B010


async def open_counts(sockets: Sockets, api: Api, person: Person) -> list[Socket]:
    """Two connections of ``person`` (one per protocol), three counts subscriptions each."""
    token = api.token(person)
    connections = [await sockets.connect(token), await sockets.connect(token, LEGACY_WS)]
    for socket in connections:
        for id in IDS:
            await socket.subscribe(COUNTS, id)
    return connections


async def each_receives(connections: list[Socket], expected: dict[str, Any]) -> None:
    for socket in connections:
        assert await socket.results(len(IDS)) == dict.fromkeys(IDS, expected)


class TestSharedCounts:
    async def test_one_read_per_change_for_all_subscriptions(
        self, api: Api, sockets: Sockets, server: TestServer
    ) -> None:
        first = await api.add(ALICE)
        await api.add(ALICE)
        bobs = await api.add(BOB)
        alice = await open_counts(sockets, api, ALICE)
        bob = await sockets.subscribe(api.token(BOB), COUNTS)
        await each_receives(alice, counts(total=2, unread=2, unseen=2))
        assert await bob.data() == counts(total=1, unread=1, unseen=1)

        with counts_reads(server) as reads:
            await change(api, "readNotification", first, ALICE)
            await each_receives(alice, counts(total=2, unread=1, unseen=1))
            # Bob's change, once he has his frame, also shows that no late read of
            # Alice's is still to come: her reader would have run before his.
            await change(api, "readNotification", bobs, BOB)
            assert await bob.data() == counts(total=1)

        assert reads == {ALICE.recipient_id: 1, BOB.recipient_id: 1}
        # Bob's change sent Alice nothing: her next frame is her next change.
        await create(api, ALICE)
        await each_receives(alice, counts(total=3, unread=2, unseen=2))

    async def test_a_burst_costs_at_most_one_read_per_change(
        self, api: Api, sockets: Sockets, server: TestServer
    ) -> None:
        ids = [await api.add(ALICE) for _ in range(5)]
        alice = await open_counts(sockets, api, ALICE)
        await each_receives(alice, counts(total=5, unread=5, unseen=5))
        final = dict.fromkeys(IDS, counts(total=5, unread=1))

        with counts_reads(server) as reads:
            await api.data("mutation { markAllRead { count } }")
            await change(api, "unreadNotification", ids[0], ALICE)
            # Each subscription may skip the numbers in between, never the last ones.
            for socket in alice:
                latest: dict[str, Any] = {}
                while latest != final:
                    latest |= await socket.results(1)

        assert 1 <= reads[ALICE.recipient_id] <= 2

    async def test_joining_later_gets_current_counts_at_once(
        self, api: Api, sockets: Sockets, server: TestServer
    ) -> None:
        first = await sockets.subscribe(api.token(ALICE), COUNTS)
        assert await first.data() == counts()
        await create(api, ALICE)
        assert await first.data() == counts(total=1, unread=1, unseen=1)

        with counts_reads(server) as reads:
            second = await sockets.subscribe(api.token(ALICE), COUNTS)
            assert await second.data() == counts(total=1, unread=1, unseen=1)

        # The known counts, without another read; and nothing new for the first.
        assert reads == {}
        await create(api, ALICE)
        assert await first.data() == await second.data() == counts(total=2, unread=2, unseen=2)

    async def test_reader_stops_with_the_last_subscription(
        self, api: Api, sockets: Sockets, server: TestServer
    ) -> None:
        hub = server.app[appkeys.COUNTS_HUB]
        socket = await sockets.connect(api.token(ALICE), LEGACY_WS)
        for id in IDS:
            await socket.subscribe(COUNTS, id)
        await socket.results(len(IDS))
        assert (inbox_count(hub), subscriber_count(socket.broker)) == (1, 1)

        for id in IDS:
            await socket.send({"id": id, "type": "stop"})
            assert await socket.receive() == {"id": id, "type": "complete"}

        assert (inbox_count(hub), subscriber_count(socket.broker)) == (0, 0)
        assert socket.slots.open_count == 0
