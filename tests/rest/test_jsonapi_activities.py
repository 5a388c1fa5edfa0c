"""The JSON:API dialect shows the activity numbers a publish keeps, and its read resets them."""

from __future__ import annotations

from typing import Any

from tests.client import ALICE, Api
from tests.graphql.test_publish import MONDAY, TUESDAY, publish, task
from tests.rest.test_jsonapi import BASE, get

NUMBERS = ("new_activities_count", "first_unread_activity_id", "last_action_at")


def numbers(resource: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(resource["attributes"][name] for name in NUMBERS)


async def read(api: Api, notification_id: str) -> dict[str, Any]:
    response = await api.client.patch(f"{BASE}/{notification_id}/read", headers=api.auth(ALICE))
    assert response.status == 200
    body: dict[str, Any] = await response.json(content_type=None)
    return body["data"]  # type: ignore[no-any-return]


class TestPublishedNumbers:
    async def test_two_activities_then_a_read(self, api: Api) -> None:
        first = await publish(api, task(["1001"]))
        again = task(["1001"])
        again["activity"] |= {"title": "Ann reopened it", "occurredAt": TUESDAY.isoformat()}
        second = await publish(api, again)
        assert (second["created"], second["updated"]) == (0, 1)

        status, listed = await get(api, BASE)
        assert status == 200
        (line,) = listed["data"]
        expected = (2, int(first["activityId"]), "2026-03-03T09:00:00.000Z")
        assert numbers(line) == expected
        status, shown = await get(api, f"{BASE}/{line['id']}")
        assert status == 200
        assert numbers(shown["data"]) == expected

        after = await read(api, line["id"])
        assert after["attributes"]["read"] is True
        assert numbers(after) == (0, None, "2026-03-03T09:00:00.000Z")
        _, shown = await get(api, f"{BASE}/{line['id']}")
        assert numbers(shown["data"]) == numbers(after)

    async def test_the_first_unread_is_the_oldest_unread_after_a_read(self, api: Api) -> None:
        await publish(api, task(["1001"]))
        _, listed = await get(api, BASE)
        (line,) = listed["data"]
        await read(api, line["id"])
        later = [await publish(api, task(["1001"])) for _ in range(2)]
        _, shown = await get(api, f"{BASE}/{line['id']}")
        assert numbers(shown["data"]) == (
            2,
            int(later[0]["activityId"]),
            "2026-03-02T09:00:00.000Z",
        )
        assert shown["data"]["attributes"]["read"] is False

    async def test_a_created_notification_keeps_its_publishers_numbers(self, api: Api) -> None:
        create = (
            "mutation($input: CreateNotificationInput!) {"
            " createNotification(input: $input) { id } }"
        )
        value = {
            "recipientId": "1001",
            "title": "Imported",
            "newActivitiesCount": 5,
            "firstUnreadActivityId": "77",
            "lastActionAt": MONDAY.isoformat(),
        }
        created = await api.data(create, {"input": value}, role="service")
        notification_id = created["createNotification"]["id"]
        _, shown = await get(api, f"{BASE}/{notification_id}")
        assert numbers(shown["data"]) == (5, 77, "2026-03-02T09:00:00.000Z")
        after = await read(api, notification_id)
        assert after["attributes"]["read"] is True
        assert numbers(after) == (5, 77, "2026-03-02T09:00:00.000Z")
        _, shown = await get(api, f"{BASE}/{notification_id}")
        assert numbers(shown["data"]) == numbers(after)
