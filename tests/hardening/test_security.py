"""Hostile callers at every door: bad tokens, injection-looking text, other tenants' cursors.

Tenancy of every GraphQL query and mutation, and GraphQL's answer to every kind of bad token,
are covered in tests/graphql/test_auth.py; the REST dialects' tenancy in tests/rest/. Here: the
same bad tokens at the REST doors (both headers), and text that looks like an attack in
every text input and every filter, which must be stored verbatim or refused with a clear
400, never a 500, and never touch the table.
"""

from __future__ import annotations

import base64
import json
import time
import warnings
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from sqlalchemy import func, select, text

from notifgql.db.models import notifications
from tests.client import ALICE, BOB, Api, Person
from tests.conftest import JWT_SECRET
from tests.hardening.support import assert_no_leak

JSONAPI = "/api/v2/notifications"


def _claims(**overrides: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {"sub": "1001", "org": "10", "role": "user", "iat": int(time.time())}
    claims.update(overrides)
    return {key: value for key, value in claims.items() if value is not None}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unsigned(header: dict[str, Any], claims: dict[str, Any], signature: str = "") -> str:
    parts = (json.dumps(header).encode(), json.dumps(claims).encode())
    return f"{_b64(parts[0])}.{_b64(parts[1])}.{signature}"


def _hs512() -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jwt.warnings.InsecureKeyLengthWarning)
        return jwt.encode(_claims(), JWT_SECRET, algorithm="HS512")


def _swapped_payload() -> str:
    """Alice's genuine signature over a payload that now names Bob."""
    header, _, signature = jwt.encode(_claims(), JWT_SECRET, algorithm="HS256").split(".")
    return f"{header}.{_b64(json.dumps(_claims(sub='1002')).encode())}.{signature}"


BAD_TOKENS: dict[str, Callable[[], str]] = {
    "garbage": lambda: "not-a-token",
    "three-parts": lambda: "aaa.bbb.ccc",
    "wrong-secret": lambda: jwt.encode(
        _claims(), "an-entirely-different-secret-of-good-length", algorithm="HS256"
    ),
    "expired": lambda: jwt.encode(
        _claims(exp=int(time.time()) - 30), JWT_SECRET, algorithm="HS256"
    ),
    "not-yet-valid": lambda: jwt.encode(
        _claims(nbf=int(time.time()) + 3600), JWT_SECRET, algorithm="HS256"
    ),
    "alg-none": lambda: _unsigned({"alg": "none", "typ": "JWT"}, _claims()),
    "alg-none-uppercase": lambda: _unsigned({"alg": "NONE", "typ": "JWT"}, _claims()),
    "alg-none-with-signature": lambda: _unsigned({"alg": "none"}, _claims(), "c2lnbmF0dXJl"),
    "hs512": _hs512,
    "payload-swapped": _swapped_payload,
    "role-admin": lambda: jwt.encode(_claims(role="admin"), JWT_SECRET, algorithm="HS256"),
    "no-org": lambda: jwt.encode(_claims(org=None), JWT_SECRET, algorithm="HS256"),
    "org-control": lambda: jwt.encode(_claims(org="10\n"), JWT_SECRET, algorithm="HS256"),
    "sub-nul": lambda: jwt.encode(_claims(sub="1001\x00"), JWT_SECRET, algorithm="HS256"),
    "sub-list": lambda: jwt.encode(_claims(sub=["1001"]), JWT_SECRET, algorithm="HS256"),
}
# Claims that look like SQL are ids like any other, matched exactly: they name nobody here.
INJECTED_CLAIMS = {
    "org-injection": {"org": "10 OR 1=1"},
    "sub-injection": {"sub": "1001' OR '1'='1"},
}

# (method, path template, body): every REST endpoint; {id} is one of Alice's notifications.
REST_ENDPOINTS = [
    ("GET", JSONAPI, None),
    ("GET", JSONAPI + "/{id}", None),
    ("PATCH", JSONAPI + "/{id}/read", None),
    ("PATCH", JSONAPI + "/{id}/dismiss", None),
    ("PATCH", JSONAPI + "/{id}/undismiss", None),
    ("GET", "/notifications", None),
    ("PATCH", "/notifications", {"operations": [{"op": "add", "path": "/*/seen", "value": None}]}),
]


def _error_code(path: str, body: dict[str, Any]) -> str:
    if path.startswith(JSONAPI):
        (error,) = body["errors"]
        assert error["status"] == "401"
        return str(error["code"])
    assert body["error"]["status"] == 401
    return str(body["error"]["code"])


class TestBadTokensAtTheRestDoors:
    @pytest.mark.parametrize(
        "header", ["Authorization", "X-Auth-Token"], ids=["bearer", "x-auth-token"]
    )
    async def test_401_and_nothing_changes(self, api: Api, header: str) -> None:
        mine = await api.add(ALICE, title="Secret title")
        before = await api.snapshot()
        for case, make in BAD_TOKENS.items():
            token = make()
            headers = {header: f"Bearer {token}" if header == "Authorization" else token}
            for method, template, body in REST_ENDPOINTS:
                path = template.format(id=mine)
                response = await api.client.request(method, path, headers=headers, json=body)
                payload = await response.text()
                where = (case, method, path, payload)
                assert response.status == 401, where
                assert response.headers["WWW-Authenticate"].startswith("Bearer"), where
                assert _error_code(path, json.loads(payload)) == "UNAUTHENTICATED", where
                assert "Secret title" not in payload, where
                assert_no_leak(payload)
        assert await api.snapshot() == before

    async def test_bad_bearer_is_not_rescued_by_a_good_x_auth_token(self, api: Api) -> None:
        await api.add(ALICE)
        headers = {"Authorization": "Bearer not-a-token", "X-Auth-Token": api.token(ALICE)}
        response = await api.client.get(JSONAPI, headers=headers)
        assert response.status == 401

    async def test_the_same_tokens_work_when_genuine(self, api: Api) -> None:
        """The control: with a valid token each endpoint above answers normally."""
        mine = await api.add(ALICE)
        for header, value in (
            ("Authorization", f"Bearer {api.token(ALICE)}"),
            ("X-Auth-Token", api.token(ALICE)),
        ):
            for method, template, body in REST_ENDPOINTS:
                path = template.format(id=mine)
                response = await api.client.request(
                    method, path, headers={header: value}, json=body
                )
                assert response.status in (200, 204), (header, method, path)


class TestBadTokensAtTheGraphqlDoor:
    """GraphQL answers UNAUTHENTICATED for each of these too (tests/graphql has more)."""

    async def test_graphql_unauthenticated(self, api: Api) -> None:
        await api.add(ALICE, title="Secret title")
        before = await api.snapshot()
        for case, make in BAD_TOKENS.items():
            headers = {"Authorization": f"Bearer {make()}"}
            for query in (
                "{ notifications { nodes { title } } }",
                "mutation { markAllRead { count } }",
            ):
                status, body = await api.gql_raw(query, headers=headers)
                assert status in (200, 401), (case, body)
                codes = {error["extensions"]["code"] for error in body["errors"]}
                assert codes == {"UNAUTHENTICATED"}, (case, body)
                assert "Secret title" not in json.dumps(body), case
        assert await api.snapshot() == before


class TestClaimsThatLookLikeSql:
    @pytest.mark.parametrize("claims", list(INJECTED_CLAIMS.values()), ids=list(INJECTED_CLAIMS))
    async def test_name_an_empty_inbox(self, api: Api, claims: dict[str, str]) -> None:
        mine = await api.add(ALICE, title="Secret title")
        before = await api.snapshot()
        token = jwt.encode(_claims(**claims), JWT_SECRET, algorithm="HS256")
        headers = {"Authorization": f"Bearer {token}"}
        listed = await api.client.get(JSONAPI, headers=headers)
        assert (await listed.json(content_type=None))["meta"]["total_count"] == 0
        shown = await api.client.get(f"{JSONAPI}/{mine}", headers=headers)
        assert shown.status == 404
        marked = await api.client.patch(f"{JSONAPI}/{mine}/read", headers=headers)
        assert marked.status == 404
        status, body = await api.gql_raw("mutation { markAllRead { count } }", headers=headers)
        assert (status, body) == (200, {"data": {"markAllRead": {"count": 0}}})
        crm = await api.client.get("/notifications", headers=headers)
        assert (await crm.json())["count"] == 0
        assert await api.snapshot() == before


# -- text that looks like an attack ----------------------------------------------------

HOSTILE = {
    "sql-or": "' OR 1=1 --",
    "sql-drop": '"; DROP TABLE notifications; --',
    "sql-bobby": "Robert'); DROP TABLE notifications;--",
    "sql-union": "x' UNION SELECT id, title FROM notifications WHERE '1'='1",
    "sql-comment": "/* */ -- ; \\' \\\" `",
    "like-wildcards": "%_%\\%",
    "html": "<script>alert(1)</script><img src=x onerror=alert(2)>",
    "template": "{{7*7}} ${jndi:ldap://127.0.0.1/x} #{1+1} %(name)s {0}",
    "json-ish": '{"$ne": null, "__proto__": {"admin": true}}',
    "unicode": (
        "Ünïcödé 🚀 \U0001f469\u200d\U0001f469\u200d\U0001f467 مرحبا \u202etxt.exe\u202c"
        " zero\u200bwidth e\u0301 \U0001d54f \ufeff"
    ),
    "control": "tab\there\nnewline\r\nbell\x07 esc\x1b[31m del\x7f",
}
# In filters and query strings, also: blank, and longer than any request line may be.
FILTER_VALUES = HOSTILE | {"whitespace": "   ", "long": "A" * 50_000}
# Text the database cannot store: refused, clearly, as bad input.
UNSTORABLE = {"nul": "a\x00b", "lone-surrogate": "a\ud800b"}

TEXT_INPUTS = [
    "title",
    "description",
    "excerpt",
    "actorName",
    "targetType",
    "targetTitle",
    "targetLabel",
    "parentType",
    "parentTitle",
    "rootType",
    "resource",
    "reason",
]
# Numbers of ours, sent as IDs.
ID_INPUTS = ["targetId", "parentId", "rootId", "projectId", "firstUnreadActivityId"]
# The publisher's own ids: any text without control characters, kept exactly as sent.
OPAQUE_ID_INPUTS = ["recipientId", "actorId"]
STORABLE_IDS = {name: value for name, value in HOSTILE.items() if name != "control"}
UNUSABLE_IDS = {"control": HOSTILE["control"], **UNSTORABLE}

CREATE = f"""
mutation($input: CreateNotificationInput!) {{
  createNotification(input: $input) {{ id {" ".join(TEXT_INPUTS[:3])} actor {{ name }}
    {" ".join(TEXT_INPUTS[4:])} changeset }}
}}
"""
READ_BACK = f"""
query($id: ID!) {{
  notification(id: $id) {{ {" ".join(TEXT_INPUTS[:3])} actor {{ name }}
    {" ".join(TEXT_INPUTS[4:])} changeset }}
}}
"""


CREATE_WITH_IDS = """
mutation($input: CreateNotificationInput!) {
  createNotification(input: $input) { id recipientId actor { id } }
}
"""
READ_IDS = "query($id: ID!) { notification(id: $id) { recipientId actor { id } } }"


def _graphql_view(fields: dict[str, Any]) -> dict[str, Any]:
    view = {name: fields[name] for name in TEXT_INPUTS if name != "actorName"}
    view["actor"] = {"name": fields["actorName"]}
    view["changeset"] = fields["changeset"]
    return view


async def _table_intact(api: Api, expected_rows: int) -> None:
    async with api.database.read() as conn:
        count = (await conn.execute(select(func.count()).select_from(notifications))).scalar()
        # The table is still the table: its columns answer a plain query.
        await conn.execute(text("SELECT id, title, target_type FROM notifications LIMIT 1"))
    assert count == expected_rows


class TestHostileText:
    @pytest.mark.parametrize("value", list(HOSTILE.values()), ids=list(HOSTILE))
    async def test_every_text_input_is_stored_verbatim(self, api: Api, value: str) -> None:
        await api.add(BOB)
        fields: dict[str, Any] = dict.fromkeys(TEXT_INPUTS, value)
        fields["changeset"] = {value[:100]: [value, {"nested": value}]}
        # The actor (and with it actorName) shows only when it has an id.
        variables = {"input": {"recipientId": "1001", "actorId": "7", **fields}}
        status, body = await api.gql_raw(CREATE, variables, headers=api.auth(ALICE, "service"))
        assert status == 200, body
        assert "errors" not in body, body
        created = body["data"]["createNotification"]
        notification_id = created.pop("id")
        assert created == _graphql_view(fields)
        # Read back by the recipient, through GraphQL and both REST dialects.
        data = await api.data(READ_BACK, {"id": notification_id})
        assert data["notification"] == _graphql_view(fields)
        response = await api.client.get(f"{JSONAPI}/{notification_id}", headers=api.auth())
        attributes = (await response.json(content_type=None))["data"]["attributes"]
        assert (attributes["title"], attributes["target_type"], attributes["excerpt"]) == (
            value,
            value,
            value,
        )
        crm = await (await api.client.get("/notifications", headers=api.auth())).json()
        (item,) = crm["notifications"]
        assert (item["title"], item["description"], item["reason"]) == (value, value, value)
        row = await api.row(int(notification_id))
        assert (row.title, row.actor_name, row.root_type) == (value, value, value)
        await _table_intact(api, 2)

    async def test_longest_text_is_stored_verbatim(self, api: Api) -> None:
        fields: dict[str, Any] = dict.fromkeys(TEXT_INPUTS, "\u00e9" * 10_000)
        fields["title"] = "\U0001f680" * 1_000
        variables = {"input": {"recipientId": "1001", "actorId": "7", **fields}}
        created = await api.data(CREATE, variables, role="service")
        notification_id = created["createNotification"]["id"]
        data = await api.data(READ_BACK, {"id": notification_id})
        assert data["notification"] == _graphql_view(fields | {"changeset": []})
        await _table_intact(api, 1)

    @pytest.mark.parametrize("field", TEXT_INPUTS)
    async def test_text_over_its_limit_is_a_clear_400(self, api: Api, field: str) -> None:
        limit = 1_000 if field == "title" else 10_000
        variables = {"input": {"recipientId": "1001", "title": "ok", field: "x" * (limit + 1)}}
        body = await api.gql(CREATE, variables, role="service")
        (error,) = body["errors"]
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
        assert f"longer than {limit}" in error["message"]
        await _table_intact(api, 0)

    async def test_blank_text(self, api: Api) -> None:
        blank = {"input": {"recipientId": "1001", "title": "   "}}
        body = await api.gql(CREATE, blank, role="service")
        assert body["errors"][0]["message"] == "input.title must not be empty"
        fields: dict[str, Any] = dict.fromkeys(TEXT_INPUTS, " \t ")
        fields["title"] = " ok "
        variables = {"input": {"recipientId": "1001", "actorId": "7", **fields}}
        created = await api.data(CREATE, variables, role="service")
        data = await api.data(READ_BACK, {"id": created["createNotification"]["id"]})
        assert data["notification"] == _graphql_view(fields | {"changeset": []})

    @pytest.mark.parametrize("value", list(UNSTORABLE.values()), ids=list(UNSTORABLE))
    async def test_unstorable_text_is_a_clear_400(self, api: Api, value: str) -> None:
        await api.add(BOB)
        for field in TEXT_INPUTS:
            variables = {"input": {"recipientId": "1001", "title": "ok", field: value}}
            status, body = await api.gql_raw(CREATE, variables, headers=api.auth(ALICE, "service"))
            # A lone surrogate cannot even be parsed as JSON: a request error, 400.
            assert status in (200, 400), (field, body)
            assert [error["extensions"]["code"] for error in body["errors"]] == [
                "BAD_USER_INPUT"
            ], (field, body)
            assert body.get("data") is None
        await _table_intact(api, 1)

    @pytest.mark.parametrize(
        "value", [*HOSTILE.values(), *UNSTORABLE.values()], ids=[*HOSTILE, *UNSTORABLE]
    )
    async def test_id_inputs_refuse_text(self, api: Api, value: str) -> None:
        await _refused_in_each(api, ID_INPUTS, value)

    @pytest.mark.parametrize("value", list(STORABLE_IDS.values()), ids=list(STORABLE_IDS))
    async def test_opaque_id_inputs_keep_hostile_text(self, api: Api, value: str) -> None:
        await api.add(BOB)
        variables = {"input": {"recipientId": value, "actorId": value, "title": "ok"}}
        created = await api.data(CREATE_WITH_IDS, variables, role="service")
        notification = created["createNotification"]
        assert (notification["recipientId"], notification["actor"]) == (value, {"id": value})
        # Its recipient, and only its recipient, reads it back.
        owner = Person(value, ALICE.organization_id)
        data = await api.data(READ_IDS, {"id": notification["id"]}, as_=owner)
        assert data["notification"] == {"recipientId": value, "actor": {"id": value}}
        assert (await api.data(READ_IDS, {"id": notification["id"]}))["notification"] is None
        row = await api.row(int(notification["id"]))
        assert (row.organization_id, row.recipient_id, row.actor_id) == (
            ALICE.organization_id,
            value,
            value,
        )
        await _table_intact(api, 2)

    @pytest.mark.parametrize("value", list(UNUSABLE_IDS.values()), ids=list(UNUSABLE_IDS))
    async def test_opaque_id_inputs_refuse_unusable_text(self, api: Api, value: str) -> None:
        await _refused_in_each(api, OPAQUE_ID_INPUTS, value)


async def _refused_in_each(api: Api, fields: list[str], value: str) -> None:
    """``value`` in each of ``fields`` of a new notification: BAD_USER_INPUT, nothing stored."""
    for field in fields:
        variables = {"input": {"recipientId": "1001", "title": "ok", field: value}}
        status, body = await api.gql_raw(CREATE, variables, headers=api.auth(ALICE, "service"))
        # A lone surrogate cannot even be parsed as JSON: a request error, 400.
        assert status in (200, 400), (field, body)
        assert [error["extensions"]["code"] for error in body["errors"]] == ["BAD_USER_INPUT"], (
            field,
            body,
        )
        for error in body["errors"]:
            assert_no_leak(error["message"], echo=value)
    await _table_intact(api, 0)


async def _url_too_long(api: Api, url: str) -> None:
    """A request line past the HTTP parser's limit is refused before any handler runs."""
    before = await api.snapshot()
    response = await api.client.get(url, headers=api.auth())
    assert response.status in (400, 414), response.status
    assert_no_leak(await response.text())
    assert await api.snapshot() == before


class TestHostileFilters:
    @pytest.mark.parametrize("value", list(HOSTILE.values()), ids=list(HOSTILE))
    async def test_graphql_target_type_matches_only_itself(self, api: Api, value: str) -> None:
        plain = await api.add(ALICE, target_type="Task")
        hostile = await api.add(ALICE, target_type=value)
        await api.add(BOB, target_type=value)
        before = await api.snapshot()
        query = "query($t: String) { notifications(filter: {targetType: $t}) { nodes { id } } }"
        data = await api.data(query, {"t": value})
        assert [int(node["id"]) for node in data["notifications"]["nodes"]] == [hostile]
        assert await api.snapshot() == before
        assert plain != hostile

    @pytest.mark.parametrize("value", list(HOSTILE.values()), ids=list(HOSTILE))
    async def test_graphql_bulk_change_with_hostile_filter(self, api: Api, value: str) -> None:
        await api.add(ALICE, target_type="Task")
        hostile = await api.add(ALICE, target_type=value)
        theirs = await api.add(BOB, target_type=value)
        query = "mutation($t: String) { markAllRead(filter: {targetType: $t}) { count } }"
        assert await api.data(query, {"t": value}) == {"markAllRead": {"count": 1}}
        assert (await api.row(hostile)).read_at is not None
        assert (await api.row(theirs)).read_at is None
        await _table_intact(api, 3)

    @pytest.mark.parametrize("value", [*HOSTILE.values(), UNSTORABLE["nul"]], ids=[*HOSTILE, "nul"])
    async def test_every_jsonapi_filter(self, api: Api, value: str) -> None:
        hostile = await api.add(ALICE, target_type=value.replace("\x00", ""))
        await api.add(ALICE, target_type="Task")
        before = await api.snapshot()
        if len(value) > 8000:
            await _url_too_long(api, f"{JSONAPI}?filter[type]={value}")
            return
        for key in (
            "filter[id]",
            "filter[before]",
            "filter[after]",
            "filter[date_before]",
            "filter[date_after]",
            "filter[dismissed]",
            "filter[important]",
            "filter[read]",
            "filter[mention]",
            "filter[snoozed]",
            "filter[type]",
            "filter[project_id]",
            "page[number]",
            "page[size]",
            f"filter[{value[:200]}]",
        ):
            response = await api.client.get(JSONAPI, params={key: value}, headers=api.auth())
            body = await response.text()
            assert_no_leak(body, echo=value)
            if key == "filter[type]" and "\x00" not in value and value.strip():
                assert response.status == 200, body
                listed = [item["id"] for item in json.loads(body)["data"]]
                assert listed == [str(hostile)]
            elif key in ("filter[type]", "filter[id]") and not value.strip():
                # Blank: no type, no ids; the filter selects nothing rather than fail.
                assert response.status == 200, body
                assert json.loads(body)["data"] == []
            elif key == "filter[type]":
                assert response.status == 400, body
            else:
                assert response.status == 400, (key, body)
                assert json.loads(body)["errors"][0]["status"] == "400"
        assert await api.snapshot() == before
        await _table_intact(api, 2)

    @pytest.mark.parametrize("value", [*HOSTILE.values(), UNSTORABLE["nul"]], ids=[*HOSTILE, "nul"])
    async def test_every_crm_parameter(self, api: Api, value: str) -> None:
        await api.add(ALICE)
        before = await api.snapshot()
        if len(value) > 8000:
            await _url_too_long(api, f"/notifications?seen={value}")
            return
        for key in ("seen", "action_required", "page", "per_page"):
            response = await api.client.get(
                "/notifications", params={key: value}, headers=api.auth()
            )
            body = await response.text()
            assert response.status == 400, (key, body)
            assert json.loads(body)["error"]["parameter"] == key
            assert_no_leak(body, echo=value)
        patch = {"operations": [{"op": "add", "path": f"/{value}/seen", "value": None}]}
        response = await api.client.patch("/notifications", json=patch, headers=api.auth())
        assert response.status == 400
        assert await api.snapshot() == before
        await _table_intact(api, 1)


class TestCursorsAcrossTenants:
    async def test_bobs_cursor_shows_alice_only_her_own(self, api: Api) -> None:
        mine = [await api.add(ALICE) for _ in range(3)]
        for _ in range(3):
            await api.add(BOB)
        query = """
        query($after: String) {
          notifications(first: 1, after: $after) { nodes { id } pageInfo { endCursor } }
        }
        """
        bobs = await api.data(query, {}, as_=BOB)
        cursor = bobs["notifications"]["pageInfo"]["endCursor"]
        data = await api.data(
            "query($a: String) { notifications(after: $a) { nodes { id } } }", {"a": cursor}
        )
        listed = [int(node["id"]) for node in data["notifications"]["nodes"]]
        assert set(listed) <= set(mine)
