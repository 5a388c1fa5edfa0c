"""Changesets: kept exactly as sent on both databases, refused whole when they cannot render."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest

from tests.client import ALICE, Api
from tests.graphql.documents import CREATE
from tests.graphql.test_errors import refused

# Key order, a negative zero, exponents and escapes: what jsonb used to normalise away.
EXACT = (
    '{"zeta":1,"alpha":-0.0,"mid":{"b":[1.5,1e-07,-0.0],"a":null},'
    '"escaped":"\\\\u0000 is text","nul":"a\\u0000b","unicode":"\\u00e9\\ud83d\\ude00"}'
)


def nested(depth: int) -> Any:
    """A changeset with ``depth`` containers, one inside the other."""
    value: Any = "leaf"
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    return value


async def create(api: Api, changeset_json: str) -> tuple[int, bytes]:
    """createNotification with the changeset written as raw JSON text in the body."""
    body = (
        '{"query": ' + json.dumps(CREATE) + ', "variables": {"input": '
        '{"recipientId": "1001", "title": "t", "changeset": ' + changeset_json + "}}}"
    )
    response = await api.client.post(
        "/graphql",
        data=body.encode(),
        headers=api.auth(ALICE, "service") | {"Content-Type": "application/json"},
    )
    return response.status, await response.read()


def changeset_bytes(document: Any) -> bytes:
    """A parsed changeset written back compactly: equal bytes mean equal order and numbers."""
    return orjson.dumps(document)


async def test_changeset_comes_back_exactly_as_sent(api: Api) -> None:
    status, raw = await create(api, EXACT)
    assert status == 200, raw
    sent = changeset_bytes(json.loads(EXACT))
    created = json.loads(raw)["data"]["createNotification"]
    assert changeset_bytes(created["changeset"]) == sent
    notification_id = created["id"]

    listed = await api.client.post(
        "/graphql",
        json={"query": "{ notifications { nodes { changeset } } }"},
        headers=api.auth(),
    )
    node = json.loads(await listed.read())["data"]["notifications"]["nodes"][0]
    assert changeset_bytes(node["changeset"]) == sent
    # json.loads keeps order and -0.0; the raw text shows the order too.
    assert b'"changeset":{"zeta":1,"alpha":-0.0,' in await listed.read()

    shown = await api.client.get(f"/api/v2/notifications/{notification_id}", headers=api.auth())
    attributes = json.loads(await shown.read())["data"]["attributes"]
    assert changeset_bytes(attributes["changeset"]) == sent


async def test_the_text_backslash_u0000_is_accepted(api: Api) -> None:
    status, raw = await create(api, '{"note": "\\\\u0000"}')
    assert status == 200, raw
    assert json.loads(raw)["data"]["createNotification"]["changeset"] == {"note": "\\u0000"}


async def test_infinity_is_refused_not_stored_as_null(api: Api) -> None:
    inline = (
        'mutation { createNotification(input: {recipientId: "1001", title: "t", '
        "changeset: {x: 1e999}}) { id } }"
    )
    body = await refused(api, inline, None, "BAD_USER_INPUT", role="service")
    assert "outside JSON's range" in body["errors"][0]["message"]


async def test_deep_changeset_renders_everywhere(api: Api) -> None:
    deepest = nested(64)
    status, raw = await create(api, orjson.dumps(deepest).decode())
    assert status == 200, raw
    created = json.loads(raw)["data"]["createNotification"]
    assert created["changeset"] == deepest

    listed = await api.client.post(
        "/graphql",
        json={"query": "{ notifications { nodes { changeset } } }"},
        headers=api.auth(),
    )
    assert listed.status == 200
    assert (await listed.json())["data"]["notifications"]["nodes"][0]["changeset"] == deepest
    for path in ("/api/v2/notifications", f"/api/v2/notifications/{created['id']}"):
        response = await api.client.get(path, headers=api.auth())
        assert response.status == 200, await response.text()
        data = (await response.json())["data"]
        item = data[0] if isinstance(data, list) else data
        assert item["attributes"]["changeset"] == deepest


@pytest.mark.parametrize("depth", [65, 250, 252, 300, 800])
async def test_too_deep_is_refused_and_nothing_is_written(api: Api, depth: int) -> None:
    variables = {"input": {"recipientId": "1001", "title": "t", "changeset": nested(depth)}}
    body = await refused(api, CREATE, variables, "BAD_USER_INPUT", role="service")
    assert body["errors"][0]["message"] == "input.changeset is nested more than 64 levels deep"
    assert body["errors"][0]["extensions"]["parameter"] == "input.changeset"
