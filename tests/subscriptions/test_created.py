from __future__ import annotations

import pytest

from tests.client import ALICE, ALICE_ELSEWHERE, BOB, Api
from tests.subscriptions.actions import create
from tests.subscriptions.brokers import subscriber_count
from tests.subscriptions.ws import CREATED, LEGACY_WS, PROTOCOLS, TRANSPORT_WS, Sockets


class TestNotificationCreated:
    @pytest.mark.parametrize("protocol", PROTOCOLS)
    async def test_new_notification_arrives(
        self, api: Api, sockets: Sockets, protocol: str
    ) -> None:
        socket = await sockets.subscribe(api.token(ALICE), CREATED, protocol)
        notification_id = await create(api, ALICE, "Build failed")

        frame = await socket.receive()

        kind = "next" if protocol == TRANSPORT_WS else "data"
        assert frame == {
            "id": "1",
            "type": kind,
            "payload": {
                "data": {
                    "notificationCreated": {
                        "id": notification_id,
                        "title": "Build failed",
                        "read": False,
                        "recipientId": str(ALICE.recipient_id),
                        "organizationId": str(ALICE.organization_id),
                    }
                }
            },
        }

    async def test_each_one_arrives_in_order(self, api: Api, sockets: Sockets) -> None:
        socket = await sockets.subscribe(api.token(ALICE), CREATED)
        first = await create(api, ALICE, "First")
        second = await create(api, ALICE, "Second")

        received = [(await socket.data())["notificationCreated"]["id"] for _ in range(2)]

        assert received == [first, second]

    async def test_other_inboxes_are_not_sent(self, api: Api, sockets: Sockets) -> None:
        socket = await sockets.subscribe(api.token(ALICE), CREATED)
        # Bob shares Alice's organization; ALICE_ELSEWHERE shares her recipient id.
        await create(api, BOB, "For Bob")
        await create(api, ALICE_ELSEWHERE, "For Alice in another organization")
        mine = await create(api, ALICE, "For Alice")

        # Events reach a process in commit order: had either leaked, it would come first.
        data = await socket.data()

        assert data["notificationCreated"]["id"] == mine

    async def test_each_subscriber_gets_their_own(self, api: Api, sockets: Sockets) -> None:
        alice = await sockets.subscribe(api.token(ALICE), CREATED)
        bob = await sockets.subscribe(api.token(BOB), CREATED, LEGACY_WS)
        for_bob = await create(api, BOB, "For Bob")
        for_alice = await create(api, ALICE, "For Alice")

        assert (await alice.data())["notificationCreated"]["id"] == for_alice
        assert (await bob.data())["notificationCreated"]["id"] == for_bob

    async def test_two_subscriptions_on_one_socket(self, api: Api, sockets: Sockets) -> None:
        socket = await sockets.subscribe(api.token(ALICE), CREATED)
        await socket.subscribe(CREATED, id="2")
        notification_id = await create(api, ALICE)

        frames = [await socket.receive(), await socket.receive()]

        assert sorted(frame["id"] for frame in frames) == ["1", "2"]
        assert {frame["payload"]["data"]["notificationCreated"]["id"] for frame in frames} == {
            notification_id
        }

    @pytest.mark.parametrize("protocol", PROTOCOLS)
    async def test_service_token_has_no_inbox(
        self, api: Api, sockets: Sockets, protocol: str
    ) -> None:
        socket = await sockets.connect(api.token(ALICE, role="service"), protocol)
        await socket.start(CREATED)

        frame = await socket.receive()

        assert frame["type"] == "error", frame
        assert frame["id"] == "1"
        errors = frame["payload"] if protocol == TRANSPORT_WS else [frame["payload"]]
        assert [error["extensions"]["code"] for error in errors] == ["FORBIDDEN"]
        assert subscriber_count(socket.broker) == 0
