"""Live delivery to inboxes whose ids are strings, on every broker (graphql-transport-ws)."""

from __future__ import annotations

import pytest

from tests.client import Api, Person
from tests.string_ids import AUTH0, LONGEST, PEOPLE, PEOPLE_IDS
from tests.subscriptions.actions import change, create
from tests.subscriptions.ws import COUNTS, CREATED, UPDATED, Sockets


def others(person: Person) -> list[Person]:
    """Inboxes whose events must never reach ``person``'s subscriptions."""
    return [
        Person(person.recipient_id, "elsewhere"),  # the same user id in another organization
        Person(person.recipient_id.upper(), person.organization_id),  # differs only in case
    ]


class TestStringIdInboxes:
    @pytest.mark.parametrize("person", PEOPLE, ids=PEOPLE_IDS)
    async def test_notification_created(self, api: Api, sockets: Sockets, person: Person) -> None:
        socket = await sockets.subscribe(api.token(person), CREATED)
        for other in others(person):
            await create(api, other, "Not for you")
        mine = await create(api, person, "For you")

        # Events reach a process in commit order: had another's leaked, it would come first.
        assert await socket.data() == {
            "notificationCreated": {
                "id": mine,
                "title": "For you",
                "read": False,
                "recipientId": person.recipient_id,
                "organizationId": person.organization_id,
            }
        }

    @pytest.mark.parametrize("person", [AUTH0, LONGEST], ids=["auth0", "longest"])
    async def test_notification_updated(self, api: Api, sockets: Sockets, person: Person) -> None:
        mine = await create(api, person)
        theirs = [(other, await create(api, other)) for other in others(person)]
        socket = await sockets.subscribe(api.token(person), UPDATED)
        for other, notification_id in theirs:
            await change(api, "readNotification", notification_id, other)
        await change(api, "readNotification", mine, person)

        assert await socket.data() == {
            "notificationUpdated": {"id": mine, "read": True, "seen": True, "dismissed": False}
        }

    @pytest.mark.parametrize("person", [AUTH0, LONGEST], ids=["auth0", "longest"])
    async def test_notification_counts(self, api: Api, sockets: Sockets, person: Person) -> None:
        # Stored directly: an event of a publish before the subscribe could still be in flight.
        await api.add(person)
        socket = await sockets.subscribe(api.token(person), COUNTS)
        assert await socket.data() == {"notificationCounts": counts(total=1, unread=1)}
        for other in others(person):
            await create(api, other)
        await create(api, person)

        assert await socket.data() == {"notificationCounts": counts(total=2, unread=2)}


def counts(*, total: int, unread: int) -> dict[str, int]:
    return {
        "total": total,
        "unread": unread,
        "unseen": unread,
        "important": 0,
        "mentions": 0,
        "actionRequired": 0,
    }
