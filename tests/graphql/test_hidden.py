"""Withdrawn and expired notifications: shown nowhere, through every door, from that moment."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import update

from notifgql.db.models import notifications
from tests.client import ALICE, ALICE_ELSEWHERE, BOB, Api, Person
from tests.graphql.documents import assert_error
from tests.graphql.test_publish import LATER, publish, rows, task

WITHDRAW = "mutation($key: String!) { withdraw(groupKey: $key) { count } }"
COUNTS = "{ notificationCounts { total unread unseen } }"
LIST = "{ notifications { totalCount nodes { id groupKey } } }"
PAGE = "{ notificationsPage { totalCount nodes { id } } }"
ONE = "query($id: ID!) { notification(id: $id) { id } }"
READ_ONE = "mutation($id: ID!) { readNotification(id: $id) { id } }"


async def withdraw(api: Api, key: str, as_: Person = ALICE) -> int:
    data = await api.data(WITHDRAW, {"key": key}, as_=as_, role="service")
    return int(data["withdraw"]["count"])


async def everywhere(api: Api, notification_id: int, person: Person = ALICE) -> dict[str, Any]:
    """What every door shows ``person`` of their inbox and of this one notification."""
    headers = api.auth(person)
    jsonapi = await api.client.get("/api/v2/notifications", headers=headers)
    jsonapi_one = await api.client.get(f"/api/v2/notifications/{notification_id}", headers=headers)
    crm = await api.client.get("/notifications", headers=headers)
    return {
        "counts": (await api.data(COUNTS, as_=person))["notificationCounts"],
        "list": (await api.data(LIST, as_=person))["notifications"]["totalCount"],
        "page": (await api.data(PAGE, as_=person))["notificationsPage"]["totalCount"],
        "one": (await api.data(ONE, {"id": str(notification_id)}, as_=person))["notification"],
        "jsonapi": [item["id"] for item in (await jsonapi.json(content_type=None))["data"]],
        "jsonapi_one": jsonapi_one.status,
        "crm": (await crm.json(content_type=None))["count"],
    }


SHOWN_NOTHING = {
    "counts": {"total": 0, "unread": 0, "unseen": 0},
    "list": 0,
    "page": 0,
    "one": None,
    "jsonapi": [],
    "jsonapi_one": 404,
    "crm": 0,
}


class TestWithdraw:
    async def test_removes_the_group_from_every_inbox_and_every_door(self, api: Api) -> None:
        await publish(api, task(["1001", "1002"]))
        alice, bob = await rows(api)
        before = await everywhere(api, alice.id)
        assert before["counts"] == {"total": 1, "unread": 1, "unseen": 1}
        assert before["jsonapi"] == [str(alice.id)]
        assert before["crm"] == 1
        assert await withdraw(api, "task:7") == 2
        assert await everywhere(api, alice.id) == SHOWN_NOTHING
        assert await everywhere(api, bob.id, BOB) == SHOWN_NOTHING

    async def test_marks_no_longer_reach_it(self, api: Api) -> None:
        await publish(api, task(["1001"]))
        (row,) = await rows(api)
        await withdraw(api, "task:7")
        code = await api.error_code(READ_ONE, {"id": str(row.id)})
        assert code == "NOT_FOUND"
        marked = await api.data("mutation { markAllRead { count } }")
        assert marked["markAllRead"]["count"] == 0
        assert (await api.row(row.id)).read_at is None

    async def test_leaves_other_groups_alone(self, api: Api) -> None:
        await publish(api, task(["1001"]))
        await publish(api, task(["1001"], groupKey="invoice:1"))
        assert await withdraw(api, "invoice:1") == 1
        listed = (await api.data(LIST))["notifications"]["nodes"]
        assert [node["groupKey"] for node in listed] == ["task:7"]

    async def test_a_second_withdraw_changes_nothing(self, api: Api) -> None:
        await publish(api, task(["1001"]))
        assert await withdraw(api, "task:7") == 1
        (first,) = await rows(api)
        assert await withdraw(api, "task:7") == 0
        (second,) = await rows(api)
        assert second.withdrawn_at == first.withdrawn_at

    async def test_a_later_publish_shows_the_group_again(self, api: Api) -> None:
        await publish(api, task(["1001"]))
        await withdraw(api, "task:7")
        result = await publish(api, task(["1001"]))
        assert (result["created"], result["updated"]) == (0, 1)
        counts = (await api.data(COUNTS))["notificationCounts"]
        assert counts == {"total": 1, "unread": 1, "unseen": 1}

    async def test_another_organization_cannot_withdraw_the_group(self, api: Api) -> None:
        await publish(api, task(["1001"]))
        assert await withdraw(api, "task:7", as_=ALICE_ELSEWHERE) == 0
        assert (await api.data(COUNTS))["notificationCounts"]["total"] == 1
        (row,) = await rows(api)
        assert row.withdrawn_at is None

    async def test_only_services_withdraw(self, api: Api) -> None:
        await publish(api, task(["1001"]))
        assert await api.error_code(WITHDRAW, {"key": "task:7"}) == "FORBIDDEN"
        assert (await api.data(COUNTS))["notificationCounts"]["total"] == 1

    async def test_an_empty_or_overlong_key_is_refused(self, api: Api) -> None:
        await publish(api, task(["1001"]))
        before = await api.snapshot()
        for key in ("", "   ", "k" * 256):
            body = await api.gql(WITHDRAW, {"key": key}, role="service")
            assert_error(body, "BAD_USER_INPUT")
            assert "groupKey" in body["errors"][0]["message"], body
        assert await api.snapshot() == before

    async def test_concurrent_with_publishes_to_the_group(self, api: Api) -> None:
        # Both take the group's rows in one order (recipient ids): a queue, not a deadlock.
        recipients = [f"r{number:03}" for number in range(50)]
        await publish(api, task(recipients))
        results = await asyncio.gather(
            publish(api, task(recipients)),
            withdraw(api, "task:7"),
            publish(api, task(recipients)),
        )
        stored = await rows(api)
        assert len(stored) == 50
        assert results[0] == {**results[0], "created": 0, "updated": 50}
        assert len({row.withdrawn_at is None for row in stored}) == 1


class TestExpiry:
    async def test_an_expired_notification_is_shown_nowhere(self, api: Api) -> None:
        value = task(["1001"])
        value["notification"]["expiresAt"] = LATER.isoformat()
        await publish(api, value)
        (row,) = await rows(api)
        assert (await everywhere(api, row.id))["list"] == 1
        async with api.database.transaction() as conn:
            past = datetime.now(UTC) - timedelta(seconds=1)
            await conn.execute(update(notifications).values(expires_at=past))
        assert await everywhere(api, row.id) == SHOWN_NOTHING

    async def test_published_already_expired_is_shown_nowhere(self, api: Api) -> None:
        value = task(["1001"])
        value["notification"]["expiresAt"] = "2020-01-01T00:00:00Z"
        result = await publish(api, value)
        assert result["created"] == 1
        (row,) = await rows(api)
        assert await everywhere(api, row.id) == SHOWN_NOTHING

    async def test_withdrawing_an_expired_one_counts_nothing(self, api: Api) -> None:
        value = task(["1001"])
        value["notification"]["expiresAt"] = "2020-01-01T00:00:00Z"
        await publish(api, value)
        assert await withdraw(api, "task:7") == 0
