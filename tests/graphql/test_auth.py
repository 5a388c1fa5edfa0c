"""Who may ask: tenancy between inboxes, tokens, and roles."""

from __future__ import annotations

import base64
import json
import time
import warnings
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import jwt
import pytest

from tests.client import ALICE, ALICE_ELSEWHERE, BOB, Api, Person
from tests.conftest import JWT_SECRET
from tests.graphql.documents import (
    COUNTS,
    CREATE,
    DISMISS,
    LIST_IDS,
    MARK_ALL_READ,
    MARK_ALL_SEEN,
    MARK_SEEN,
    NOTIFICATION,
    PAGE,
    READ,
    UNDISMISS,
    UNREAD,
    assert_error,
    assert_no_data,
    ids,
)

INTRUDERS = pytest.mark.parametrize("intruder", [BOB, ALICE_ELSEWHERE], ids=["bob", "elsewhere"])


async def alices_two(api: Api) -> tuple[int, int]:
    """One fresh notification of Alice's, and one read, seen and dismissed."""
    moment = datetime(2025, 1, 1, tzinfo=UTC)
    fresh = await api.add(ALICE, important=True, mention=True, action_required=True)
    handled = await api.add(ALICE, read_at=moment, seen_at=moment, dismissed_at=moment)
    return fresh, handled


class TestTenancy:
    @INTRUDERS
    async def test_notification_is_null(self, api: Api, intruder: Person) -> None:
        fresh, handled = await alices_two(api)
        for notification_id in (fresh, handled):
            data = await api.data(NOTIFICATION, {"id": str(notification_id)}, as_=intruder)
            assert data == {"notification": None}
        # Alice herself does see it: the null above is tenancy, not a broken query.
        data = await api.data(NOTIFICATION, {"id": str(fresh)}, as_=ALICE)
        assert data["notification"]["id"] == str(fresh)

    @INTRUDERS
    async def test_notifications_list_nothing(self, api: Api, intruder: Person) -> None:
        fresh, handled = await alices_two(api)
        own = await api.add(intruder)
        data = await api.data(LIST_IDS, {"first": 200}, as_=intruder)
        assert ids(data["notifications"]) == [own]
        assert data["notifications"]["totalCount"] == 1
        spec = {"ids": [str(fresh), str(handled)]}
        data = await api.data(LIST_IDS, {"filter": spec}, as_=intruder)
        assert ids(data["notifications"]) == []
        assert data["notifications"]["totalCount"] == 0
        assert ids((await api.data(LIST_IDS, {"filter": spec}))["notifications"]) == [
            handled,
            fresh,
        ]

    @INTRUDERS
    async def test_notifications_page_lists_nothing(self, api: Api, intruder: Person) -> None:
        await alices_two(api)
        data = await api.data(PAGE, {"page": 1, "pageSize": 50}, as_=intruder)
        page = data["notificationsPage"]
        assert (page["nodes"], page["totalCount"], page["totalPages"]) == ([], 0, 0)

    @INTRUDERS
    async def test_counts_are_zero(self, api: Api, intruder: Person) -> None:
        fresh, handled = await alices_two(api)
        for spec in (None, {"ids": [str(fresh), str(handled)]}):
            data = await api.data(COUNTS, {"filter": spec}, as_=intruder)
            assert data["notificationCounts"] == {
                "total": 0,
                "unread": 0,
                "unseen": 0,
                "important": 0,
                "mentions": 0,
                "actionRequired": 0,
            }

    @INTRUDERS
    @pytest.mark.parametrize(
        "mutation",
        [READ, UNREAD, DISMISS, UNDISMISS],
        ids=["read", "unread", "dismiss", "undismiss"],
    )
    async def test_change_one_is_not_found(self, api: Api, intruder: Person, mutation: str) -> None:
        fresh, handled = await alices_two(api)
        absent = handled + 1000
        before = await api.snapshot()
        absent_body = await api.gql(mutation, {"id": str(absent)}, as_=intruder)
        assert_error(absent_body, "NOT_FOUND")
        for notification_id in (fresh, handled):
            body = await api.gql(mutation, {"id": str(notification_id)}, as_=intruder)
            assert_error(body, "NOT_FOUND")
            assert body["data"] is None
            # Word for word what an absent id gets: the error leaks no existence.
            message = body["errors"][0]["message"].replace(str(notification_id), "ID")
            assert message == absent_body["errors"][0]["message"].replace(str(absent), "ID")
        assert await api.snapshot() == before

    @INTRUDERS
    async def test_mark_seen_counts_zero(self, api: Api, intruder: Person) -> None:
        fresh, handled = await alices_two(api)
        before = await api.snapshot()
        data = await api.data(MARK_SEEN, {"ids": [str(fresh), str(handled)]}, as_=intruder)
        assert data == {"markSeen": {"count": 0}}
        assert await api.snapshot() == before

    @INTRUDERS
    @pytest.mark.parametrize("mutation", [MARK_ALL_SEEN, MARK_ALL_READ], ids=["seen", "read"])
    async def test_mark_all_counts_zero(self, api: Api, intruder: Person, mutation: str) -> None:
        fresh, handled = await alices_two(api)
        before = await api.snapshot()
        for spec in (None, {"ids": [str(fresh), str(handled)]}, {"important": True}):
            body = await api.data(mutation, {"filter": spec}, as_=intruder)
            assert next(iter(body.values())) == {"count": 0}
        assert await api.snapshot() == before


def _claims(**overrides: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {"sub": "1001", "org": "10", "role": "user", "iat": int(time.time())}
    claims.update(overrides)
    return {key: value for key, value in claims.items() if value is not None}


def _hs256(claims: dict[str, Any], secret: str = JWT_SECRET) -> str:
    return jwt.encode(claims, secret, algorithm="HS256")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _alg_none() -> str:
    header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return f"{header}.{_b64(json.dumps(_claims()).encode())}."


def _hs512(claims: dict[str, Any]) -> str:
    """Signed with the right secret, but not with the one algorithm the contract allows."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jwt.warnings.InsecureKeyLengthWarning)
        return jwt.encode(claims, JWT_SECRET, algorithm="HS512")


def _payload_swapped() -> str:
    """Alice's valid signature over a payload that now names Bob."""
    header, _, signature = _hs256(_claims()).split(".")
    payload = _b64(json.dumps(_claims(sub="1002")).encode())
    return f"{header}.{payload}.{signature}"


BAD_AUTHORIZATION: dict[str, Callable[[], str | None]] = {
    "missing": lambda: None,
    "empty": lambda: "",
    "bearer-without-token": lambda: "Bearer ",
    "garbage": lambda: "Bearer not-a-token",
    "three-garbage-parts": lambda: "Bearer aaa.bbb.ccc",
    "no-scheme": lambda: _hs256(_claims()),
    "basic-scheme": lambda: "Basic " + _hs256(_claims()),
    "wrong-signature": lambda: (
        "Bearer " + _hs256(_claims(), "another-secret-of-sufficient-length!")
    ),
    "expired": lambda: "Bearer " + _hs256(_claims(exp=int(time.time()) - 60)),
    "alg-none": lambda: "Bearer " + _alg_none(),
    "alg-none-pyjwt": lambda: "Bearer " + jwt.encode(_claims(), None, algorithm="none"),
    "hs512": lambda: "Bearer " + _hs512(_claims()),
    "payload-swapped": lambda: "Bearer " + _payload_swapped(),
    "unknown-role": lambda: "Bearer " + _hs256(_claims(role="admin")),
    "no-sub": lambda: "Bearer " + _hs256(_claims(sub=None)),
    "no-org": lambda: "Bearer " + _hs256(_claims(org=None)),
    "bad-org": lambda: "Bearer " + _hs256(_claims(org="")),
    "bad-user-sub": lambda: "Bearer " + _hs256(_claims(sub="x" * 256)),
    "not-yet-valid": lambda: "Bearer " + _hs256(_claims(nbf=int(time.time()) + 3600)),
}


class TestTokens:
    @pytest.mark.parametrize("case", list(BAD_AUTHORIZATION))
    async def test_bad_token_on_a_query_is_unauthenticated(self, api: Api, case: str) -> None:
        notification_id = await api.add(ALICE, title="Secret")
        header = BAD_AUTHORIZATION[case]()
        headers = {} if header is None else {"Authorization": header}
        query = "query($id: ID!) { notification(id: $id) { title } notifications { totalCount } }"
        status, body = await api.gql_raw(query, {"id": str(notification_id)}, headers=headers)
        assert status in (200, 401)
        assert_error(body, "UNAUTHENTICATED")
        assert "Secret" not in json.dumps(body)
        assert_no_data(body)

    @pytest.mark.parametrize("case", list(BAD_AUTHORIZATION))
    async def test_bad_token_on_a_mutation_changes_nothing(self, api: Api, case: str) -> None:
        await api.add(ALICE)
        before = await api.snapshot()
        header = BAD_AUTHORIZATION[case]()
        headers = {} if header is None else {"Authorization": header}
        status, body = await api.gql_raw(MARK_ALL_READ, headers=headers)
        assert status in (200, 401)
        assert_error(body, "UNAUTHENTICATED")
        assert await api.snapshot() == before

    async def test_expired_token_from_issue_token(self, api: Api) -> None:
        token = api.token(ALICE, ttl_seconds=-1)
        status, body = await api.gql_raw(
            "{ notifications { totalCount } }", headers={"Authorization": f"Bearer {token}"}
        )
        assert status in (200, 401)
        assert_error(body, "UNAUTHENTICATED")

    async def test_unexpired_token_from_issue_token_works(self, api: Api) -> None:
        await api.add(ALICE)
        token = api.token(ALICE, ttl_seconds=600)
        status, body = await api.gql_raw(
            "{ notifications { totalCount } }", headers={"Authorization": f"Bearer {token}"}
        )
        assert (status, body) == (200, {"data": {"notifications": {"totalCount": 1}}})

    async def test_role_defaults_to_user(self, api: Api) -> None:
        await api.add(ALICE)
        token = _hs256(_claims(role=None))
        status, body = await api.gql_raw(
            "{ notifications { totalCount } }", headers={"Authorization": f"Bearer {token}"}
        )
        assert (status, body) == (200, {"data": {"notifications": {"totalCount": 1}}})

    async def test_bearer_scheme_is_case_insensitive(self, api: Api) -> None:
        await api.add(ALICE)
        token = api.token(ALICE)
        status, body = await api.gql_raw(
            "{ notifications { totalCount } }", headers={"Authorization": f"bearer {token}"}
        )
        assert (status, body) == (200, {"data": {"notifications": {"totalCount": 1}}})


SERVICE_REFUSED = {
    "notification": ('{ notification(id: "%(id)s") { id } }', {}),
    "notification-bad-id": ('{ notification(id: "abc") { id } }', {}),
    "notifications": ("{ notifications { totalCount } }", {}),
    "notifications-nodes": ("{ notifications(first: 5) { nodes { id } } }", {}),
    "notificationsPage": ("{ notificationsPage { nodes { id } } }", {}),
    "notificationCounts": ("{ notificationCounts { total } }", {}),
    "readNotification": (READ, {"id": "%(id)s"}),
    "readNotification-bad-id": (READ, {"id": "abc"}),
    "unreadNotification": (UNREAD, {"id": "%(id)s"}),
    "dismissNotification": (DISMISS, {"id": "%(id)s"}),
    "undismissNotification": (UNDISMISS, {"id": "%(id)s"}),
    "markSeen": (MARK_SEEN, {"ids": ["%(id)s"]}),
    "markSeen-empty": (MARK_SEEN, {"ids": []}),
    "markAllSeen": (MARK_ALL_SEEN, {}),
    "markAllRead": (MARK_ALL_READ, {"filter": {"important": True}}),
}


def _fill(value: Any, notification_id: int) -> Any:
    if isinstance(value, str):
        return value.replace("%(id)s", str(notification_id))
    if isinstance(value, list):
        return [_fill(item, notification_id) for item in value]
    if isinstance(value, dict):
        return {key: _fill(item, notification_id) for key, item in value.items()}
    return value


class TestRoles:
    @pytest.mark.parametrize("case", list(SERVICE_REFUSED))
    async def test_service_token_has_no_inbox(self, api: Api, case: str) -> None:
        notification_id = await api.add(ALICE, important=True)
        before = await api.snapshot()
        query, variables = SERVICE_REFUSED[case]
        body = await api.gql(
            _fill(query, notification_id), _fill(variables, notification_id), role="service"
        )
        assert_error(body, "FORBIDDEN")
        assert_no_data(body)
        assert await api.snapshot() == before

    async def test_user_token_cannot_create(self, api: Api) -> None:
        variables = {"input": {"recipientId": "1002", "title": "Spoof"}}
        for person in (ALICE, BOB):
            body = await api.gql(CREATE, variables, as_=person)
            assert_error(body, "FORBIDDEN")
            assert body["data"] is None
        assert await api.snapshot() == []

    async def test_user_token_cannot_create_even_with_bad_input(self, api: Api) -> None:
        variables = {"input": {"recipientId": "", "title": ""}}
        body = await api.gql(CREATE, variables)
        assert_error(body, "FORBIDDEN")
        assert await api.snapshot() == []

    async def test_service_token_creates(self, api: Api) -> None:
        variables = {"input": {"recipientId": "1002", "title": "For Bob"}}
        created = (await api.data(CREATE, variables, role="service"))["createNotification"]
        assert (created["recipientId"], created["organizationId"]) == ("1002", "10")
        assert ids((await api.data(LIST_IDS, as_=BOB))["notifications"]) == [int(created["id"])]
        assert ids((await api.data(LIST_IDS, as_=ALICE))["notifications"]) == []
