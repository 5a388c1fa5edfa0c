from __future__ import annotations

import asyncio

import pytest
from aiohttp.test_utils import TestServer

from notifgql import appkeys
from notifgql.notifications.events import EventKind
from tests.client import ALICE, ALICE_ELSEWHERE, BASE_TIME, BOB, Api
from tests.subscriptions.actions import change, create
from tests.subscriptions.ws import PROTOCOLS, TIMEOUT, UPDATED, Sockets

UPDATES: frozenset[EventKind] = frozenset({"updated"})
MARK_SEEN = "mutation($ids: [ID!]!) { markSeen(ids: $ids) { count } }"


class TestNotificationUpdated:
    @pytest.mark.parametrize("protocol", PROTOCOLS)
    async def test_read_arrives(self, api: Api, sockets: Sockets, protocol: str) -> None:
        notification_id = await api.add(ALICE)
        socket = await sockets.subscribe(api.token(ALICE), UPDATED, protocol)

        await change(api, "readNotification", notification_id, ALICE)

        assert await socket.data() == {
            "notificationUpdated": {
                "id": str(notification_id),
                "read": True,
                "seen": True,
                "dismissed": False,
            }
        }

    @pytest.mark.parametrize(
        ("mutation", "field", "value", "preset"),
        [
            ("unreadNotification", "read", False, {"read_at": BASE_TIME}),
            ("dismissNotification", "dismissed", True, {}),
            ("undismissNotification", "dismissed", False, {"dismissed_at": BASE_TIME}),
        ],
    )
    async def test_every_change_arrives(
        self,
        api: Api,
        sockets: Sockets,
        mutation: str,
        field: str,
        value: bool,
        preset: dict[str, object],
    ) -> None:
        notification_id = await api.add(ALICE, **preset)
        socket = await sockets.subscribe(api.token(ALICE), UPDATED)

        await change(api, mutation, notification_id, ALICE)

        data = (await socket.data())["notificationUpdated"]
        assert (data["id"], data[field]) == (str(notification_id), value)

    async def test_mark_seen_sends_each_changed_one(self, api: Api, sockets: Sockets) -> None:
        first, second = await api.add(ALICE), await api.add(ALICE)
        already_seen = await api.add(ALICE, seen_at=BASE_TIME)
        socket = await sockets.subscribe(api.token(ALICE), UPDATED)

        await api.data(MARK_SEEN, {"ids": [str(first), str(already_seen), str(second)]})
        received = {(await socket.data())["notificationUpdated"]["id"] for _ in range(2)}
        # Sentinel: a later change must be the next frame, so nothing else was sent.
        await change(api, "dismissNotification", first, ALICE)
        after = (await socket.data())["notificationUpdated"]

        assert received == {str(first), str(second)}
        assert (after["id"], after["dismissed"]) == (str(first), True)

    async def test_no_change_publishes_nothing(self, api: Api, server: TestServer) -> None:
        target, sentinel = await api.add(ALICE), await api.add(ALICE)
        broker = server.app[appkeys.BROKER]
        # Frames show each notification as it is when loaded, so a spurious event could hide
        # behind a later real one; the broker's own events cannot.
        subscriber = broker.subscribe((ALICE.organization_id, ALICE.recipient_id), UPDATES)
        try:
            await change(api, "readNotification", target, ALICE)
            await change(api, "readNotification", target, ALICE)  # already read: no change
            await change(api, "readNotification", sentinel, ALICE)
            events = [await asyncio.wait_for(subscriber.next(), TIMEOUT) for _ in range(2)]
        finally:
            broker.unsubscribe(subscriber)

        assert [event and event.notification_id for event in events] == [target, sentinel]

    async def test_other_inboxes_are_not_sent(self, api: Api, sockets: Sockets) -> None:
        bobs = await api.add(BOB)
        elsewhere = await api.add(ALICE_ELSEWHERE)
        mine = await api.add(ALICE)
        socket = await sockets.subscribe(api.token(ALICE), UPDATED)

        await change(api, "readNotification", bobs, BOB)
        await change(api, "readNotification", elsewhere, ALICE_ELSEWHERE)
        await change(api, "readNotification", mine, ALICE)

        assert (await socket.data())["notificationUpdated"]["id"] == str(mine)

    async def test_created_is_not_an_update(self, api: Api, sockets: Sockets) -> None:
        socket = await sockets.subscribe(api.token(ALICE), UPDATED)
        await create(api, ALICE)
        existing = await api.add(ALICE)
        await change(api, "dismissNotification", existing, ALICE)

        assert (await socket.data())["notificationUpdated"]["id"] == str(existing)
