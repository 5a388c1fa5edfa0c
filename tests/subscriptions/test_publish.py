"""publish tells live subscribers: a new line is created, an existing one updated, counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.client import ALICE, BASE_TIME, BOB, Api
from tests.graphql.test_hidden import withdraw
from tests.graphql.test_publish import publish, task
from tests.subscriptions.ws import COUNTS, CREATED, UPDATED, Sockets


def counts(total: int, unread: int, unseen: int) -> dict[str, object]:
    return {
        "notificationCounts": {
            "total": total,
            "unread": unread,
            "unseen": unseen,
            "important": 0,
            "mentions": 0,
            "actionRequired": 0,
        }
    }


class TestPublishEvents:
    async def test_a_new_line_arrives_in_each_inbox(self, api: Api, sockets: Sockets) -> None:
        alice = await sockets.subscribe(api.token(ALICE), CREATED)
        bob = await sockets.subscribe(api.token(BOB), CREATED)

        await publish(api, task(["1001", "1002"]))

        for socket, person in ((alice, ALICE), (bob, BOB)):
            node = (await socket.data())["notificationCreated"]
            assert (node["title"], node["recipientId"]) == ("Ship it", person.recipient_id)

    async def test_an_append_arrives_as_an_update_and_unread(
        self, api: Api, sockets: Sockets
    ) -> None:
        existing = await api.add(
            ALICE, group_key="task:7", read_at=BASE_TIME, seen_at=BASE_TIME, dismissed_at=BASE_TIME
        )
        socket = await sockets.subscribe(api.token(ALICE), UPDATED)

        await publish(api, task(["1001"]))

        assert await socket.data() == {
            "notificationUpdated": {
                "id": str(existing),
                "read": False,
                "seen": False,
                "dismissed": False,
            }
        }

    async def test_counts_follow(self, api: Api, sockets: Sockets) -> None:
        socket = await sockets.subscribe(api.token(ALICE), COUNTS)
        assert await socket.data() == counts(total=0, unread=0, unseen=0)

        await publish(api, task(["1001", "1002"]))

        assert await socket.data() == counts(total=1, unread=1, unseen=1)


class TestWithdrawEvents:
    async def test_counts_drop_in_every_inbox(self, api: Api, sockets: Sockets) -> None:
        alice = await sockets.subscribe(api.token(ALICE), COUNTS)
        bob = await sockets.subscribe(api.token(BOB), COUNTS)
        for socket in (alice, bob):
            assert await socket.data() == counts(total=0, unread=0, unseen=0)
        await publish(api, task(["1001", "1002"]))
        for socket in (alice, bob):
            assert await socket.data() == counts(total=1, unread=1, unseen=1)

        await withdraw(api, "task:7")

        for socket in (alice, bob):
            assert await socket.data() == counts(total=0, unread=0, unseen=0)

    async def test_a_withdrawn_line_is_never_sent_as_an_update(
        self, api: Api, sockets: Sockets
    ) -> None:
        await publish(api, task(["1001"]))
        socket = await sockets.subscribe(api.token(ALICE), UPDATED)
        await withdraw(api, "task:7")
        # Reading it is refused now; the next event the socket sees is the next publish's.
        await publish(api, task(["1001"], groupKey="invoice:1"))
        await publish(api, task(["1001"], groupKey="invoice:1"))
        node = (await socket.data())["notificationUpdated"]
        assert node["read"] is False
        listed = await api.data("{ notifications { nodes { id groupKey } } }")
        assert [item["groupKey"] for item in listed["notifications"]["nodes"]] == ["invoice:1"]
        assert node["id"] == listed["notifications"]["nodes"][0]["id"]


class TestExpiry:
    async def test_counts_drop_when_a_notification_expires(
        self, api: Api, sockets: Sockets
    ) -> None:
        value = task(["1001"])
        # Soon enough for a short test, late enough to be counted first on a loaded machine.
        expires = datetime.now(UTC) + timedelta(seconds=4)
        value["notification"]["expiresAt"] = expires.isoformat()
        socket = await sockets.subscribe(api.token(ALICE), COUNTS)
        assert await socket.data() == counts(total=0, unread=0, unseen=0)
        await publish(api, value)
        assert await socket.data() == counts(total=1, unread=1, unseen=1)
        # Nothing publishes an event: the server reads the counts again when it expires.
        assert await socket.data() == counts(total=0, unread=0, unseen=0)
        assert datetime.now(UTC) >= expires
