"""The JSON:API dialect beyond its documented examples: paging, filters, errors, tenancy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.client import ALICE, ALICE_ELSEWHERE, BOB, Api

BASE = "/api/v2/notifications"


async def get(api: Api, path: str, person: Any = ALICE) -> tuple[int, Any]:
    response = await api.client.get(path, headers=api.auth(person))
    return response.status, await response.json(content_type=None)


class TestList:
    async def test_pages_with_links_and_meta(self, api: Api) -> None:
        ids = [await api.add(ALICE) for _ in range(5)]
        status, body = await get(api, f"{BASE}?page[size]=2&page[number]=2")
        assert status == 200
        # Newest first: ids were inserted with increasing created_at.
        assert [item["id"] for item in body["data"]] == [str(ids[2]), str(ids[1])]
        assert body["meta"] == {
            "current_page": 2,
            "total_pages": 3,
            "total_count": 5,
            "page_size": 2,
            "max_page_size": 200,
        }
        pages = {
            name: parse_qs(urlsplit(link).query)["page[number]"][0]
            for name, link in body["links"].items()
        }
        assert pages == {"first": "1", "last": "3", "prev": "1", "next": "3"}

    async def test_links_keep_filters_in_documented_encoding(self, api: Api) -> None:
        await api.add(ALICE, target_type="task")
        _, body = await get(api, f"{BASE}?filter[type]=task&page[size]=1")
        assert body["links"]["first"].endswith(
            "/api/v2/notifications?filter%5Btype%5D=task&page%5Bnumber%5D=1&page%5Bsize%5D=1"
        )
        assert "next" not in body["links"]
        assert "prev" not in body["links"]

    async def test_filter_id_takes_a_comma_list(self, api: Api) -> None:
        first, _, third = [await api.add(ALICE) for _ in range(3)]
        _, body = await get(api, f"{BASE}?filter[id]={first},{third}")
        assert sorted(int(item["id"]) for item in body["data"]) == [first, third]

    @pytest.mark.parametrize(
        ("parameter", "value", "column"),
        [
            ("dismissed", "true", "dismissed_at"),
            ("read", "true", "read_at"),
        ],
    )
    async def test_state_filters(self, api: Api, parameter: str, value: str, column: str) -> None:
        marked = await api.add(ALICE, **{column: datetime(2026, 3, 2, tzinfo=UTC)})
        unmarked = await api.add(ALICE)
        _, yes = await get(api, f"{BASE}?filter[{parameter}]=true")
        _, no = await get(api, f"{BASE}?filter[{parameter}]=false")
        assert [item["id"] for item in yes["data"]] == [str(marked)]
        assert [item["id"] for item in no["data"]] == [str(unmarked)]

    @pytest.mark.parametrize("flag", ["important", "mention"])
    async def test_flag_filters(self, api: Api, flag: str) -> None:
        flagged = await api.add(ALICE, **{flag: True})
        await api.add(ALICE)
        _, body = await get(api, f"{BASE}?filter[{flag}]=true")
        assert [item["id"] for item in body["data"]] == [str(flagged)]

    async def test_created_before_and_after(self, api: Api) -> None:
        start = datetime(2026, 3, 10, 12, tzinfo=UTC)
        early = await api.add(ALICE, created_at=start - timedelta(days=2))
        late = await api.add(ALICE, created_at=start + timedelta(days=2))
        _, before = await get(api, f"{BASE}?filter[before]=2026-03-10T12:00:00Z")
        _, after = await get(api, f"{BASE}?filter[after]=2026-03-10")
        assert [item["id"] for item in before["data"]] == [str(early)]
        assert [item["id"] for item in after["data"]] == [str(late)]

    async def test_only_the_viewers_inbox(self, api: Api) -> None:
        mine = await api.add(ALICE)
        await api.add(BOB)
        await api.add(ALICE_ELSEWHERE)
        _, body = await get(api, BASE)
        assert [item["id"] for item in body["data"]] == [str(mine)]
        assert body["meta"]["total_count"] == 1


class TestErrors:
    @pytest.mark.parametrize(
        ("query", "parameter"),
        [
            ("filter[dismissed]=maybe", "filter[dismissed]"),
            ("filter[important]=yes-please", "filter[important]"),
            ("filter[snoozed]=later", "filter[snoozed]"),
            ("page[size]=0", "page[size]"),
            ("page[size]=500", "page[size]"),
            ("page[number]=0", "page[number]"),
            ("page[number]=abc", "page[number]"),
            ("filter[date_before]=17.03.2026", "filter[date_before]"),
            ("filter[after]=yesterday", "filter[after]"),
            ("filter[id]=1,x", "filter[id]"),
            ("filter[project_id]=-4", "filter[project_id]"),
            ("filter[colour]=red", "filter[colour]"),
        ],
    )
    async def test_bad_values_are_400_naming_the_parameter(
        self, api: Api, query: str, parameter: str
    ) -> None:
        status, body = await get(api, f"{BASE}?{query}")
        assert status == 400
        (error,) = body["errors"]
        assert error["status"] == "400"
        assert error["title"] == "Bad Request"
        assert error["source"] == {"parameter": parameter}
        assert error["detail"]

    async def test_missing_token_is_401(self, api: Api) -> None:
        response = await api.client.get(BASE)
        assert response.status == 401
        assert response.headers["Content-Type"] == "application/vnd.api+json; charset=utf-8"
        assert (await response.json(content_type=None))["errors"][0]["status"] == "401"

    async def test_bad_token_is_401(self, api: Api) -> None:
        response = await api.client.get(BASE, headers={"Authorization": "Bearer nope"})
        assert response.status == 401

    async def test_x_auth_token_is_accepted(self, api: Api) -> None:
        mine = await api.add(ALICE)
        response = await api.client.get(f"{BASE}/{mine}", headers={"X-Auth-Token": api.token()})
        assert response.status == 200
        assert (await response.json(content_type=None))["data"]["id"] == str(mine)

    @pytest.mark.parametrize("someone", [BOB, ALICE_ELSEWHERE])
    @pytest.mark.parametrize("action", ["read", "dismiss", "undismiss"])
    async def test_others_notification_cannot_be_changed(
        self, api: Api, someone: Any, action: str
    ) -> None:
        theirs = await api.add(someone, dismissed_at=datetime(2026, 3, 2, tzinfo=UTC))
        before = await api.snapshot()
        response = await api.client.patch(f"{BASE}/{theirs}/{action}", headers=api.auth(ALICE))
        assert response.status == 404
        assert (await response.json(content_type=None))["errors"][0]["status"] == "404"
        assert await api.snapshot() == before

    @pytest.mark.parametrize("path", ["/999999", "/abc", "/0", "/99999999999999999999999"])
    async def test_absent_ids_are_404(self, api: Api, path: str) -> None:
        status, body = await get(api, BASE + path)
        assert status == 404
        assert body["errors"][0]["title"] == "Not Found"

    async def test_others_notification_is_404_when_shown(self, api: Api) -> None:
        theirs = await api.add(BOB)
        status, _ = await get(api, f"{BASE}/{theirs}")
        assert status == 404

    async def test_service_token_has_no_inbox(self, api: Api) -> None:
        response = await api.client.get(BASE, headers=api.auth(ALICE, role="service"))
        assert response.status == 403


class TestChanges:
    async def test_read_is_idempotent(self, api: Api) -> None:
        mine = await api.add(ALICE)
        first = await api.client.patch(f"{BASE}/{mine}/read", headers=api.auth())
        stored = (await api.row(mine)).read_at
        second = await api.client.patch(f"{BASE}/{mine}/read", headers=api.auth())
        assert first.status == second.status == 200
        assert (await second.json(content_type=None))["data"]["attributes"]["read"] is True
        assert (await api.row(mine)).read_at == stored
        assert (await api.row(mine)).seen_at is not None
