from __future__ import annotations

import pytest

from tests.client import ALICE, ALICE_ELSEWHERE, BASE_TIME, BOB, Api
from tests.subscriptions.actions import change, create
from tests.subscriptions.ws import PROTOCOLS, UPDATED, Sockets

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

    async def test_no_change_sends_nothing(self, api: Api, sockets: Sockets) -> None:
        notification_id = await api.add(ALICE)
        socket = await sockets.subscribe(api.token(ALICE), UPDATED)

        await change(api, "readNotification", notification_id, ALICE)
        await change(api, "readNotification", notification_id, ALICE)  # already read
        await change(api, "dismissNotification", notification_id, ALICE)

        first = (await socket.data())["notificationUpdated"]
        second = (await socket.data())["notificationUpdated"]
        assert (first["read"], first["dismissed"]) == (True, False)
        assert (second["read"], second["dismissed"]) == (True, True)

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

