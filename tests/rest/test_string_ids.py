"""Both REST dialects with recipient, organization and actor ids that are strings."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from notifgql.rest.crm import person_id
from tests.client import Api, Person
from tests.string_ids import ACTOR, AUTH0, LONGEST, ONE, PEOPLE, PEOPLE_IDS, UUID, ZERO_ONE

JSONAPI = "/api/v2/notifications"
PEOPLE_PARAMS = pytest.mark.parametrize("person", PEOPLE, ids=PEOPLE_IDS)
SEEN = datetime(2026, 3, 5, tzinfo=UTC)


async def call(api: Api, method: str, path: str, person: Person, **kw: Any) -> tuple[int, Any]:
    response = await api.client.request(method, path, headers=api.auth(person), **kw)
    text = await response.text()
    return response.status, json.loads(text) if text else None


def twin(person: Person) -> Person:
    """The same recipient id in another organization."""
    return Person(person.recipient_id, "elsewhere")


class TestJsonApi:
    @PEOPLE_PARAMS
    async def test_every_endpoint(self, api: Api, person: Person) -> None:
        mine = await api.add(person, actor_id=ACTOR)
        theirs = await api.add(twin(person))
        status, listed = await call(api, "GET", f"{JSONAPI}?filter[id]={mine},{theirs}", person)
        assert status == 200
        (resource,) = listed["data"]
        assert resource["id"] == str(mine)
        # Ids are JSON strings, exactly as stored.
        assert resource["relationships"]["organization"]["data"] == {
            "type": "organizations",
            "id": person.organization_id,
        }
        assert resource["relationships"]["owner"]["data"] == {
            "type": "organization_memberships",
            "id": person.recipient_id,
        }
        status, shown = await call(api, "GET", f"{JSONAPI}/{mine}", person)
        assert (status, shown["data"]) == (200, resource)
        for action, attribute, value in [
            ("read", "read", True),
            ("dismiss", "dismissed", True),
            ("undismiss", "dismissed", False),
        ]:
            status, changed = await call(api, "PATCH", f"{JSONAPI}/{mine}/{action}", person)
            assert (status, changed["data"]["attributes"][attribute]) == (200, value)
            status, refused = await call(api, "PATCH", f"{JSONAPI}/{theirs}/{action}", person)
            assert (status, refused["errors"][0]["code"]) == (404, "NOT_FOUND")
        status, _ = await call(api, "GET", f"{JSONAPI}/{theirs}", person)
        assert status == 404
        assert (await api.row(theirs)).read_at is None

    async def test_numeric_ids_are_strings_too(self, api: Api) -> None:
        await api.add(Person("3030", "810"))
        _, listed = await call(api, "GET", JSONAPI, Person("3030", "810"))
        relationships = listed["data"][0]["relationships"]
        assert relationships["owner"]["data"]["id"] == "3030"
        assert relationships["organization"]["data"]["id"] == "810"

    async def test_ids_are_compared_exactly(self, api: Api) -> None:
        mine = await api.add(ONE)
        await api.add(ZERO_ONE)
        _, listed = await call(api, "GET", JSONAPI, ONE)
        assert [item["id"] for item in listed["data"]] == [str(mine)]
        assert listed["meta"]["total_count"] == 1


class TestCrmRendering:
    @pytest.mark.parametrize(
        ("stored", "rendered"),
        [
            ("3030", 3030),
            ("1", 1),
            ("0", 0),
            ("9007199254740991", 2**53 - 1),
            ("9007199254740992", "9007199254740992"),
            ("99999999999999999999", "99999999999999999999"),
            ("007", "007"),
            ("00", "00"),
            ("-5", "-5"),
            ("+5", "+5"),
            ("1.5", "1.5"),
            ("1e3", "1e3"),
            (" 1", " 1"),
            ("\u0661\u0662", "\u0661\u0662"),  # Arabic-Indic digits: digits, but not ASCII
            ("\u00b2", "\u00b2"),
            ("auth0|ünïcødé-7", "auth0|ünïcødé-7"),
            (UUID.recipient_id, UUID.recipient_id),
        ],
    )
    def test_numbers_only_when_they_read_back_as_the_same_id(
        self, stored: str, rendered: int | str
    ) -> None:
        result = person_id(stored)
        assert (type(result), result) == (type(rendered), rendered)
        # Whatever a JSON client makes of it, written back as text it is the stored id.
        parsed = json.loads(json.dumps(result))
        assert str(parsed) == stored

    async def test_receiver_and_sender(self, api: Api) -> None:
        numeric = Person("3030", "810")
        await api.add(numeric, actor_id="12", title="numbers")
        await api.add(numeric, actor_id="007", title="padded")
        await api.add(numeric, actor_id=ACTOR, title="provider")
        status, body = await call(api, "GET", "/notifications", numeric)
        assert status == 200
        people = {
            item["title"]: (item["receiver"], item["sender"]) for item in body["notifications"]
        }
        assert people == {
            "numbers": ({"id": 3030}, {"id": 12}),
            "padded": ({"id": 3030}, {"id": "007"}),
            "provider": ({"id": 3030}, {"id": ACTOR}),
        }
        await api.add(AUTH0, actor_id=None)
        _, body = await call(api, "GET", "/notifications", AUTH0)
        (item,) = body["notifications"]
        assert (item["receiver"], item["sender"]) == ({"id": AUTH0.recipient_id}, None)


class TestCrmPatch:
    @PEOPLE_PARAMS
    async def test_marks_only_the_viewers_own(self, api: Api, person: Person) -> None:
        first = await api.add(person)
        second = await api.add(person)
        theirs = await api.add(twin(person))
        one = {"operations": [{"op": "add", "path": f"/{first}/seen", "value": None}]}
        status, _ = await call(api, "PATCH", "/notifications", person, json=one)
        assert status == 204
        assert (await api.row(first)).seen_at is not None
        assert (await api.row(second)).seen_at is None
        # Naming the twin's notification refuses the whole request.
        both = {
            "operations": [
                {"op": "add", "path": f"/{second}/seen", "value": None},
                {"op": "add", "path": f"/{theirs}/seen", "value": None},
            ]
        }
        status, body = await call(api, "PATCH", "/notifications", person, json=both)
        assert (status, body["error"]["code"]) == (404, "NOT_FOUND")
        assert (await api.row(second)).seen_at is None
        every = {"operations": [{"op": "add", "path": "/*/seen", "value": None}]}
        status, _ = await call(api, "PATCH", "/notifications", person, json=every)
        assert status == 204
        assert (await api.row(second)).seen_at is not None
        assert (await api.row(theirs)).seen_at is None
        _, listed = await call(api, "GET", "/notifications?seen=0", twin(person))
        assert listed["count"] == 1

    async def test_the_longest_ids(self, api: Api) -> None:
        await api.add(LONGEST, actor_id=LONGEST.organization_id, seen_at=SEEN)
        _, body = await call(api, "GET", "/notifications?seen=1", LONGEST)
        (item,) = body["notifications"]
        assert item["receiver"] == {"id": LONGEST.recipient_id}
        assert item["sender"] == {"id": LONGEST.organization_id}
