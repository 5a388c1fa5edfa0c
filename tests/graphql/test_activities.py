"""Notification.activities: what was published to you about the thing, newest first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.client import ALICE, BOB, Api, Person
from tests.graphql.documents import READ, assert_error
from tests.graphql.test_publish import publish, rows, task

ACTIVITIES = """
query($id: ID!, $first: Int, $after: String) {
  notification(id: $id) {
    newActivitiesCount firstUnreadActivityId
    activities(first: $first, after: $after) {
      totalCount
      edges { cursor node { id title excerpt changeset occurredAt unread actor { id name } } }
      nodes { id }
      pageInfo { hasNextPage hasPreviousPage endCursor }
    }
  }
}
"""
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def at(hours: int) -> str:
    return (START + timedelta(hours=hours)).isoformat()


def activity(title: str, hours: int, recipients: list[str], **extra: Any) -> dict[str, Any]:
    value = task(recipients)
    value["activity"] = {"title": title, "occurredAt": at(hours)} | extra
    return value


async def shown(
    api: Api, notification_id: int, person: Person = ALICE, **variables: Any
) -> dict[str, Any]:
    data = await api.data(ACTIVITIES, {"id": str(notification_id)} | variables, as_=person)
    return data["notification"]  # type: ignore[no-any-return]


async def inbox_line(api: Api, recipient_id: str) -> int:
    return next(row.id for row in await rows(api) if row.recipient_id == recipient_id)


class TestWhatIsShown:
    async def test_newest_first_with_every_field(self, api: Api) -> None:
        first = await publish(
            api,
            activity(
                "Ann moved it",
                1,
                ["1001"],
                actorId="auth0|ann",
                actorName="Ann",
                excerpt="to Done",
                changeset={"status": ["open", "done"]},
            ),
        )
        second = await publish(api, activity("A bot commented", 2, ["1001"]))
        node = await shown(api, await inbox_line(api, "1001"))
        edges = node["activities"]["edges"]
        assert [edge["node"]["id"] for edge in edges] == [
            second["activityId"],
            first["activityId"],
        ]
        assert edges[1]["node"] | {"id": None} == {
            "id": None,
            "title": "Ann moved it",
            "excerpt": "to Done",
            "changeset": {"status": ["open", "done"]},
            "occurredAt": at(1),
            "unread": True,
            "actor": {"id": "auth0|ann", "name": "Ann"},
        }
        assert edges[0]["node"]["actor"] is None
        assert node["activities"]["totalCount"] == 2
        assert [item["id"] for item in node["activities"]["nodes"]] == [
            second["activityId"],
            first["activityId"],
        ]

    async def test_order_is_by_when_it_happened_not_when_published(self, api: Api) -> None:
        late = await publish(api, activity("Happened last", 5, ["1001"]))
        early = await publish(api, activity("Happened first", 1, ["1001"]))
        node = await shown(api, await inbox_line(api, "1001"))
        ids = [edge["node"]["id"] for edge in node["activities"]["edges"]]
        assert ids == [late["activityId"], early["activityId"]]

    async def test_each_recipient_sees_only_what_was_published_to_them(self, api: Api) -> None:
        both = await publish(api, activity("To both", 1, ["1001", "1002"]))
        private = await publish(api, activity("To Alice only", 2, ["1001"]))
        later = await publish(api, activity("To both again", 3, ["1001", "1002"]))
        alice = await shown(api, await inbox_line(api, "1001"))
        bob = await shown(api, await inbox_line(api, "1002"), BOB)
        assert [edge["node"]["id"] for edge in alice["activities"]["edges"]] == [
            later["activityId"],
            private["activityId"],
            both["activityId"],
        ]
        assert [edge["node"]["id"] for edge in bob["activities"]["edges"]] == [
            later["activityId"],
            both["activityId"],
        ]
        assert (alice["activities"]["totalCount"], bob["activities"]["totalCount"]) == (3, 2)

    async def test_a_watcher_added_later_sees_nothing_from_before(self, api: Api) -> None:
        await publish(api, activity("Before Bob", 1, ["1001"]))
        after = await publish(api, activity("With Bob", 2, ["1001", "1002"]))
        bob = await shown(api, await inbox_line(api, "1002"), BOB)
        assert [edge["node"]["id"] for edge in bob["activities"]["edges"]] == [after["activityId"]]

    async def test_a_created_notification_has_none(self, api: Api) -> None:
        mine = await api.add(ALICE, new_activities_count=3, first_unread_activity_id=9)
        node = await shown(api, mine)
        assert node["activities"] == {
            "totalCount": 0,
            "edges": [],
            "nodes": [],
            "pageInfo": {"hasNextPage": False, "hasPreviousPage": False, "endCursor": None},
        }
        assert (node["newActivitiesCount"], node["firstUnreadActivityId"]) == (3, "9")

    async def test_another_inbox_cannot_reach_them(self, api: Api) -> None:
        await publish(api, activity("To Alice only", 1, ["1001"]))
        assert await shown(api, await inbox_line(api, "1001"), BOB) is None


class TestUnread:
    async def test_reading_marks_every_activity_read(self, api: Api) -> None:
        for hours in (1, 2):
            await publish(api, activity(f"Activity {hours}", hours, ["1001"]))
        line = await inbox_line(api, "1001")
        before = await shown(api, line)
        assert [edge["node"]["unread"] for edge in before["activities"]["edges"]] == [True, True]
        await api.data(READ, {"id": str(line)})
        after = await shown(api, line)
        assert [edge["node"]["unread"] for edge in after["activities"]["edges"]] == [False, False]
        assert (after["newActivitiesCount"], after["firstUnreadActivityId"]) == (0, None)

    async def test_only_what_came_after_reading_is_unread(self, api: Api) -> None:
        await publish(api, activity("Read already", 1, ["1001"]))
        line = await inbox_line(api, "1001")
        await api.data(READ, {"id": str(line)})
        new = await publish(api, activity("New since", 2, ["1001"]))
        node = await shown(api, line)
        unread = {
            edge["node"]["title"]: edge["node"]["unread"] for edge in node["activities"]["edges"]
        }
        assert unread == {"Read already": False, "New since": True}
        assert (node["newActivitiesCount"], node["firstUnreadActivityId"]) == (
            1,
            new["activityId"],
        )


class TestPaging:
    async def test_pages_forward_without_gaps_or_repeats(self, api: Api) -> None:
        published = [
            (await publish(api, activity(f"Activity {hours}", hours, ["1001"])))["activityId"]
            for hours in range(5)
        ]
        line = await inbox_line(api, "1001")
        seen: list[str] = []
        after = None
        pages = []
        while True:
            node = await shown(api, line, first=2, after=after)
            found = node["activities"]
            seen += [edge["node"]["id"] for edge in found["edges"]]
            pages.append((len(found["edges"]), found["pageInfo"]["hasNextPage"]))
            if not found["pageInfo"]["hasNextPage"]:
                break
            after = found["pageInfo"]["endCursor"]
            assert found["pageInfo"]["endCursor"] == found["edges"][-1]["cursor"]
        assert seen == list(reversed(published))
        assert pages == [(2, True), (2, True), (1, False)]

    async def test_a_page_after_a_cursor_has_one_before_it(self, api: Api) -> None:
        for hours in range(3):
            await publish(api, activity(f"Activity {hours}", hours, ["1001"]))
        line = await inbox_line(api, "1001")
        first = await shown(api, line, first=1)
        cursor = first["activities"]["pageInfo"]["endCursor"]
        second = await shown(api, line, first=1, after=cursor)
        assert first["activities"]["pageInfo"]["hasPreviousPage"] is False
        assert second["activities"]["pageInfo"]["hasPreviousPage"] is True

    async def test_bad_sizes_and_cursors_are_refused(self, api: Api) -> None:
        await publish(api, activity("One", 1, ["1001"]))
        line = await inbox_line(api, "1001")
        listed = await api.data("{ notifications { pageInfo { endCursor } } }")
        list_cursor = listed["notifications"]["pageInfo"]["endCursor"]
        for variables in (
            {"first": 0},
            {"first": 201},
            {"after": "not a cursor"},
            # A cursor of the notification list names no place among activities.
            {"after": list_cursor},
        ):
            body = await api.gql(ACTIVITIES, {"id": str(line)} | variables)
            assert_error(body, "BAD_USER_INPUT")
