"""Mute rules: a user's publishes that never reach their inbox, checked in the publish itself."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from notifgql.db.models import activities, notifications
from tests.client import ALICE, ALICE_ELSEWHERE, BOB, Api, Person
from tests.graphql.documents import assert_error
from tests.graphql.test_publish import publish, task

MUTE = """
mutation($rule: MuteRuleInput!) {
  mute(rule: $rule) { id category targetType groupKey projectId createdAt }
}
"""
UNMUTE = "mutation($id: ID!) { unmute(id: $id) { count } }"
RULES = "{ muteRules { id category targetType groupKey projectId } }"


async def mute(api: Api, rule: dict[str, Any], as_: Person = ALICE) -> dict[str, Any]:
    return (await api.data(MUTE, {"rule": rule}, as_=as_))["mute"]  # type: ignore[no-any-return]


async def rules(api: Api, as_: Person = ALICE) -> list[dict[str, Any]]:
    return (await api.data(RULES, as_=as_))["muteRules"]  # type: ignore[no-any-return]


class TestRules:
    async def test_listed_newest_first_and_only_ones_own(self, api: Api) -> None:
        first = await mute(api, {"targetType": "Task"})
        second = await mute(api, {"groupKey": "task:7", "projectId": "5", "category": "ci"})
        await mute(api, {"targetType": "task"}, as_=BOB)
        await mute(api, {"targetType": "task"}, as_=ALICE_ELSEWHERE)
        assert second["createdAt"] >= first["createdAt"]
        assert await rules(api) == [
            {
                "id": second["id"],
                "category": "ci",
                "targetType": None,
                "groupKey": "task:7",
                "projectId": "5",
            },
            {
                "id": first["id"],
                "category": None,
                "targetType": "Task",
                "groupKey": None,
                "projectId": None,
            },
        ]

    async def test_a_rule_needs_a_criterion(self, api: Api) -> None:
        for rule in ({}, {"category": None, "targetType": None}):
            body = await api.gql(MUTE, {"rule": rule})
            assert_error(body, "BAD_USER_INPUT")
            assert body["errors"][0]["extensions"]["parameter"] == "rule"
        body = await api.gql(MUTE, {"rule": {"targetType": " "}})
        assert_error(body, "BAD_USER_INPUT")
        assert body["errors"][0]["message"] == "rule.targetType must not be empty"
        assert await rules(api) == []

    async def test_unmute_deletes_ones_own_only(self, api: Api) -> None:
        mine = await mute(api, {"targetType": "task"})
        theirs = await mute(api, {"targetType": "task"}, as_=BOB)
        for rule_id in (theirs["id"], "999999", "not-an-id"):
            assert await api.error_code(UNMUTE, {"id": rule_id}) == "NOT_FOUND"
        assert len(await rules(api, BOB)) == 1
        assert (await api.data(UNMUTE, {"id": mine["id"]}))["unmute"] == {"count": 1}
        assert await rules(api) == []
        assert await api.error_code(UNMUTE, {"id": mine["id"]}) == "NOT_FOUND"

    async def test_a_service_token_has_no_rules(self, api: Api) -> None:
        code = await api.error_code(MUTE, {"rule": {"targetType": "x"}}, role="service")
        assert code == "FORBIDDEN"


async def inboxes(api: Api) -> set[str]:
    async with api.database.read() as conn:
        found = await conn.execute(select(notifications.c.recipient_id))
        return set(found.scalars().all())


class TestPublishToMuted:
    async def test_writes_exactly_the_unmuted_of_1000(self, api: Api) -> None:
        recipients = [f"r{n:04}" for n in range(1000)]
        muted = {
            "r0003": {"targetType": "TASK"},
            "r0010": {"groupKey": "task:7"},
            "r0200": {"projectId": "5"},
            "r0999": {"targetType": "task", "projectId": "5", "groupKey": "task:7"},
            "r0007": {"category": "builds"},
            "r0008": {"category": "builds", "targetType": "task"},
        }
        # Rules that do not match this publish: every criterion must hold.
        kept = {
            "r0004": {"targetType": "task", "projectId": "6"},
            "r0005": {"groupKey": "task:8"},
            "r0006": {"category": "ci"},
            "r0009": {"category": "builds", "projectId": "6"},
        }
        for recipient, rule in (muted | kept).items():
            await mute(api, rule, as_=Person(recipient, ALICE.organization_id))
        # The same rule in another organization mutes nothing here.
        await mute(api, {"targetType": "task"}, as_=Person("r0000", "other-org"))
        value = task(recipients)
        value["notification"] |= {"projectId": "5", "category": "builds"}
        result = await publish(api, value)
        assert (result["created"], result["updated"]) == (994, 0)
        assert await inboxes(api) == set(recipients) - set(muted)
        again = await publish(api, value)
        assert (again["created"], again["updated"]) == (0, 994)
        async with api.database.read() as conn:
            stored = (await conn.execute(select(func.count()).select_from(activities))).scalar()
        assert stored == 2

    async def test_a_fully_muted_publish_stores_the_activity_only(self, api: Api) -> None:
        await mute(api, {"targetType": "task"})
        result = await publish(api, task([ALICE.recipient_id]))
        assert (result["created"], result["updated"]) == (0, 0)
        assert await inboxes(api) == set()
