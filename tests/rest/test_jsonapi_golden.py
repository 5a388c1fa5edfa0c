"""Every request/response example of the JSON:API document, replayed against the dialect."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest

from notifgql.db.engine import Database
from tests.client import Person, insert_notification
from tests.rest.examples import Example, jsonapi_examples

DOCUMENT_HOST = "http://api-test.productive.io"
DOCUMENT_HEADERS = {
    "Accept": "text/xml,application/xml,application/xhtml+xml,text/html;q=0.9,text/plain;q=0.8,"
    "image/png,*/*;q=0.5",
    "Content-Type": "application/vnd.api+json",
}
EXAMPLES = jsonapi_examples()
# Somebody else in every example's organization, whose rows must never show up.
STRANGER = "999999"


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    # The document's server rendered times in Central European time (+01:00 in March).
    return {"rest_timezone": "Europe/Zagreb"}


def _resources(body: Any) -> list[dict[str, Any]]:
    data = body["data"]
    return data if isinstance(data, list) else [data]


def _columns(resource: dict[str, Any]) -> dict[str, Any]:
    """The stored row behind a documented resource, as that API's own server held it."""
    attributes = resource["attributes"]
    last_action = attributes["last_action_at"]
    return {
        "id": int(resource["id"]),
        "title": attributes["title"],
        "excerpt": attributes["excerpt"],
        "target_id": attributes["target_id"],
        "target_type": attributes["target_type"],
        "target_title": attributes["target_title"],
        "target_label": attributes["target_label"],
        "parent_id": attributes["parent_id"],
        "parent_type": attributes["parent_type"],
        "parent_title": attributes["parent_title"],
        "root_id": attributes["root_id"],
        "root_type": attributes["root_type"],
        "new_activities_count": attributes["new_activities_count"],
        "first_unread_activity_id": attributes["first_unread_activity_id"],
        "changeset": attributes["changeset"],
        "important": attributes["important"],
        "mention": attributes["mention"],
        "made_by_automation": attributes["made_by_automation"],
        "last_action_at": None if last_action is None else datetime.fromisoformat(last_action),
        "read_at": datetime.fromisoformat("2026-03-17T09:00:00+01:00")
        if attributes["read"]
        else None,
        "dismissed_at": (
            datetime.fromisoformat("2026-03-17T09:00:00+01:00") if attributes["dismissed"] else None
        ),
        "project_id": attributes["parent_id"] if attributes["parent_type"] == "project" else None,
    }


def _owner(resource: dict[str, Any]) -> Person:
    relationships = resource["relationships"]
    return Person(relationships["owner"]["data"]["id"], relationships["organization"]["data"]["id"])


def _state_before(example: Example, columns: dict[str, Any]) -> dict[str, Any]:
    """Undo what the example's PATCH did, so the request has something to change."""
    stamp = datetime.fromisoformat("2026-03-17T08:00:00+01:00")
    if example.path.endswith("/dismiss"):
        return columns | {"dismissed_at": None}
    if example.path.endswith("/undismiss"):
        return columns | {"dismissed_at": stamp}
    if example.path.endswith("/read"):
        return columns | {"read_at": None}
    return columns


def _decoys(example: Example, base: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows of the same inbox that the example's filter must leave out."""
    cet = "+01:00"
    path = example.path
    if "date_before" in path:
        return [
            base | {"last_action_at": datetime.fromisoformat(f"2026-03-17T00:30:00{cet}")},
            base | {"last_action_at": None},
        ]
    if "date_after" in path:
        return [
            base | {"last_action_at": datetime.fromisoformat(f"2026-03-17T23:59:59{cet}")},
            base | {"last_action_at": datetime.fromisoformat(f"2026-03-16T10:00:00{cet}")},
            base | {"last_action_at": None},
        ]
    if "project_id]=618&filter[type]=Task" in path:
        return [base | {"target_type": "todo"}, base | {"project_id": 619}]
    if "type]=Task" in path:
        return [base | {"target_type": "todo"}]
    if "type]=Todo" in path:
        return [base | {"target_type": "task"}]
    if "project_id" in path:
        return [base | {"project_id": 1}, base | {"project_id": None}]
    return []


async def load(database: Database, example: Example) -> Person:
    """Store the example's notifications, decoys around them, and a stranger's copy."""
    resources = _resources(example.body)
    if not resources:  # the empty inbox: only other people's notifications exist
        owner = Person("3030", "810")
        await insert_notification(database, Person(STRANGER, "810"), title="not yours")
        return owner
    owner = _owner(resources[0])
    for resource in resources:
        columns = _state_before(example, _columns(resource))
        if resource["id"] == "554":  # a todo, whose project is not its parent task
            columns["project_id"] = 612
        await insert_notification(database, owner, **columns)
        decoy_base = {key: value for key, value in columns.items() if key != "id"}
        for decoy in _decoys(example, decoy_base):
            await insert_notification(database, owner, **decoy)
        await insert_notification(database, Person(STRANGER, owner.organization_id), **decoy_base)
    return owner


@pytest.mark.parametrize("example", EXAMPLES, ids=[example.name for example in EXAMPLES])
async def test_documented_example(example: Example, api: Any) -> None:
    owner = await load(api.database, example)
    headers = DOCUMENT_HEADERS | api.auth(owner)
    response = await api.client.request(example.method, example.path, headers=headers)
    assert response.status == example.status
    assert response.headers["Content-Type"] == "application/vnd.api+json; charset=utf-8"
    body = await response.text()
    our_host = f"http://127.0.0.1:{api.client.port}"
    expected = json.dumps(example.body).replace(DOCUMENT_HOST, our_host)
    # Compared as text: attribute order is part of what old clients were written against.
    assert json.dumps(json.loads(body)) == expected


def test_every_documented_request_is_replayed() -> None:
    # The document has twelve request/response pairs; a parsing slip must not silently drop any.
    assert len(EXAMPLES) == 12
    assert {example.method for example in EXAMPLES} == {"GET", "PATCH"}
