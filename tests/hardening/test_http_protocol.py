"""GraphQL over HTTP: media types, status codes and malformed requests, never a 500."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from tests.client import ALICE, Api

GRAPHQL_RESPONSE = "application/graphql-response+json"
QUERY = "{ notificationCounts { total } }"


async def post(api: Api, body: bytes, **headers: str) -> tuple[int, str, Any]:
    response = await api.client.post(
        "/graphql",
        data=io.BytesIO(body),
        headers={"Content-Type": "application/json", **api.auth(ALICE), **headers},
    )
    text = await response.text()
    return response.status, response.content_type, json.loads(text) if text else None


class TestMediaTypes:
    async def test_graphql_response_json_when_accepted(self, api: Api) -> None:
        status, media, body = await post(
            api, json.dumps({"query": QUERY}).encode(), Accept=GRAPHQL_RESPONSE
        )
        assert (status, media) == (200, GRAPHQL_RESPONSE)
        assert body == {"data": {"notificationCounts": {"total": 0}}}

    async def test_application_json_for_any_type(self, api: Api) -> None:
        status, media, _ = await post(api, json.dumps({"query": QUERY}).encode(), Accept="*/*")
        assert (status, media) == (200, "application/json")

    async def test_application_json_without_accept(self, api: Api) -> None:
        response = await api.client.post(
            "/graphql",
            json={"query": QUERY},
            headers=api.auth(ALICE),
            skip_auto_headers={"Accept"},
        )
        assert "Accept" not in response.request_info.headers
        assert (response.status, response.content_type) == (200, "application/json")

    async def test_neither_media_type_is_406(self, api: Api) -> None:
        status, _, _ = await post(api, json.dumps({"query": QUERY}).encode(), Accept="text/csv")
        assert status == 406

    async def test_validation_error_is_400_without_data_under_new_media_type(
        self, api: Api
    ) -> None:
        status, _, body = await post(
            api, json.dumps({"query": "{ nope }"}).encode(), Accept=GRAPHQL_RESPONSE
        )
        assert status == 400
        assert "data" not in body
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"

    async def test_validation_error_is_200_under_application_json(self, api: Api) -> None:
        status, _, body = await post(
            api, json.dumps({"query": "{ nope }"}).encode(), Accept="application/json"
        )
        assert status == 200
        assert "data" not in body

    async def test_field_error_keeps_data_and_200(self, api: Api) -> None:
        status, _, body = await post(
            api,
            json.dumps({"query": '{ notifications(after: "bad") { totalCount } }'}).encode(),
            Accept=GRAPHQL_RESPONSE,
        )
        assert status == 200
        assert body["data"] is None
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


class TestMethods:
    async def test_query_over_get(self, api: Api) -> None:
        response = await api.client.get(
            "/graphql", params={"query": QUERY}, headers=api.auth(ALICE)
        )
        assert response.status == 200
        assert (await response.json())["data"]["notificationCounts"]["total"] == 0

    async def test_mutation_over_get_is_405_and_changes_nothing(self, api: Api) -> None:
        mine = await api.add(ALICE)
        response = await api.client.get(
            "/graphql",
            params={"query": f'mutation {{ readNotification(id: "{mine}") {{ id }} }}'},
            headers=api.auth(ALICE),
        )
        assert response.status == 405
        assert "POST" in response.headers["Allow"]
        assert (await api.row(mine)).read_at is None

    async def test_put_is_405(self, api: Api) -> None:
        response = await api.client.put("/graphql", json={"query": QUERY})
        assert response.status == 405


class TestMalformedBodies:
    @pytest.mark.parametrize(
        "body",
        [
            b"\xff\xfe{",  # invalid UTF-8
            b"null",
            b'"a string"',
            b"[]",
            b"42",
            b"{",
            b"[" * 100_000 + b"]" * 100_000,  # nested far deeper than any parser allows
            b'{"query": 1}',
            b'{"query": "{ __typename }", "variables": []}',
            b'{"query": "{ __typename }", "operationName": 5}',
            b'{"query": "{ __typename }", "extensions": "x"}',
            b"{}",
        ],
        ids=lambda body: repr(body[:24]),
    )
    async def test_is_400(self, api: Api, body: bytes) -> None:
        status, _, payload = await post(api, body)
        assert status == 400
        assert payload["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"

    async def test_wrong_content_type_is_415(self, api: Api) -> None:
        status, _, _ = await post(api, b"query=x", **{"Content-Type": "text/plain"})
        assert status == 415

    async def test_body_over_limit_is_413(self, api: Api) -> None:
        padding = "#" + "x" * (1024 * 1024 + 10)
        status, _, _ = await post(api, json.dumps({"query": f"{padding}\n{QUERY}"}).encode())
        assert status == 413


class TestBatching:
    async def test_refused_by_default(self, api: Api) -> None:
        status, _, body = await post(api, json.dumps([{"query": QUERY}]).encode())
        assert status == 400
        assert "Batched" in body["errors"][0]["message"]
