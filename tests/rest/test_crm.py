"""The CRM dialect beyond its documented examples: validation, atomicity, tenancy."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tests.client import ALICE, ALICE_ELSEWHERE, BOB, Api


async def patch(api: Api, body: Any, person: Any = ALICE) -> tuple[int, Any]:
    response = await api.client.patch("/notifications", json=body, headers=api.auth(person))
    text = await response.read()
    return response.status, text


def add(path: str, value: Any = None) -> dict[str, Any]:
    return {"op": "add", "path": path, "value": value}


class TestList:
    async def test_action_required_filter(self, api: Api) -> None:
        needed = await api.add(ALICE, action_required=True)
        await api.add(ALICE)
        response = await api.client.get("/notifications?action_required=1", headers=api.auth())
        body = await response.json()
        assert [item["id"] for item in body["notifications"]] == [needed]
        assert body["count"] == 1

    async def test_pages(self, api: Api) -> None:
        ids = [await api.add(ALICE) for _ in range(5)]
        response = await api.client.get("/notifications?page=2&per_page=2", headers=api.auth())
        body = await response.json()
        assert body["count"] == 5
        assert (body["page"], body["per_page"]) == (2, 2)
        assert [item["id"] for item in body["notifications"]] == [ids[2], ids[1]]

    async def test_times_are_w3c_utc_seconds(self, api: Api) -> None:
        await api.add(
            ALICE,
            created_at=datetime(2026, 3, 1, 12, 0, 5, 999_000, tzinfo=UTC),
            seen_at=datetime(2026, 3, 2, 1, 2, 3, tzinfo=UTC),
        )
        response = await api.client.get("/notifications", headers=api.auth())
        (item,) = (await response.json())["notifications"]
        assert item["created_at"] == "2026-03-01T12:00:05Z"
        assert item["seen_at"] == "2026-03-02T01:02:03Z"

    @pytest.mark.parametrize(
        "query",
        ["seen=true", "seen=2", "action_required=yes", "page=0", "per_page=0", "per_page=x"],
    )
    async def test_bad_values_are_400(self, api: Api, query: str) -> None:
        response = await api.client.get(f"/notifications?{query}", headers=api.auth())
        assert response.status == 400
        assert (await response.json())["error"]["code"] == "BAD_USER_INPUT"

    async def test_missing_token_is_401(self, api: Api) -> None:
        response = await api.client.get("/notifications")
        assert response.status == 401
        assert (await response.json())["error"]["code"] == "UNAUTHENTICATED"


class TestPatch:
    async def test_one_id_marks_only_that_one(self, api: Api) -> None:
        target, other = await api.add(ALICE), await api.add(ALICE)
        status, _ = await patch(api, {"operations": [add(f"/{target}/seen")]})
        assert status == 204
        assert (await api.row(target)).seen_at is not None
        assert (await api.row(other)).seen_at is None

    @pytest.mark.parametrize(
        "body",
        [
            {"operations": [add("/*/seen"), {"op": "remove", "path": "/*/seen", "value": None}]},
            {"operations": [add("/*/seen"), add("/1/read")]},
            {"operations": [add("/*/seen"), add("/*/seen", "now")]},
            {"operations": [add("/*/seen"), {"op": "add", "path": "/*/seen"}]},
            {"operations": [add("/*/seen"), add("/abc/seen")]},
            {"operations": [add("/*/seen"), "add"]},
            {"operations": []},
            {"operations": {"op": "add"}},
            [add("/*/seen")],
            None,
            "operations",
        ],
    )
    async def test_one_bad_operation_changes_nothing(self, api: Api, body: Any) -> None:
        await api.add(ALICE)
        before = await api.snapshot()
        status, text = await patch(api, body)
        assert status == 400, text
        assert await api.snapshot() == before

    async def test_body_that_is_not_json_is_400(self, api: Api) -> None:
        await api.add(ALICE)
        before = await api.snapshot()
        response = await api.client.patch(
            "/notifications", data=b"\xff{not json", headers=api.auth()
        )
        assert response.status == 400
        assert await api.snapshot() == before

    @pytest.mark.parametrize("someone", [BOB, ALICE_ELSEWHERE])
    async def test_foreign_id_is_404_and_changes_nothing(self, api: Api, someone: Any) -> None:
        mine = await api.add(ALICE)
        theirs = await api.add(someone)
        before = await api.snapshot()
        status, _ = await patch(api, {"operations": [add(f"/{mine}/seen"), add(f"/{theirs}/seen")]})
        assert status == 404
        assert await api.snapshot() == before

    async def test_wildcard_marks_only_the_viewers_inbox(self, api: Api) -> None:
        mine = await api.add(ALICE)
        theirs = await api.add(BOB)
        status, _ = await patch(api, {"operations": [add("/*/seen")]})
        assert status == 204
        assert (await api.row(mine)).seen_at is not None
        assert (await api.row(theirs)).seen_at is None
