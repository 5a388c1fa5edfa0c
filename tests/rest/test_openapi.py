"""The REST dialects' OpenAPI documents: valid, served, and true of the server's answers.

Every operation and status a document names is requested from the running server, and each
answer's body is validated against the schema documented for it, so a field the server
writes that the document does not name, or one it names that the server leaves out, fails.
"""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from aiohttp import ClientResponse
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_spec

from notifgql.rest import crm, jsonapi, openapi
from tests.client import ALICE, BOB, Api

JSONAPI = "/api/v2/notifications"
DOCUMENTS = {"jsonapi": openapi.JSONAPI_PATH, "crm": openapi.CRM_PATH}
# 503 answers need an unreachable database; tests/db covers them. Every other documented
# status must have a scenario below.
NOT_REQUESTED = {"503"}


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    # Small enough that a too-large PATCH body costs nothing to send.
    return {"max_body_bytes": 4096}


async def fetch_document(api: Api, path: str) -> dict[str, Any]:
    response = await api.client.get(path)  # no token
    assert response.status == 200, await response.text()
    assert response.content_type == "application/json"
    document: dict[str, Any] = orjson.loads(await response.read())
    return document


@dataclass
class World:
    """Notifications the scenarios read and change."""

    rich: int  # every optional column set
    bare: int  # every optional column empty
    other: int  # Bob's, which Alice must not see


async def world(api: Api) -> World:
    rich = await api.add(
        ALICE,
        actor_id="auth0|abc123",
        actor_name="Ada",
        description="A description",
        target_type="Task",
        target_id=42,
        target_title="The task",
        target_label="T-42",
        parent_type="Project",
        parent_id=7,
        parent_title="The project",
        root_type="Workspace",
        root_id=1,
        project_id=7,
        resource="task",
        reason="assigned",
        important=True,
        mention=True,
        action_required=True,
        made_by_automation=True,
        new_activities_count=3,
        first_unread_activity_id=11,
        changeset={"status": ["open", "done"], "n": [1, 2.5]},
        read_at=datetime(2026, 3, 2, tzinfo=UTC),
        seen_at=datetime(2026, 3, 2, tzinfo=UTC),
        dismissed_at=datetime(2026, 3, 3, tzinfo=UTC),
        last_action_at=datetime(2026, 3, 1, 13, 0, 0, 123_000, tzinfo=UTC),
    )
    bare = await api.add(ALICE, actor_id="2002")
    await api.add(ALICE)  # a third one, so that a page of one has a previous and a next
    other = await api.add(BOB)
    return World(rich, bare, other)


Scenario = Callable[[Api, World], Awaitable[list[ClientResponse]]]
SCENARIOS: dict[tuple[str, str, str], Scenario] = {}


def scenario(path: str, method: str, status: int) -> Callable[[Scenario], Scenario]:
    def register(function: Scenario) -> Scenario:
        SCENARIOS[(path, method, str(status))] = function
        return function

    return register


def service(api: Api) -> dict[str, str]:
    return api.auth(ALICE, role="service")


# The JSON:API dialect.


@scenario(JSONAPI, "get", 200)
async def _jsonapi_list(api: Api, w: World) -> list[ClientResponse]:
    get, auth = api.client.get, api.auth()
    return [
        await get(JSONAPI, headers=auth),
        await get(JSONAPI + "?page[size]=1&page[number]=2", headers=auth),  # prev and next
        await get(JSONAPI + "?filter[id]=999999", headers=auth),  # nothing: total_pages 0
        await get(JSONAPI, headers={"X-Auth-Token": api.token()}),
    ]


@scenario(JSONAPI, "get", 400)
async def _jsonapi_list_400(api: Api, w: World) -> list[ClientResponse]:
    get, auth = api.client.get, api.auth()
    return [
        await get(JSONAPI + "?filter[nope]=1", headers=auth),
        await get(JSONAPI + "?filter[read]=maybe", headers=auth),
        await get(JSONAPI + "?page[size]=0", headers=auth),
        await get(JSONAPI + "?filter[id]=x", headers=auth),
    ]


async def _unauthenticated(api: Api, method: str, path: str) -> list[ClientResponse]:
    return [
        await api.client.request(method, path),
        await api.client.request(method, path, headers={"Authorization": "Bearer nonsense"}),
    ]


def _one(w: World, suffix: str = "") -> str:
    return f"{JSONAPI}/{w.rich}{suffix}"


@scenario(JSONAPI, "get", 401)
async def _jsonapi_list_401(api: Api, w: World) -> list[ClientResponse]:
    return await _unauthenticated(api, "GET", JSONAPI)


@scenario(JSONAPI, "get", 403)
async def _jsonapi_list_403(api: Api, w: World) -> list[ClientResponse]:
    return [await api.client.get(JSONAPI, headers=service(api))]


@scenario(JSONAPI + "/{id}", "get", 200)
async def _jsonapi_show(api: Api, w: World) -> list[ClientResponse]:
    auth = api.auth()
    return [
        await api.client.get(f"{JSONAPI}/{w.rich}", headers=auth),
        await api.client.get(f"{JSONAPI}/{w.bare}", headers=auth),
    ]


@scenario(JSONAPI + "/{id}", "get", 401)
async def _jsonapi_show_401(api: Api, w: World) -> list[ClientResponse]:
    return await _unauthenticated(api, "GET", _one(w))


@scenario(JSONAPI + "/{id}", "get", 403)
async def _jsonapi_show_403(api: Api, w: World) -> list[ClientResponse]:
    return [await api.client.get(_one(w), headers=service(api))]


@scenario(JSONAPI + "/{id}", "get", 404)
async def _jsonapi_show_404(api: Api, w: World) -> list[ClientResponse]:
    auth = api.auth()
    return [
        await api.client.get(f"{JSONAPI}/{w.other}", headers=auth),
        await api.client.get(f"{JSONAPI}/abc", headers=auth),
    ]


def _register_change(verb: str) -> None:
    path = JSONAPI + "/{id}/" + verb

    @scenario(path, "patch", 200)
    async def ok(api: Api, w: World) -> list[ClientResponse]:
        auth = api.auth()
        return [
            await api.client.patch(f"{JSONAPI}/{w.rich}/{verb}", headers=auth),
            await api.client.patch(f"{JSONAPI}/{w.bare}/{verb}", headers=auth),
        ]

    @scenario(path, "patch", 401)
    async def unauthenticated(api: Api, w: World) -> list[ClientResponse]:
        return await _unauthenticated(api, "PATCH", _one(w, "/" + verb))

    @scenario(path, "patch", 403)
    async def forbidden(api: Api, w: World) -> list[ClientResponse]:
        return [await api.client.patch(_one(w, "/" + verb), headers=service(api))]

    @scenario(path, "patch", 404)
    async def absent(api: Api, w: World) -> list[ClientResponse]:
        auth = api.auth()
        return [
            await api.client.patch(f"{JSONAPI}/{w.other}/{verb}", headers=auth),
            await api.client.patch(f"{JSONAPI}/0/{verb}", headers=auth),
        ]


for _verb in ("read", "dismiss", "undismiss"):
    _register_change(_verb)


# The CRM dialect.

CRM = "/notifications"


def _seen(*paths: str) -> dict[str, Any]:
    return {"operations": [{"op": "add", "path": path, "value": None} for path in paths]}


@scenario(CRM, "get", 200)
async def _crm_list(api: Api, w: World) -> list[ClientResponse]:
    get, auth = api.client.get, api.auth()
    return [
        await get(CRM, headers=auth),
        await get(CRM + "?seen=0&action_required=1&page=1&per_page=2", headers=auth),
        await get(CRM + "?page=9", headers=auth),
    ]


@scenario(CRM, "get", 400)
async def _crm_list_400(api: Api, w: World) -> list[ClientResponse]:
    get, auth = api.client.get, api.auth()
    return [
        await get(CRM + "?seen=true", headers=auth),
        await get(CRM + "?per_page=0", headers=auth),
    ]


@scenario(CRM, "get", 401)
async def _crm_list_401(api: Api, w: World) -> list[ClientResponse]:
    return await _unauthenticated(api, "GET", CRM)


@scenario(CRM, "get", 403)
async def _crm_list_403(api: Api, w: World) -> list[ClientResponse]:
    return [await api.client.get(CRM, headers=service(api))]


@scenario(CRM, "patch", 204)
async def _crm_patch(api: Api, w: World) -> list[ClientResponse]:
    patch, auth = api.client.patch, api.auth()
    return [
        await patch(CRM, json=_seen(f"/{w.bare}/seen"), headers=auth),
        await patch(CRM, json=_seen("/*/seen"), headers=auth),
    ]


@scenario(CRM, "patch", 400)
async def _crm_patch_400(api: Api, w: World) -> list[ClientResponse]:
    patch, auth = api.client.patch, api.auth()
    return [
        await patch(CRM, json={"operations": []}, headers=auth),
        await patch(CRM, json=_seen("/*/read"), headers=auth),
        await patch(CRM, data=b"{", headers={**auth, "Content-Type": "application/json"}),
    ]


@scenario(CRM, "patch", 401)
async def _crm_patch_401(api: Api, w: World) -> list[ClientResponse]:
    return [await api.client.patch(CRM, json=_seen("/*/seen"))]


@scenario(CRM, "patch", 403)
async def _crm_patch_403(api: Api, w: World) -> list[ClientResponse]:
    return [await api.client.patch(CRM, json=_seen("/*/seen"), headers=service(api))]


@scenario(CRM, "patch", 404)
async def _crm_patch_404(api: Api, w: World) -> list[ClientResponse]:
    body = _seen(f"/{w.bare}/seen", f"/{w.other}/seen")
    return [await api.client.patch(CRM, json=body, headers=api.auth())]


@scenario(CRM, "patch", 413)
async def _crm_patch_413(api: Api, w: World) -> list[ClientResponse]:
    body = _seen(*["/*/seen"] * 200)  # larger than max_body_bytes
    return [await api.client.patch(CRM, json=body, headers=api.auth())]


def documented(document: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {
        (path, method, status)
        for path, entries in document["paths"].items()
        for method, entry in entries.items()
        for status in entry["responses"]
    }


def validator(document: dict[str, Any], schema: dict[str, Any]) -> Draft202012Validator:
    """A validator of ``schema``, whose references point into ``document``'s components."""
    root = {**schema, "components": document["components"]}
    return Draft202012Validator(root, format_checker=Draft202012Validator.FORMAT_CHECKER)


def answer_schema(document: dict[str, Any], path: str, method: str, status: str) -> Any:
    """(media type, schema) documented for this answer, or None when it has no body."""
    response = document["paths"][path][method]["responses"][status]
    if "content" not in response:
        return None
    ((media_type, content),) = response["content"].items()
    return media_type, content["schema"]


class TestDocuments:
    @pytest.mark.parametrize("dialect", sorted(DOCUMENTS))
    async def test_served_without_a_token_and_valid(self, api: Api, dialect: str) -> None:
        document = await fetch_document(api, DOCUMENTS[dialect])
        validate_spec(document)  # raises on an invalid OpenAPI 3.1 document
        assert document["openapi"] == "3.1.0"

    async def test_served_once_per_process(self, api: Api) -> None:
        assert openapi.jsonapi_document() is openapi.jsonapi_document()
        assert openapi.crm_document() is openapi.crm_document()
        first = await api.client.get(openapi.CRM_PATH)
        second = await api.client.get(openapi.CRM_PATH, headers={"Authorization": "Bearer x"})
        assert await first.read() == await second.read() == openapi.crm_document()

    async def test_routes_are_the_dialects_routes(self, api: Api) -> None:
        mounted = {
            (route.resource.canonical, route.method.lower())
            for route in api.client.app.router.routes()
            if route.resource is not None
            and route.resource.canonical.startswith((JSONAPI, CRM))
            and route.method != "HEAD"
        }
        jsonapi_doc = await fetch_document(api, openapi.JSONAPI_PATH)
        crm_doc = await fetch_document(api, openapi.CRM_PATH)
        described = {
            (path, method) for doc in (jsonapi_doc, crm_doc) for path, method, _ in documented(doc)
        }
        assert described == mounted

    @pytest.mark.parametrize("path", [JSONAPI, CRM])
    async def test_lists_answer_head_as_before(self, api: Api, path: str) -> None:
        response = await api.client.head(path, headers=api.auth())
        assert response.status == 200
        assert await response.read() == b""

    async def test_list_parameters_are_the_declared_ones(self, api: Api) -> None:
        document = await fetch_document(api, openapi.JSONAPI_PATH)
        names = [p["name"] for p in document["paths"][JSONAPI]["get"]["parameters"]]
        assert names == [*jsonapi.FILTERS, *jsonapi.PAGING]
        attributes = document["components"]["schemas"]["Notification"]["properties"]
        assert list(attributes["attributes"]["properties"]) == list(jsonapi.ATTRIBUTES)
        document = await fetch_document(api, openapi.CRM_PATH)
        names = [p["name"] for p in document["paths"][CRM]["get"]["parameters"]]
        assert names == [*crm.FILTERS, *crm.PAGING]
        assert list(document["components"]["schemas"]["Notification"]["properties"]) == list(
            crm.FIELDS
        )


def example(schema: dict[str, Any]) -> str:
    """A value the parameter's schema documents as acceptable, as query text."""
    if "examples" in schema:
        return str(schema["examples"][0])
    if "enum" in schema:
        return str(schema["enum"][-1])
    if schema["type"] == "boolean":
        return "true"
    assert schema["type"] == "integer", schema
    return str(schema["minimum"])


@pytest.mark.parametrize(("dialect", "path"), [("jsonapi", JSONAPI), ("crm", CRM)])
async def test_every_documented_parameter_is_accepted(api: Api, dialect: str, path: str) -> None:
    document = await fetch_document(api, DOCUMENTS[dialect])
    parameters = document["paths"][path]["get"]["parameters"]
    assert parameters
    for parameter in parameters:
        for value in [example(parameter["schema"]), *parameter["schema"].get("examples", [])]:
            response = await api.client.get(
                path, params={parameter["name"]: value}, headers=api.auth()
            )
            assert response.status == 200, (parameter["name"], value, await response.text())
    unknown = await api.client.get(JSONAPI, params={"filter[nope]": "1"}, headers=api.auth())
    assert unknown.status == 400


@pytest.mark.parametrize("dialect", sorted(DOCUMENTS))
async def test_every_answer_matches_its_schema(api: Api, dialect: str) -> None:
    document = await fetch_document(api, DOCUMENTS[dialect])
    expected = {key for key in documented(document) if key[2] not in NOT_REQUESTED}
    prefix = JSONAPI if dialect == "jsonapi" else CRM
    ours = {key for key in SCENARIOS if key[0].startswith(prefix)}
    assert ours == expected, "each documented answer needs a scenario, and only those"
    for key in sorted(expected):
        w = await world(api)
        path, method, status = key
        documented_answer = answer_schema(document, path, method, status)
        responses = await SCENARIOS[key](api, w)
        assert responses
        for response in responses:
            body = await response.read()
            where = (key, response.url.path_qs)
            assert response.status == int(status), (where, body)
            if documented_answer is None:
                assert body == b"", where
                continue
            media_type, schema = documented_answer
            assert response.content_type == media_type, where
            errors = [
                e.message for e in validator(document, schema).iter_errors(orjson.loads(body))
            ]
            assert errors == [], (where, errors)


async def _real_bodies(api: Api) -> dict[str, Any]:
    w = await world(api)
    auth = api.auth()
    listed = await api.client.get(JSONAPI + "?page[size]=1&page[number]=2", headers=auth)
    crm_listed = await api.client.get(CRM, headers=auth)
    crm_error = await api.client.get(CRM + "?seen=2", headers=auth)
    jsonapi_error = await api.client.get(JSONAPI + "?filter[read]=2", headers=auth)
    shown = await api.client.get(f"{JSONAPI}/{w.rich}", headers=auth)
    return {
        "list": await listed.json(content_type=None),
        "crm": await crm_listed.json(),
        "crm_error": await crm_error.json(),
        "jsonapi_error": await jsonapi_error.json(content_type=None),
        "shown": await shown.json(content_type=None),
    }


def _at(body: Any, steps: tuple[Any, ...]) -> Any:
    for step in steps:
        body = body[step]
    return body


# Objects in real answers, each one added a field and one taken away, that must then fail.
CLOSED_OBJECTS = [
    ("jsonapi", "list", JSONAPI, "get", "200", ()),
    ("jsonapi", "list", JSONAPI, "get", "200", ("data", 0)),
    ("jsonapi", "list", JSONAPI, "get", "200", ("data", 0, "attributes")),
    ("jsonapi", "list", JSONAPI, "get", "200", ("data", 0, "relationships")),
    ("jsonapi", "list", JSONAPI, "get", "200", ("data", 0, "relationships", "owner", "data")),
    ("jsonapi", "list", JSONAPI, "get", "200", ("links",)),
    ("jsonapi", "list", JSONAPI, "get", "200", ("meta",)),
    ("jsonapi", "shown", JSONAPI + "/{id}", "get", "200", ("data", "attributes")),
    ("jsonapi", "jsonapi_error", JSONAPI, "get", "400", ("errors", 0)),
    ("jsonapi", "jsonapi_error", JSONAPI, "get", "400", ("errors", 0, "source")),
    ("crm", "crm", CRM, "get", "200", ()),
    ("crm", "crm", CRM, "get", "200", ("notifications", 0)),
    ("crm", "crm", CRM, "get", "200", ("notifications", 0, "receiver")),
    ("crm", "crm_error", CRM, "get", "400", ("error",)),
]


# Present only where such a page exists, or when a parameter is at fault.
OPTIONAL = {
    (("links",), "prev"),
    (("links",), "next"),
    (("errors", 0), "source"),
    (("error",), "parameter"),
}


async def test_schemas_are_closed_both_ways(api: Api) -> None:
    """A field the server adds, or one it stops writing, fails validation."""
    bodies = await _real_bodies(api)
    documents = {name: await fetch_document(api, path) for name, path in DOCUMENTS.items()}
    for dialect, body_name, path, method, status, steps in CLOSED_OBJECTS:
        document = documents[dialect]
        _, schema = answer_schema(document, path, method, status)
        check = validator(document, schema)
        body = bodies[body_name]
        assert check.is_valid(body), (body_name, steps)
        added = copy.deepcopy(body)
        _at(added, steps)["unexpected"] = 1
        assert not check.is_valid(added), (body_name, steps)
        target = _at(body, steps)
        assert target, (body_name, steps)
        for name in target:
            if (steps, name) in OPTIONAL:
                continue
            removed = copy.deepcopy(body)
            del _at(removed, steps)[name]
            assert not check.is_valid(removed), (body_name, steps, name)
