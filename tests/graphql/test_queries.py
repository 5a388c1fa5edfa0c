"""Queries: notification, notifications (order and every filter field), GET transport."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from tests.client import ALICE, BOB, Api
from tests.graphql.documents import (
    LIST_IDS,
    NOTIFICATION,
    NOTIFICATION_FIELDS,
    PAGE,
    assert_error,
    ids,
    when,
)

T0 = datetime(2025, 6, 1, 8, 0, tzinfo=UTC)
TIME_FIELDS = ("readAt", "seenAt", "dismissedAt", "lastActionAt", "createdAt")


def minutes(n: int) -> datetime:
    return T0 + timedelta(minutes=n)


async def listed(api: Api, filter: dict[str, Any] | None = None, **kw: Any) -> list[int]:
    """Ids of Alice's notifications the filter matches, in list order."""
    data = await api.data(LIST_IDS, {"filter": filter, "first": 200}, **kw)
    return ids(data["notifications"])


class TestNotification:
    async def test_returns_every_field_of_own_notification(self, api: Api) -> None:
        notification_id = await api.add(
            ALICE,
            title="Carol assigned you a task",
            description="<p>Please review</p>",
            excerpt="Please review",
            target_type="Task",
            target_id=501,
            target_title="Write the tests",
            target_label="T-501",
            parent_type="Project",
            parent_id=77,
            parent_title="Gateway",
            root_type="Company",
            root_id=3,
            project_id=77,
            resource="tasks",
            reason="assigned",
            read_at=minutes(30),
            seen_at=minutes(20),
            important=True,
            mention=True,
            action_required=True,
            made_by_automation=False,
            new_activities_count=3,
            first_unread_activity_id=9001,
            changeset=[{"field": "status", "from": "open", "to": "done"}],
            last_action_at=minutes(10),
            created_at=minutes(5),
            actor_id="42",
            actor_name="Carol",
        )
        data = await api.data(NOTIFICATION, {"id": str(notification_id)})
        node = data["notification"]
        times = {name: when(node.pop(name)) for name in TIME_FIELDS}
        assert times == {
            "readAt": minutes(30),
            "seenAt": minutes(20),
            "dismissedAt": None,
            "lastActionAt": minutes(10),
            "createdAt": minutes(5),
        }
        assert node == {
            "id": str(notification_id),
            "title": "Carol assigned you a task",
            "description": "<p>Please review</p>",
            "excerpt": "Please review",
            "targetType": "Task",
            "targetId": "501",
            "targetTitle": "Write the tests",
            "targetLabel": "T-501",
            "parentType": "Project",
            "parentId": "77",
            "parentTitle": "Gateway",
            "rootType": "Company",
            "rootId": "3",
            "projectId": "77",
            "resource": "tasks",
            "reason": "assigned",
            "read": True,
            "seen": True,
            "dismissed": False,
            "important": True,
            "mention": True,
            "actionRequired": True,
            "madeByAutomation": False,
            "newActivitiesCount": 3,
            "firstUnreadActivityId": "9001",
            "changeset": [{"field": "status", "from": "open", "to": "done"}],
            "organizationId": str(ALICE.organization_id),
            "recipientId": str(ALICE.recipient_id),
            "actor": {"id": "42", "name": "Carol"},
        }

    async def test_optional_fields_are_null_and_flags_false(self, api: Api) -> None:
        notification_id = await api.add(ALICE, title="Bare")
        node = (await api.data(NOTIFICATION, {"id": str(notification_id)}))["notification"]
        assert node["actor"] is None
        assert node["targetType"] is None
        assert node["projectId"] is None
        assert node["lastActionAt"] is None
        assert (node["read"], node["seen"], node["dismissed"]) == (False, False, False)
        assert (node["readAt"], node["seenAt"], node["dismissedAt"]) == (None, None, None)

    async def test_times_are_utc_with_offset(self, api: Api) -> None:
        notification_id = await api.add(
            ALICE, created_at=datetime(2026, 1, 2, 3, 4, 5, 678000, UTC)
        )
        query = "query($id: ID!) { notification(id: $id) { createdAt } }"
        data = await api.data(query, {"id": str(notification_id)})
        assert data["notification"]["createdAt"] == "2026-01-02T03:04:05.678000+00:00"

    async def test_absent_id_is_null(self, api: Api) -> None:
        notification_id = await api.add(ALICE)
        data = await api.data(NOTIFICATION, {"id": str(notification_id + 1000)})
        assert data == {"notification": None}

    @pytest.mark.parametrize("bad_id", ["abc", "0", "-1", "1.5", "99999999999999999999", ""])
    async def test_malformed_id_is_null(self, api: Api, bad_id: str) -> None:
        await api.add(ALICE)
        data = await api.data(NOTIFICATION, {"id": bad_id})
        assert data == {"notification": None}


class TestNotifications:
    async def test_orders_by_last_action_or_created_desc(self, api: Api) -> None:
        created_only_old = await api.add(ALICE, created_at=minutes(1))
        acted_recently = await api.add(ALICE, created_at=minutes(2), last_action_at=minutes(50))
        created_only_new = await api.add(ALICE, created_at=minutes(40))
        acted_between = await api.add(ALICE, created_at=minutes(3), last_action_at=minutes(20))
        created_late_acted_early = await api.add(
            ALICE, created_at=minutes(30), last_action_at=minutes(10)
        )
        assert await listed(api) == [
            acted_recently,
            created_only_new,
            acted_between,
            created_late_acted_early,
            created_only_old,
        ]

    async def test_ties_are_broken_by_id_desc(self, api: Api) -> None:
        tie = minutes(15)
        first = await api.add(ALICE, created_at=tie)
        second = await api.add(ALICE, created_at=minutes(1), last_action_at=tie)
        third = await api.add(ALICE, created_at=tie)
        older = await api.add(ALICE, created_at=minutes(14))
        assert await listed(api) == [third, second, first, older]

    async def test_default_first_is_30(self, api: Api) -> None:
        added = [await api.add(ALICE) for _ in range(31)]
        data = await api.data(LIST_IDS)
        connection = data["notifications"]
        assert ids(connection) == added[::-1][:30]
        assert connection["pageInfo"]["hasNextPage"] is True
        assert connection["totalCount"] == 31

    async def test_lists_only_the_viewers_inbox(self, api: Api) -> None:
        mine = await api.add(ALICE)
        await api.add(BOB)
        assert await listed(api) == [mine]

    async def test_edges_and_nodes_agree(self, api: Api) -> None:
        added = [await api.add(ALICE) for _ in range(3)]
        connection = (await api.data(LIST_IDS))["notifications"]
        assert [edge["node"]["id"] for edge in connection["edges"]] == [
            node["id"] for node in connection["nodes"]
        ]
        assert ids(connection) == added[::-1]
        cursors = [edge["cursor"] for edge in connection["edges"]]
        assert len(set(cursors)) == 3
        assert connection["pageInfo"]["startCursor"] == cursors[0]
        assert connection["pageInfo"]["endCursor"] == cursors[-1]

    async def test_empty_inbox(self, api: Api) -> None:
        await api.add(BOB)
        connection = (await api.data(LIST_IDS))["notifications"]
        assert connection == {
            "edges": [],
            "nodes": [],
            "pageInfo": {
                "hasNextPage": False,
                "hasPreviousPage": False,
                "startCursor": None,
                "endCursor": None,
            },
            "totalCount": 0,
        }

    async def test_full_fields_in_list(self, api: Api) -> None:
        notification_id = await api.add(ALICE, title="Listed", actor_id="5", actor_name="Dan")
        query = f"{{ notifications {{ nodes {{ {NOTIFICATION_FIELDS} }} }} }}"
        single = (await api.data(NOTIFICATION, {"id": str(notification_id)}))["notification"]
        assert (await api.data(query))["notifications"]["nodes"] == [single]


BOOLEAN_FILTERS = [
    ("read", {"read_at": T0, "seen_at": T0}),
    ("seen", {"seen_at": T0}),
    ("dismissed", {"dismissed_at": T0}),
    ("important", {"important": True}),
    ("mention", {"mention": True}),
    ("actionRequired", {"action_required": True}),
    ("madeByAutomation", {"made_by_automation": True}),
]


class TestNotificationFilter:
    @pytest.mark.parametrize(
        ("field", "state"), BOOLEAN_FILTERS, ids=[f for f, _ in BOOLEAN_FILTERS]
    )
    async def test_boolean_field(self, api: Api, field: str, state: dict[str, Any]) -> None:
        yes_1 = await api.add(ALICE, **state)
        no_1 = await api.add(ALICE)
        yes_2 = await api.add(ALICE, **state)
        no_2 = await api.add(ALICE)
        await api.add(BOB, **state)
        await api.add(BOB)
        assert await listed(api, {field: True}) == [yes_2, yes_1]
        assert await listed(api, {field: False}) == [no_2, no_1]
        assert await listed(api, {field: None}) == [no_2, yes_2, no_1, yes_1]

    async def test_ids(self, api: Api) -> None:
        a = await api.add(ALICE)
        b = await api.add(ALICE)
        c = await api.add(ALICE)
        bobs = await api.add(BOB)
        wanted = [str(a), str(c), str(bobs), str(c + 1000)]
        assert await listed(api, {"ids": wanted}) == [c, a]
        assert await listed(api, {"ids": [str(b)]}) == [b]

    async def test_empty_ids_match_nothing(self, api: Api) -> None:
        await api.add(ALICE)
        assert await listed(api, {"ids": []}) == []

    async def test_target_type_is_case_insensitive(self, api: Api) -> None:
        title_case = await api.add(ALICE, target_type="Task")
        lower = await api.add(ALICE, target_type="task")
        upper = await api.add(ALICE, target_type="TASK")
        await api.add(ALICE, target_type="Todo")
        await api.add(ALICE, target_type="Tasks")
        await api.add(ALICE, target_type=None)
        await api.add(BOB, target_type="task")
        expected = [upper, lower, title_case]
        assert await listed(api, {"targetType": "Task"}) == expected
        assert await listed(api, {"targetType": "task"}) == expected
        assert await listed(api, {"targetType": "tAsK"}) == expected
        assert await listed(api, {"targetType": "nothing"}) == []

    async def test_project_id(self, api: Api) -> None:
        in_7 = await api.add(ALICE, project_id=7)
        await api.add(ALICE, project_id=8)
        await api.add(ALICE, project_id=None)
        also_7 = await api.add(ALICE, project_id=7)
        await api.add(BOB, project_id=7)
        assert await listed(api, {"projectId": "7"}) == [also_7, in_7]
        assert await listed(api, {"projectId": "9"}) == []

    async def test_created_after_is_exclusive(self, api: Api) -> None:
        at_1 = await api.add(ALICE, created_at=minutes(1))
        at_2 = await api.add(ALICE, created_at=minutes(2))
        at_3 = await api.add(ALICE, created_at=minutes(3))
        await api.add(BOB, created_at=minutes(3))
        assert await listed(api, {"createdAfter": minutes(1).isoformat()}) == [at_3, at_2]
        assert await listed(api, {"createdAfter": minutes(0).isoformat()}) == [at_3, at_2, at_1]
        assert await listed(api, {"createdAfter": minutes(3).isoformat()}) == []

    async def test_created_before_is_exclusive(self, api: Api) -> None:
        at_1 = await api.add(ALICE, created_at=minutes(1))
        at_2 = await api.add(ALICE, created_at=minutes(2))
        await api.add(ALICE, created_at=minutes(3))
        await api.add(BOB, created_at=minutes(1))
        assert await listed(api, {"createdBefore": minutes(3).isoformat()}) == [at_2, at_1]
        assert await listed(api, {"createdBefore": minutes(1).isoformat()}) == []

    async def test_created_range_honours_time_zones(self, api: Api) -> None:
        await api.add(ALICE, created_at=minutes(1))
        at_2 = await api.add(ALICE, created_at=minutes(2))
        await api.add(ALICE, created_at=minutes(3))
        plus_two = timezone_shifted(minutes(1), hours=2)
        minus_five = timezone_shifted(minutes(3), hours=-5)
        assert plus_two.startswith("2025-06-01T10:01:00")
        assert await listed(api, {"createdAfter": plus_two, "createdBefore": minus_five}) == [at_2]
        zulu = minutes(1).strftime("%Y-%m-%dT%H:%M:%SZ")
        assert await listed(api, {"createdAfter": zulu, "createdBefore": minus_five}) == [at_2]

    async def test_created_range_uses_created_not_last_action(self, api: Api) -> None:
        created_in_range = await api.add(ALICE, created_at=minutes(2), last_action_at=minutes(90))
        await api.add(ALICE, created_at=minutes(90), last_action_at=minutes(2))
        window = {"createdAfter": minutes(1).isoformat(), "createdBefore": minutes(3).isoformat()}
        assert await listed(api, window) == [created_in_range]

    async def test_last_action_after_is_exclusive(self, api: Api) -> None:
        await api.add(ALICE, created_at=minutes(1), last_action_at=minutes(10))
        at_20 = await api.add(ALICE, created_at=minutes(2), last_action_at=minutes(20))
        at_30 = await api.add(ALICE, created_at=minutes(3), last_action_at=minutes(30))
        await api.add(ALICE, created_at=minutes(40))  # no action: lastActionAt is null
        await api.add(BOB, created_at=minutes(1), last_action_at=minutes(30))
        assert await listed(api, {"lastActionAfter": minutes(10).isoformat()}) == [at_30, at_20]

    async def test_last_action_before_is_exclusive(self, api: Api) -> None:
        at_10 = await api.add(ALICE, created_at=minutes(1), last_action_at=minutes(10))
        at_20 = await api.add(ALICE, created_at=minutes(2), last_action_at=minutes(20))
        await api.add(ALICE, created_at=minutes(3), last_action_at=minutes(30))
        await api.add(ALICE, created_at=minutes(4))  # no action: lastActionAt is null
        await api.add(BOB, created_at=minutes(1), last_action_at=minutes(10))
        assert await listed(api, {"lastActionBefore": minutes(30).isoformat()}) == [at_20, at_10]
        window = {
            "lastActionAfter": minutes(10).isoformat(),
            "lastActionBefore": minutes(30).isoformat(),
        }
        assert await listed(api, window) == [at_20]

    async def test_fields_combine_with_and(self, api: Api) -> None:
        match = await api.add(ALICE, important=True, target_type="Task", project_id=7)
        await api.add(ALICE, important=True, target_type="Task", project_id=7, read_at=T0)
        await api.add(ALICE, important=False, target_type="Task", project_id=7)
        await api.add(ALICE, important=True, target_type="Deal", project_id=7)
        await api.add(ALICE, important=True, target_type="Task", project_id=8)
        spec = {"important": True, "read": False, "targetType": "task", "projectId": "7"}
        assert await listed(api, spec) == [match]

    async def test_filter_applies_to_page_and_total(self, api: Api) -> None:
        important = [await api.add(ALICE, important=True) for _ in range(3)]
        for _ in range(4):
            await api.add(ALICE)
        spec = {"important": True}
        connection = (await api.data(LIST_IDS, {"filter": spec, "first": 2}))["notifications"]
        assert ids(connection) == important[::-1][:2]
        assert connection["totalCount"] == 3
        page = await api.data(PAGE, {"filter": spec, "page": 1, "pageSize": 10})
        assert ids(page["notificationsPage"]) == important[::-1]
        assert page["notificationsPage"]["totalCount"] == 3

    async def test_null_filter_lists_everything(self, api: Api) -> None:
        added = [await api.add(ALICE, dismissed_at=T0), await api.add(ALICE)]
        assert await listed(api, None) == added[::-1]
        assert await listed(api, {}) == added[::-1]


class TestGetTransport:
    async def test_get_runs_a_query(self, api: Api) -> None:
        notification_id = await api.add(ALICE, title="By GET")
        response = await api.client.get(
            "/graphql",
            params={"query": "{ notifications { nodes { id title } } }"},
            headers=api.auth(),
        )
        assert response.status == 200
        body = await response.json()
        assert body == {
            "data": {"notifications": {"nodes": [{"id": str(notification_id), "title": "By GET"}]}}
        }

    async def test_get_refuses_a_mutation(self, api: Api) -> None:
        await api.add(ALICE)
        before = await api.snapshot()
        response = await api.client.get(
            "/graphql", params={"query": "mutation { markAllRead { count } }"}, headers=api.auth()
        )
        assert response.status in (400, 405)
        assert await api.snapshot() == before

    async def test_get_without_token_is_unauthenticated(self, api: Api) -> None:
        response = await api.client.get(
            "/graphql", params={"query": "{ notifications { totalCount } }"}
        )
        assert response.status in (200, 401)
        assert_error(await response.json(), "UNAUTHENTICATED")


def timezone_shifted(moment: datetime, *, hours: int) -> str:
    """``moment`` written in a UTC offset of ``hours``."""
    return moment.astimezone(timezone(timedelta(hours=hours))).isoformat()
