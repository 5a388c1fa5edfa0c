"""Completing an action tells live subscribers: the notification changed, and the counts."""

from __future__ import annotations

from typing import Any

from tests.client import ALICE, BOB, Api
from tests.graphql.test_actions import complete, complete_all, only_id, tabbed
from tests.graphql.test_publish import publish
from tests.subscriptions.ws import COUNTS, Sockets

UPDATED_ACTIONS = "subscription { notificationUpdated { id actionRequired actions { id status } } }"


def action_counts(required: int) -> dict[str, object]:
    return {
        "notificationCounts": {
            "total": 1,
            "unread": 1,
            "unseen": 1,
            "important": 0,
            "mentions": 0,
            "actionRequired": required,
        }
    }


async def until_done(socket: Any) -> None:
    """The badge the completion changed. The publish's own counts event may still be on its
    way when the socket opens, so an unchanged badge may come first."""
    seen = [await socket.data()]
    while seen[-1] == action_counts(1) and len(seen) < 3:
        seen.append(await socket.data())
    assert seen[-1] == action_counts(0), seen


class TestCompletionEvents:
    async def test_completing_the_last_action_updates_the_line_and_the_counts(
        self, api: Api, sockets: Sockets
    ) -> None:
        await publish(api, tabbed(["1001"], actions=[{"id": "ok", "label": "OK"}]))
        notification_id = await only_id(api)
        updated = await sockets.subscribe(api.token(ALICE), UPDATED_ACTIONS)
        counts = await sockets.subscribe(api.token(ALICE), COUNTS)
        assert await counts.data() == action_counts(1)

        await complete(api, notification_id, "ok")

        assert await updated.data() == {
            "notificationUpdated": {
                "id": notification_id,
                "actionRequired": False,
                "actions": [{"id": "ok", "status": "DONE"}],
            }
        }
        await until_done(counts)

    async def test_completing_for_a_group_tells_every_recipient(
        self, api: Api, sockets: Sockets
    ) -> None:
        await publish(api, tabbed(["1001", "1002"], actions=[{"id": "ok", "label": "OK"}]))
        sockets_by_person = {
            person: await sockets.subscribe(api.token(person), COUNTS) for person in (ALICE, BOB)
        }
        for socket in sockets_by_person.values():
            assert await socket.data() == action_counts(1)

        assert await complete_all(api, "task:7", "ok") == 2

        for socket in sockets_by_person.values():
            await until_done(socket)
