"""Categories, tags and actions: published, filtered, counted, and completed."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.client import ALICE, ALICE_ELSEWHERE, BOB, Api, Person
from tests.graphql.documents import assert_error
from tests.graphql.test_publish import publish, rows, task

APPROVE = {"id": "approve", "label": "Approve", "url": "/approve", "primary": True}
LATER_ = {"id": "later", "label": "Later"}
FIELDS = """id category tags actionRequired
  actions { id label url primary status completedAt }"""
ONE = "query($id: ID!) { notification(id: $id) { " + FIELDS + " } }"
LIST = "query($f: NotificationFilter) { notifications(filter: $f) { nodes { id } } }"
COUNTS = "query($f: NotificationFilter) { notificationCounts(filter: $f) { total actionRequired } }"
COMPLETE = (
    "mutation($id: ID!, $action: ID!) { completeAction(id: $id, actionId: $action) { "
    + FIELDS
    + " } }"
)
COMPLETE_ALL = (
    "mutation($key: String!, $action: ID!) {"
    " completeActions(groupKey: $key, actionId: $action) { count } }"
)
CREATE = "mutation($input: CreateNotificationInput!) { createNotification(input: $input) { id } }"


def tabbed(recipients: list[str], **content: Any) -> dict[str, Any]:
    """A publish about task 7 with a category, tags and actions (``content`` overrides)."""
    value = task(recipients)
    value["notification"] |= {
        "category": "work",
        "tags": ["ship", "q3", "ship"],
        "actions": [APPROVE, LATER_],
    } | content
    return value


async def only_id(api: Api, person: Person = ALICE) -> str:
    nodes = (await api.data(LIST, as_=person))["notifications"]["nodes"]
    assert len(nodes) == 1, nodes
    return str(nodes[0]["id"])


async def listed(api: Api, spec: dict[str, Any], person: Person = ALICE) -> list[str]:
    nodes = (await api.data(LIST, {"f": spec}, as_=person))["notifications"]["nodes"]
    return sorted(node["id"] for node in nodes)


async def complete(api: Api, notification_id: str, action: str, as_: Person = ALICE) -> Any:
    variables = {"id": notification_id, "action": action}
    return (await api.data(COMPLETE, variables, as_=as_))["completeAction"]


async def complete_all(api: Api, key: str, action: str, as_: Person = ALICE) -> int:
    variables = {"key": key, "action": action}
    data = await api.data(COMPLETE_ALL, variables, as_=as_, role="service")
    return int(data["completeActions"]["count"])


async def crm_action_required(api: Api, person: Person = ALICE) -> int:
    response = await api.client.get(
        "/notifications", params={"action_required": "1"}, headers=api.auth(person)
    )
    assert response.status == 200
    return int((await response.json(content_type=None))["count"])


class TestPublished:
    async def test_publish_sets_category_tags_and_pending_actions(self, api: Api) -> None:
        await publish(api, tabbed(["1001"]))
        node = (await api.data(ONE, {"id": await only_id(api)}))["notification"]
        assert node["category"] == "work"
        assert node["tags"] == ["ship", "q3"]
        assert node["actionRequired"] is True
        assert node["actions"] == [
            APPROVE | {"status": "PENDING", "completedAt": None},
            LATER_ | {"url": None, "primary": False, "status": "PENDING", "completedAt": None},
        ]

    async def test_each_publish_sets_them_anew(self, api: Api) -> None:
        await publish(api, tabbed(["1001"]))
        await publish(api, tabbed(["1001"], category=None, tags=["q4"], actions=[]))
        node = (await api.data(ONE, {"id": await only_id(api)}))["notification"]
        assert (node["category"], node["tags"], node["actions"]) == (None, ["q4"], [])
        assert node["actionRequired"] is False

    async def test_create_notification_sets_them(self, api: Api) -> None:
        new = {
            "recipientId": "1001",
            "title": "Sign",
            "category": "legal",
            "tags": ["contract-x"],
            "actions": [APPROVE],
        }
        created = await api.data(CREATE, {"input": new}, role="service")
        node = (await api.data(ONE, {"id": created["createNotification"]["id"]}))["notification"]
        assert (node["category"], node["tags"]) == ("legal", ["contract-x"])
        assert [(a["id"], a["status"]) for a in node["actions"]] == [("approve", "PENDING")]
        assert node["actionRequired"] is True

    async def test_bad_actions_tags_and_categories_are_refused(self, api: Api) -> None:
        cases = [
            ({"actions": [APPROVE, APPROVE | {"label": "Again"}]}, "input.notification.actions"),
            ({"actions": [APPROVE | {"id": " "}]}, "input.notification.actions"),
            ({"actions": [APPROVE | {"label": "x" * 201}]}, "input.notification.actions"),
            (
                {"actions": [APPROVE | {"id": f"a{n}"} for n in range(11)]},
                "input.notification.actions",
            ),
            ({"tags": [f"t{n}" for n in range(21)]}, "input.notification.tags"),
            ({"tags": [""]}, "input.notification.tags"),
            ({"category": "c" * 101}, "input.notification.category"),
        ]
        for content, path in cases:
            body = await api.gql(
                "mutation($input: PublishInput!) { publish(input: $input) { created } }",
                {"input": tabbed(["1001"], **content)},
                role="service",
            )
            assert_error(body, "BAD_USER_INPUT")
            assert body["errors"][0]["message"].startswith(path), body
        assert await rows(api) == []


class TestFilters:
    async def test_category_tags_and_other_conditions(self, api: Api) -> None:
        await publish(api, tabbed(["1001"]))
        await publish(api, tabbed(["1001"], tags=["ship"], category="home") | {"groupKey": "b"})
        await publish(api, tabbed(["1001"], tags=[], important=True) | {"groupKey": "c"})
        a, b, c = (str(row.id) for row in await rows(api))
        assert await listed(api, {"category": "work"}) == sorted([a, c])
        assert await listed(api, {"category": "Work"}) == []
        assert await listed(api, {"tags": ["ship"]}) == sorted([a, b])
        assert await listed(api, {"tags": ["ship", "q3"]}) == [a]
        assert await listed(api, {"tags": ["q3", "nope"]}) == []
        assert await listed(api, {"tags": []}) == sorted([a, b, c])
        assert await listed(api, {"category": "work", "important": True}) == [c]
        assert await listed(api, {"category": "home", "tags": ["ship"]}) == [b]
        assert await listed(api, {"category": "work"}, BOB) == []
        # Marks go through the same filter.
        marked = await api.data('mutation { markAllRead(filter: {tags: ["q3"]}) { count } }')
        assert marked["markAllRead"]["count"] == 1

    async def test_too_many_filter_tags_are_refused(self, api: Api) -> None:
        body = await api.gql(LIST, {"f": {"tags": [f"t{n}" for n in range(21)]}})
        assert_error(body, "BAD_USER_INPUT")
        assert body["errors"][0]["message"].startswith("filter.tags"), body


class TestActionRequired:
    async def test_follows_pending_actions_then_the_flag(self, api: Api) -> None:
        await publish(api, tabbed(["1001"]))
        await publish(api, tabbed(["1001"], actions=[], actionRequired=True) | {"groupKey": "f"})
        await publish(api, tabbed(["1001"], actions=[]) | {"groupKey": "n"})
        pending, flagged, neither = (str(row.id) for row in await rows(api))

        async def required() -> tuple[list[str], int, int]:
            counts = (await api.data(COUNTS))["notificationCounts"]["actionRequired"]
            return (
                await listed(api, {"actionRequired": True}),
                counts,
                await crm_action_required(api),
            )

        assert await required() == (sorted([pending, flagged]), 2, 2)
        assert (await complete(api, pending, "approve"))["actionRequired"] is True
        assert await required() == (sorted([pending, flagged]), 2, 2)
        done = await complete(api, pending, "later")
        assert done["actionRequired"] is False
        assert {a["status"] for a in done["actions"]} == {"DONE"}
        assert all(a["completedAt"] for a in done["actions"])
        assert await required() == ([flagged], 1, 1)
        assert await listed(api, {"actionRequired": False}) == sorted([pending, neither])


class TestCompleteAction:
    async def test_the_owner_completes_one_action(self, api: Api) -> None:
        await publish(api, tabbed(["1001"]))
        notification_id = await only_id(api)
        node = await complete(api, notification_id, "approve")
        assert [(a["id"], a["status"]) for a in node["actions"]] == [
            ("approve", "DONE"),
            ("later", "PENDING"),
        ]
        assert node["actions"][0]["completedAt"] is not None
        again = (await api.data(ONE, {"id": notification_id}))["notification"]
        assert again == node

    async def test_a_repeat_changes_nothing(self, api: Api) -> None:
        await publish(api, tabbed(["1001"]))
        notification_id = await only_id(api)
        first = await complete(api, notification_id, "approve")
        before = await api.snapshot()
        assert await complete(api, notification_id, "approve") == first
        assert await api.snapshot() == before

    async def test_another_users_notification_is_not_found(self, api: Api) -> None:
        await publish(api, tabbed(["1001"]))
        notification_id = await only_id(api)
        before = await api.snapshot()
        for person in (BOB, ALICE_ELSEWHERE):
            variables = {"id": notification_id, "action": "approve"}
            assert await api.error_code(COMPLETE, variables, as_=person) == "NOT_FOUND"
        assert await api.snapshot() == before

    async def test_an_unknown_action_is_bad_input(self, api: Api) -> None:
        await publish(api, tabbed(["1001"]))
        before = await api.snapshot()
        body = await api.gql(COMPLETE, {"id": await only_id(api), "action": "nope"})
        assert_error(body, "BAD_USER_INPUT")
        assert body["errors"][0]["message"].startswith("actionId"), body
        assert body["errors"][0]["extensions"]["parameter"] == "actionId"
        assert await api.snapshot() == before


class TestCompleteActions:
    async def test_every_recipient_of_the_group(self, api: Api) -> None:
        await publish(api, tabbed(["1001", "1002"]))
        await publish(api, tabbed(["1001"]) | {"groupKey": "other"})
        assert await complete_all(api, "task:7", "approve") == 2
        assert await complete_all(api, "task:7", "approve") == 0
        for person in (ALICE, BOB):
            nodes = await api.data(
                "{ notifications { nodes { groupKey actions { id status } } } }", as_=person
            )
            for node in nodes["notifications"]["nodes"]:
                statuses = {a["id"]: a["status"] for a in node["actions"]}
                expected = "DONE" if node["groupKey"] == "task:7" else "PENDING"
                assert statuses == {"approve": expected, "later": "PENDING"}, node

    async def test_another_organization_changes_nothing(self, api: Api) -> None:
        await publish(api, tabbed(["1001", "1002"]))
        before = await api.snapshot()
        assert await complete_all(api, "task:7", "approve", as_=ALICE_ELSEWHERE) == 0
        assert await api.snapshot() == before

    async def test_an_unknown_action_or_user_token_changes_nothing(self, api: Api) -> None:
        await publish(api, tabbed(["1001"]))
        before = await api.snapshot()
        body = await api.gql(COMPLETE_ALL, {"key": "task:7", "action": "nope"}, role="service")
        assert_error(body, "BAD_USER_INPUT")
        assert body["errors"][0]["message"].startswith("actionId"), body
        variables = {"key": "task:7", "action": "approve"}
        assert await api.error_code(COMPLETE_ALL, variables) == "FORBIDDEN"
        assert await api.snapshot() == before

    async def test_concurrent_completions_are_all_kept(self, api: Api) -> None:
        actions = [{"id": f"a{n}", "label": f"Step {n}"} for n in range(6)]
        await publish(api, tabbed(["1001", "1002"], actions=actions))
        alice_id = await only_id(api)
        bob_id = await only_id(api, BOB)
        await asyncio.gather(
            *(complete(api, alice_id, f"a{n}") for n in range(0, 6, 2)),
            *(complete(api, bob_id, f"a{n}", as_=BOB) for n in range(1, 6, 2)),
            *(complete_all(api, "task:7", f"a{n}") for n in (1, 2)),
        )
        alice, bob = await rows(api)
        assert {a["id"] for a in alice.actions if a["status"] == "DONE"} == {"a0", "a1", "a2", "a4"}
        assert {a["id"] for a in bob.actions if a["status"] == "DONE"} == {"a1", "a2", "a3", "a5"}
        assert (alice.action_required, bob.action_required) == (True, True)
        assert (str(alice.id), str(bob.id)) == (alice_id, bob_id)
