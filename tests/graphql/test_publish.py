"""publish: one activity stored once, grouped in place in each recipient's inbox."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from notifgql.db.models import activities, notifications
from tests.client import ALICE, ALICE_ELSEWHERE, Api, Person
from tests.graphql.documents import NOTIFICATION, READ, assert_error, when

PUBLISH = """
mutation($input: PublishInput!) { publish(input: $input) { created updated activityId } }
"""
MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TUESDAY = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)
# Far enough ahead that a notification expiring then is still shown when the suite runs.
LATER = datetime(2099, 3, 3, 9, 0, tzinfo=UTC)


def task(recipients: list[str], **extra: Any) -> dict[str, Any]:
    """A publish about task 7 to ``recipients``."""
    return {
        "recipientIds": recipients,
        "activity": {
            "title": "Ann moved the task",
            "actorId": "auth0|ann",
            "actorName": "Ann",
            "excerpt": "to Done",
            "changeset": {"status": ["open", "done"]},
            "occurredAt": MONDAY.isoformat(),
        },
        "notification": {"title": "Ship it", "targetType": "task", "targetId": "7"},
    } | extra


async def publish(api: Api, value: dict[str, Any], as_: Person = ALICE) -> dict[str, Any]:
    data = await api.data(PUBLISH, {"input": value}, as_=as_, role="service")
    return data["publish"]  # type: ignore[no-any-return]


async def rows(api: Api) -> list[Any]:
    async with api.database.read() as conn:
        query = select(notifications).order_by(notifications.c.id)
        return list((await conn.execute(query)).all())


async def activity_count(api: Api) -> int:
    async with api.database.read() as conn:
        return int((await conn.execute(select(func.count()).select_from(activities))).scalar_one())


class TestNewGroup:
    async def test_creates_one_notification_per_recipient(self, api: Api) -> None:
        result = await publish(api, task(["1001", "1002", "1001"]))
        assert (result["created"], result["updated"]) == (2, 0)
        stored = await rows(api)
        assert [(row.recipient_id, row.group_key) for row in stored] == [
            ("1001", "task:7"),
            ("1002", "task:7"),
        ]
        for row in stored:
            assert (row.new_activities_count, row.first_unread_activity_id) == (
                1,
                int(result["activityId"]),
            )
            assert (row.title, row.actor_id, row.last_action_at) == ("Ship it", "auth0|ann", MONDAY)
        assert await activity_count(api) == 1

    async def test_shows_in_the_inbox(self, api: Api) -> None:
        await publish(api, task(["1001"]))
        (row,) = await rows(api)
        node = (await api.data(NOTIFICATION, {"id": str(row.id)}))["notification"]
        assert (node["title"], node["excerpt"], node["targetType"]) == (
            "Ship it",
            "to Done",
            "task",
        )
        assert node["changeset"] == {"status": ["open", "done"]}
        assert node["actor"] == {"id": "auth0|ann", "name": "Ann"}
        assert (node["newActivitiesCount"], when(node["lastActionAt"])) == (1, MONDAY)

    async def test_group_key_and_expiry_are_shown(self, api: Api) -> None:
        value = task(["1001"], groupKey="invoice:2026-03")
        value["notification"]["expiresAt"] = LATER.isoformat()
        await publish(api, value)
        (row,) = await rows(api)
        query = "query($id: ID!) { notification(id: $id) { groupKey expiresAt } }"
        node = (await api.data(query, {"id": str(row.id)}))["notification"]
        assert (node["groupKey"], when(node["expiresAt"])) == ("invoice:2026-03", LATER)

    async def test_a_created_notification_is_a_group_of_its_own(self, api: Api) -> None:
        create = (
            "mutation($input: CreateNotificationInput!) {"
            " createNotification(input: $input) { groupKey expiresAt } }"
        )
        value = {"input": {"recipientId": "1001", "title": "Hello"}}
        first = (await api.data(create, value, role="service"))["createNotification"]
        second = (await api.data(create, value, role="service"))["createNotification"]
        assert first["groupKey"].startswith("notification:")
        assert first["groupKey"] != second["groupKey"]
        assert first["expiresAt"] is None

    async def test_without_a_target_each_publish_is_a_new_group(self, api: Api) -> None:
        value = task(["1001"], notification=None)
        first = await publish(api, value)
        second = await publish(api, value)
        assert (first["created"], second["created"]) == (1, 1)
        stored = await rows(api)
        assert len({row.group_key for row in stored}) == 2
        assert [row.title for row in stored] == ["Ann moved the task"] * 2


class TestExistingGroup:
    async def test_appends_in_place_and_makes_it_unread_again(self, api: Api) -> None:
        first = await publish(api, task(["1001"]))
        (row,) = await rows(api)
        await api.data(READ, {"id": str(row.id)})
        (read,) = await rows(api)
        assert (read.new_activities_count, read.first_unread_activity_id) == (0, None)
        again = task(["1001"])
        again["activity"] |= {"title": "Ann reopened it", "occurredAt": TUESDAY.isoformat()}
        second = await publish(api, again)
        assert (second["created"], second["updated"]) == (0, 1)
        assert second["activityId"] != first["activityId"]
        (after,) = await rows(api)
        assert after.id == row.id
        assert after.new_activities_count == 1
        assert after.first_unread_activity_id == int(second["activityId"])
        assert after.activity_count == 2
        assert (after.read_at, after.seen_at, after.dismissed_at) == (None, None, None)
        assert (after.last_action_at, after.activity_at) == (TUESDAY, TUESDAY)
        assert await activity_count(api) == 2

    async def test_sets_the_first_unread_activity_when_there_is_none(self, api: Api) -> None:
        existing = await api.add(ALICE, group_key="task:7", new_activities_count=3)
        result = await publish(api, task(["1001", "1002"]))
        assert (result["created"], result["updated"]) == (1, 1)
        row = await api.row(existing)
        assert (row.new_activities_count, row.first_unread_activity_id) == (
            4,
            int(result["activityId"]),
        )

    async def test_another_organization_cannot_append_to_the_group(self, api: Api) -> None:
        await publish(api, task(["1001"]))
        before = await rows(api)
        result = await publish(api, task(["1001"]), as_=ALICE_ELSEWHERE)
        assert (result["created"], result["updated"]) == (1, 0)
        after = await rows(api)
        assert after[0] == before[0]
        assert (after[1].organization_id, after[1].group_key) == ("20", "task:7")

    async def test_concurrent_publishes_to_one_group_make_one_notification(self, api: Api) -> None:
        results = await asyncio.gather(*(publish(api, task(["1001", "1002"])) for _ in range(20)))
        assert sum(result["created"] for result in results) == 2
        assert sum(result["updated"] for result in results) == 38
        stored = await rows(api)
        assert [(row.recipient_id, row.new_activities_count) for row in stored] == [
            ("1001", 20),
            ("1002", 20),
        ]
        first = min(int(result["activityId"]) for result in results)
        assert {row.first_unread_activity_id for row in stored} == {first}
        assert await activity_count(api) == 20


class TestRefused:
    async def test_needs_a_service_token(self, api: Api) -> None:
        body = await api.gql(PUBLISH, {"input": task(["1001"])})
        assert_error(body, "FORBIDDEN")
        assert (await rows(api), await activity_count(api)) == ([], 0)

    async def test_at_most_ten_thousand_recipients(self, api: Api) -> None:
        too_many = [f"r{n}" for n in range(10_001)]
        body = await api.gql(PUBLISH, {"input": task(too_many)}, role="service")
        assert_error(body, "BAD_USER_INPUT")
        assert "input.recipientIds" in body["errors"][0]["message"]
        assert (await rows(api), await activity_count(api)) == ([], 0)

    async def test_ten_thousand_recipients_in_batches(self, api: Api) -> None:
        many = [f"r{n}" for n in range(10_000)] + ["r0"]
        result = await publish(api, task(many))
        assert (result["created"], result["updated"]) == (10_000, 0)
        again = await publish(api, task(many))
        assert (again["created"], again["updated"]) == (0, 10_000)
        assert len(await rows(api)) == 10_000

    async def test_no_recipients(self, api: Api) -> None:
        body = await api.gql(PUBLISH, {"input": task([])}, role="service")
        assert_error(body, "BAD_USER_INPUT")
        assert await activity_count(api) == 0

    async def test_a_group_of_one_cannot_be_appended_to(self, api: Api) -> None:
        create = (
            'mutation { createNotification(input: {recipientId: "1001", title: "Hi"})'
            " { groupKey } }"
        )
        single = (await api.data(create, role="service"))["createNotification"]["groupKey"]
        before = await api.snapshot()
        for key in (single, "notification:anything"):
            body = await api.gql(PUBLISH, {"input": task(["1001"], groupKey=key)}, role="service")
            assert_error(body, "BAD_USER_INPUT")
            assert "input.groupKey" in body["errors"][0]["message"]
        assert (await api.snapshot(), await activity_count(api)) == (before, 0)

    async def test_an_empty_activity_title(self, api: Api) -> None:
        value = task(["1001"])
        value["activity"]["title"] = " "
        body = await api.gql(PUBLISH, {"input": value}, role="service")
        assert_error(body, "BAD_USER_INPUT")
        assert "input.activity.title" in body["errors"][0]["message"]
        assert (await rows(api), await activity_count(api)) == ([], 0)


class TestIdempotencyKey:
    async def test_a_retry_gets_the_first_result_and_writes_nothing(self, api: Api) -> None:
        value = task(["1001", "1002"], idempotencyKey="op-1")
        first = await publish(api, value)
        before = await rows(api)
        # The same request, written differently: duplicates and order do not matter.
        again = await publish(api, value | {"recipientIds": ["1002", "1001", "1002"]})
        assert again == first
        assert await rows(api) == before
        assert await activity_count(api) == 1

    async def test_the_same_key_with_another_input_is_refused(self, api: Api) -> None:
        await publish(api, task(["1001"], idempotencyKey="op-1"))
        before = await rows(api)
        body = await api.gql(
            PUBLISH, {"input": task(["1002"], idempotencyKey="op-1")}, role="service"
        )
        assert_error(body, "BAD_USER_INPUT")
        assert "input.idempotencyKey" in body["errors"][0]["message"]
        assert await rows(api) == before
        assert await activity_count(api) == 1

    async def test_concurrent_retries_write_once(self, api: Api) -> None:
        value = task(["1001"], idempotencyKey="op-1")
        results = await asyncio.gather(*(publish(api, value) for _ in range(10)))
        assert all(result == results[0] for result in results)
        assert (results[0]["created"], results[0]["updated"]) == (1, 0)
        (row,) = await rows(api)
        assert row.new_activities_count == 1
        assert await activity_count(api) == 1

    async def test_keys_belong_to_one_organization(self, api: Api) -> None:
        value = task(["1001"], idempotencyKey="op-1")
        ours = await publish(api, value)
        theirs = await publish(api, value, as_=ALICE_ELSEWHERE)
        assert theirs["activityId"] != ours["activityId"]
        assert theirs["created"] == 1
        assert await activity_count(api) == 2
