"""Each REST dialect names the parameter at fault as its own clients know it."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest

from tests.client import ALICE, Api

JSONAPI = "/api/v2/notifications"
MANY = ",".join(str(n) for n in range(1, 1002))


async def refused(api: Api, path: str) -> Any:
    """The body of a GET that must be a 400 and change nothing."""
    await api.add(ALICE)
    before = await api.snapshot()
    response = await api.client.get(path, headers=api.auth())
    assert response.status == 400, await response.text()
    assert await api.snapshot() == before
    return await response.json(content_type=None)


class TestJsonApi:
    @pytest.mark.parametrize(
        ("query", "parameter", "detail"),
        [
            (
                "filter[type]=" + quote("a\x00b"),
                "filter[type]",
                "filter[type] contains a NUL character",
            ),
            (
                "filter[before]=soon",
                "filter[before]",
                "filter[before] must be an ISO 8601 date or date-time, not 'soon'",
            ),
            (
                "filter[date_after]=17.03.2026",
                "filter[date_after]",
                "filter[date_after] must be a date (YYYY-MM-DD), not '17.03.2026'",
            ),
            (
                "filter[project_id]=x",
                "filter[project_id]",
                "filter[project_id] is 'x', which is not an id",
            ),
            ("filter[id]=1,0", "filter[id]", "filter[id] holds '0', which is not an id"),
            (f"filter[id]={MANY}", "filter[id]", "filter[id] may hold at most 1000 ids"),
            (
                "filter[read]=maybe",
                "filter[read]",
                "filter[read] must be one of 0/1/false/true, not 'maybe'",
            ),
            (
                "page[size]=500",
                "page[size]",
                "page[size] must be an integer from 1 to 200, not '500'",
            ),
            (
                "page[number]=0",
                "page[number]",
                "page[number] must be an integer from 1 to 10000000, not '0'",
            ),
        ],
    )
    async def test_source_parameter_and_detail_use_the_query_parameter(
        self, api: Api, query: str, parameter: str, detail: str
    ) -> None:
        body = await refused(api, f"{JSONAPI}?{query}")
        (error,) = body["errors"]
        assert error["code"] == "BAD_USER_INPUT"
        assert error["source"] == {"parameter": parameter}
        assert error["detail"] == detail


class TestCrm:
    @pytest.mark.parametrize(
        ("query", "parameter", "message"),
        [
            ("seen=" + quote("\x00"), "seen", "seen must be one of 0/1, not '\\x00'"),
            ("seen=true", "seen", "seen must be one of 0/1, not 'true'"),
            ("action_required=2", "action_required", "action_required must be one of 0/1, not '2'"),
            ("per_page=500", "per_page", "per_page must be an integer from 1 to 200, not '500'"),
            ("page=0", "page", "page must be an integer from 1 to 10000000, not '0'"),
        ],
    )
    async def test_parameter_and_message_use_the_query_parameter(
        self, api: Api, query: str, parameter: str, message: str
    ) -> None:
        body = await refused(api, f"/notifications?{query}")
        assert body["error"]["parameter"] == parameter
        assert body["error"]["message"] == message

    async def test_an_operation_is_named_by_its_place(self, api: Api) -> None:
        await api.add(ALICE)
        operations = [{"op": "add", "path": "/*/seen", "value": None}] * 2
        operations.append({"op": "add", "path": "/x/seen", "value": None})
        response = await api.client.patch(
            "/notifications", json={"operations": operations}, headers=api.auth()
        )
        assert response.status == 400
        assert (await response.json())["error"]["parameter"] == "operations[2].path"
