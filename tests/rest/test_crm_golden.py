"""The CRM document's examples, replayed against the CRM dialect."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta
from typing import Any

from notifgql.db.engine import Database
from tests.client import Person, insert_notification
from tests.rest.examples import crm_example, crm_patch_example

RECEIVER = Person("1", "77")


async def load(database: Database, example: dict[str, Any]) -> None:
    """Store the example's notifications; same second, listed newest first by sub-second."""
    for position, item in enumerate(example["notifications"]):
        created = datetime.fromisoformat(item["created_at"]) + timedelta(
            milliseconds=900 - 100 * position
        )
        seen = item["seen_at"]
        await insert_notification(
            database,
            # The document's ids are numbers; stored ids are their decimal text.
            Person(str(item["receiver"]["id"]), RECEIVER.organization_id),
            id=item["id"],
            title=item["title"],
            description=item["description"],
            actor_id=str(item["sender"]["id"]),
            resource=item["resource"],
            reason=item["reason"],
            seen_at=None if seen is None else datetime.fromisoformat(seen),
            created_at=created,
        )
    # Another receiver's notification must not be listed or counted.
    await insert_notification(database, Person("2", RECEIVER.organization_id), title="not yours")


class TestList:
    async def test_documented_response(self, api: Any) -> None:
        example = crm_example()
        await load(api.database, example)
        response = await api.client.get("/notifications", headers=api.auth(RECEIVER))
        assert response.status == 200
        assert response.content_type == "application/json"
        expected = copy.deepcopy(example)
        # The document's count says 2 beside three listed notifications; the contract defines
        # count as the total that matches, which for this inbox is 3.
        expected["count"] = len(example["notifications"])
        assert await response.json() == expected

    async def test_seen_filter_zero_lists_only_unseen(self, api: Any) -> None:
        await load(api.database, crm_example())
        response = await api.client.get("/notifications?seen=0", headers=api.auth(RECEIVER))
        body = await response.json()
        assert [item["id"] for item in body["notifications"]] == [1]
        assert body["count"] == 1

    async def test_seen_filter_one_lists_only_seen(self, api: Any) -> None:
        await load(api.database, crm_example())
        response = await api.client.get("/notifications?seen=1", headers=api.auth(RECEIVER))
        body = await response.json()
        assert [item["id"] for item in body["notifications"]] == [2, 3]
        assert body["count"] == 2


class TestPatch:
    async def test_documented_request_marks_everything_seen(self, api: Any) -> None:
        await load(api.database, crm_example())
        response = await api.client.patch(
            "/notifications", json=crm_patch_example(), headers=api.auth(RECEIVER)
        )
        assert response.status == 204
        assert await response.read() == b""
        listed = await api.client.get("/notifications?seen=0", headers=api.auth(RECEIVER))
        assert (await listed.json())["count"] == 0
        # The other receiver's notification stays unseen.
        other = await api.client.get("/notifications?seen=0", headers=api.auth(Person("2", "77")))
        assert (await other.json())["count"] == 1
