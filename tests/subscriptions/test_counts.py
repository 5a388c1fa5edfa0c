from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from notifgql import appkeys
from tests.client import ALICE, ALICE_ELSEWHERE, BASE_TIME, BOB, Api
from tests.subscriptions.actions import change, create
from tests.subscriptions.ws import COUNTS, PROTOCOLS, TIMEOUT, Sockets


def counts(
    total: int = 0,
    unread: int = 0,
    unseen: int = 0,
    important: int = 0,
    mentions: int = 0,
    action_required: int = 0,
) -> dict[str, Any]:
    return {
        "notificationCounts": {
            "total": total,
            "unread": unread,
            "unseen": unseen,
            "important": important,
            "mentions": mentions,
            "actionRequired": action_required,
        }
    }


class TestNotificationCounts:
    @pytest.mark.parametrize("protocol", PROTOCOLS)
    async def test_current_counts_at_once(self, api: Api, sockets: Sockets, protocol: str) -> None:
        await api.add(ALICE, important=True, action_required=True)
        await api.add(ALICE, mention=True, read_at=BASE_TIME, seen_at=BASE_TIME)
        await api.add(BOB)
        socket = await sockets.connect(api.token(ALICE), protocol)

        await socket.start(COUNTS)

        assert await socket.data() == counts(
            total=2, unread=1, unseen=1, important=1, mentions=1, action_required=1
        )

    @pytest.mark.parametrize("protocol", PROTOCOLS)
    async def test_change_sends_fresh_counts(
        self, api: Api, sockets: Sockets, protocol: str
    ) -> None:
        first = await api.add(ALICE)
        await api.add(ALICE)
        socket = await sockets.subscribe(api.token(ALICE), COUNTS, protocol)
        assert await socket.data() == counts(total=2, unread=2, unseen=2)

        await change(api, "readNotification", first, ALICE)

        assert await socket.data() == counts(total=2, unread=1, unseen=1)

    async def test_new_notification_sends_fresh_counts(self, api: Api, sockets: Sockets) -> None:
        socket = await sockets.subscribe(api.token(ALICE), COUNTS)
        assert await socket.data() == counts()

        await create(api, ALICE, important=True)

        assert await socket.data() == counts(total=1, unread=1, unseen=1, important=1)

    @pytest.mark.parametrize(
        ("bulk", "expected"),
        [("markAllSeen", counts(total=3, unread=3)), ("markAllRead", counts(total=3))],
    )
    async def test_bulk_change_sends_one_frame(
        self, api: Api, sockets: Sockets, bulk: str, expected: dict[str, Any]
    ) -> None:
        ids = [await api.add(ALICE) for _ in range(3)]
        socket = await sockets.subscribe(api.token(ALICE), COUNTS)
        assert await socket.data() == counts(total=3, unread=3, unseen=3)

        await api.data(f"mutation {{ {bulk} {{ count }} }}")
        bulk_frame = await socket.data()
        await change(api, "dismissNotification", ids[0], ALICE)  # changes no count

        assert bulk_frame == expected
        assert await socket.data() == expected

    @pytest.mark.parametrize(
        ("bulk", "sentinel"),
        [("markAllSeen", "readNotification"), ("markAllRead", "unreadNotification")],
    )
    async def test_bulk_change_publishes_one_counts_event(
        self, api: Api, server: TestServer, bulk: str, sentinel: str
    ) -> None:
        ids = [await api.add(ALICE) for _ in range(3)]
        broker = server.app[appkeys.BROKER]
        subscriber = broker.subscribe((ALICE.organization_id, ALICE.recipient_id))
        try:
            data = await api.data(f"mutation {{ {bulk} {{ count }} }}")
            # A later single change marks where the bulk change's events end.
            await change(api, sentinel, ids[0], ALICE)
            events = []
            for _ in range(3):
                event = await asyncio.wait_for(subscriber.next(), TIMEOUT)
                assert event is not None
                events.append((event.kind, event.notification_id))
        finally:
            broker.unsubscribe(subscriber)

        assert data[bulk]["count"] == 3
        assert events == [("counts", None), ("updated", ids[0]), ("counts", None)]

    async def test_other_inboxes_are_not_sent(self, api: Api, sockets: Sockets) -> None:
        mine = await api.add(ALICE)
        bobs = await api.add(BOB)
        elsewhere = await api.add(ALICE_ELSEWHERE)
        socket = await sockets.subscribe(api.token(ALICE), COUNTS)
        assert await socket.data() == counts(total=1, unread=1, unseen=1)

        await change(api, "readNotification", bobs, BOB)
        await change(api, "readNotification", elsewhere, ALICE_ELSEWHERE)
        await create(api, BOB)
        await change(api, "readNotification", mine, ALICE)

        # Had any of the others' events leaked, an unchanged frame would come first.
        assert await socket.data() == counts(total=1)

    async def test_resync_sends_fresh_counts(
        self, api: Api, sockets: Sockets, server: TestServer
    ) -> None:
        socket = await sockets.subscribe(api.token(ALICE), COUNTS)
        assert await socket.data() == counts()
        await api.add(ALICE)  # straight into the table: no event

        server.app[appkeys.BROKER].resync_all()

        assert await socket.data() == counts(total=1, unread=1, unseen=1)
