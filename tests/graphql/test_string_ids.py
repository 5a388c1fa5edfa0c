"""Recipient, organization and actor ids as identity providers give them, through GraphQL."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest

from tests.client import Api, Person
from tests.conftest import JWT_SECRET
from tests.graphql.documents import (
    DISMISS,
    MARK_ALL_READ,
    MARK_ALL_SEEN,
    MARK_SEEN,
    READ,
    UNDISMISS,
    UNREAD,
    assert_error,
    assert_no_data,
)
from tests.string_ids import (
    ACTOR,
    AUTH0,
    AUTH0_ELSEWHERE,
    BAD_IDS,
    LONGEST,
    LOWER,
    ONE,
    PEOPLE,
    PEOPLE_IDS,
    SPACED_ONE,
    UPPER,
    ZERO_ONE,
)

IDS = "id recipientId organizationId actor { id name }"
CREATE = f"""
mutation($input: CreateNotificationInput!) {{ createNotification(input: $input) {{ {IDS} }} }}
"""
NOTIFICATION = f"query($id: ID!) {{ notification(id: $id) {{ {IDS} }} }}"
EVERY_QUERY = f"""
query($id: ID!, $after: String) {{
  notification(id: $id) {{ {IDS} }}
  first: notifications(first: 1) {{ edges {{ cursor node {{ {IDS} }} }} totalCount }}
  rest: notifications(first: 5, after: $after) {{ nodes {{ id }} pageInfo {{ hasNextPage }} }}
  notificationsPage(pageSize: 5) {{ nodes {{ {IDS} }} totalCount totalPages }}
  notificationCounts {{ total unread unseen }}
}}
"""
PEOPLE_PARAMS = pytest.mark.parametrize("person", PEOPLE, ids=PEOPLE_IDS)


async def publish(api: Api, person: Person, title: str = "Hello", **fields: Any) -> str:
    """Publish to ``person`` through createNotification, with their organization's service."""
    variables = {"input": {"recipientId": person.recipient_id, "title": title, **fields}}
    data = await api.data(CREATE, variables, as_=person, role="service")
    created = data["createNotification"]
    assert (created["recipientId"], created["organizationId"]) == (
        person.recipient_id,
        person.organization_id,
    )
    return str(created["id"])


def shown(notification_id: str, person: Person, actor: dict[str, Any] | None = None) -> Any:
    return {
        "id": notification_id,
        "recipientId": person.recipient_id,
        "organizationId": person.organization_id,
        "actor": actor,
    }


async def ids_of(api: Api, person: Person) -> list[str]:
    data = await api.data("{ notifications(first: 200) { nodes { id } } }", as_=person)
    return [node["id"] for node in data["notifications"]["nodes"]]


class TestEveryQuery:
    @PEOPLE_PARAMS
    async def test_ids_come_back_unchanged(self, api: Api, person: Person) -> None:
        older = await publish(api, person, "Older")
        newer = await publish(api, person, "Newer", actorId=ACTOR, actorName="Gia")
        # Someone with the same recipient id elsewhere, and someone else in the same place.
        await publish(api, Person(person.recipient_id, "elsewhere"))
        await publish(api, Person("somebody-else", person.organization_id))
        first = await api.data(EVERY_QUERY, {"id": newer}, as_=person)
        actor = {"id": ACTOR, "name": "Gia"}
        assert first["notification"] == shown(newer, person, actor)
        (edge,) = first["first"]["edges"]
        assert (edge["node"], first["first"]["totalCount"]) == (shown(newer, person, actor), 2)
        second = await api.data(EVERY_QUERY, {"id": older, "after": edge["cursor"]}, as_=person)
        assert second["rest"] == {"nodes": [{"id": older}], "pageInfo": {"hasNextPage": False}}
        assert second["notificationsPage"] == {
            "nodes": [shown(newer, person, actor), shown(older, person)],
            "totalCount": 2,
            "totalPages": 1,
        }
        assert second["notificationCounts"] == {"total": 2, "unread": 2, "unseen": 2}


class TestEveryMutation:
    @PEOPLE_PARAMS
    async def test_each_changes_only_the_viewers_inbox(self, api: Api, person: Person) -> None:
        mine = await publish(api, person)
        twin = Person(person.recipient_id, "elsewhere")
        theirs = await publish(api, twin)
        for mutation, state in [
            (READ, {"read": True, "seen": True, "dismissed": False}),
            (UNREAD, {"read": False, "seen": True, "dismissed": False}),
            (DISMISS, {"read": False, "seen": True, "dismissed": True}),
            (UNDISMISS, {"read": False, "seen": True, "dismissed": False}),
        ]:
            (changed,) = (await api.data(mutation, {"id": mine}, as_=person)).values()
            assert {key: changed[key] for key in state} == state
            # The twin's notification is absent to this person, whatever the mutation.
            assert_error(await api.gql(mutation, {"id": theirs}, as_=person), "NOT_FOUND")
        second = await publish(api, person, "Second")
        await publish(api, person, "Third")
        marked = await api.data(MARK_SEEN, {"ids": [second, theirs]}, as_=person)
        assert marked == {"markSeen": {"count": 1}}
        assert await api.data(MARK_ALL_SEEN, as_=person) == {"markAllSeen": {"count": 1}}
        assert await api.data(MARK_ALL_READ, as_=person) == {"markAllRead": {"count": 3}}
        counts = "{ notificationCounts { total unread unseen } }"
        assert (await api.data(counts, as_=twin))["notificationCounts"] == {
            "total": 1,
            "unread": 1,
            "unseen": 1,
        }


class TestTenancy:
    async def test_the_same_user_id_in_two_organizations(self, api: Api) -> None:
        here = await publish(api, AUTH0, "Here")
        there = await publish(api, AUTH0_ELSEWHERE, "There")
        assert await ids_of(api, AUTH0) == [here]
        assert await ids_of(api, AUTH0_ELSEWHERE) == [there]
        for viewer, other in ((AUTH0, there), (AUTH0_ELSEWHERE, here)):
            assert await api.data(NOTIFICATION, {"id": other}, as_=viewer) == {"notification": None}
            body = await api.gql(READ, {"id": other}, as_=viewer)
            assert_error(body, "NOT_FOUND")
            assert_no_data(body)

    @pytest.mark.parametrize(
        ("person", "lookalike"),
        [(ONE, ZERO_ONE), (ONE, SPACED_ONE), (UPPER, LOWER)],
        ids=["1-vs-01", "1-vs-space-1", "Alice-vs-alice"],
    )
    async def test_ids_are_compared_exactly(
        self, api: Api, person: Person, lookalike: Person
    ) -> None:
        mine = await publish(api, person)
        theirs = await publish(api, lookalike)
        assert await ids_of(api, person) == [mine]
        assert await ids_of(api, lookalike) == [theirs]
        assert await api.data(MARK_ALL_READ, as_=person) == {"markAllRead": {"count": 1}}
        counts = await api.data("{ notificationCounts { unread } }", as_=lookalike)
        assert counts == {"notificationCounts": {"unread": 1}}


class TestBadIds:
    @pytest.mark.parametrize("field", ["recipientId", "actorId"])
    @pytest.mark.parametrize("value", list(BAD_IDS.values()), ids=list(BAD_IDS))
    async def test_create_refuses_them_writing_nothing(
        self, api: Api, field: str, value: str
    ) -> None:
        variables = {"input": {"recipientId": "1001", "title": "t", field: value}}
        body = await api.gql(CREATE, variables, role="service")
        assert_error(body, "BAD_USER_INPUT")
        assert_no_data(body)
        (error,) = body["errors"]
        assert error["extensions"]["parameter"] == f"input.{field}"
        assert error["message"].startswith(f"input.{field} ")
        assert await api.snapshot() == []

    async def test_the_longest_id_is_accepted(self, api: Api) -> None:
        await publish(api, LONGEST, actorId=LONGEST.recipient_id)
        row = (await api.snapshot())[0]
        assert row[1:4] == (LONGEST.organization_id, LONGEST.recipient_id, LONGEST.recipient_id)


def _token(**claims: Any) -> str:
    values: dict[str, Any] = {"sub": "1001", "org": "10", "iat": int(time.time())} | claims
    return jwt.encode({k: v for k, v in values.items() if v is not None}, JWT_SECRET, "HS256")


BAD_CLAIMS: dict[str, dict[str, Any]] = {
    **{f"sub-{name}": {"sub": value} for name, value in BAD_IDS.items()},
    **{f"org-{name}": {"org": value} for name, value in BAD_IDS.items()},
    "sub-list": {"sub": ["1001"]},
    "org-object": {"org": {"id": "10"}},
    "org-float": {"org": 10.0},
    "org-boolean": {"org": True},
    "service-sub-too-long": {"sub": "x" * 256, "role": "service"},
}


class TestTokens:
    @pytest.mark.parametrize("claims", list(BAD_CLAIMS.values()), ids=list(BAD_CLAIMS))
    async def test_claims_that_name_no_id_are_unauthenticated(
        self, api: Api, claims: dict[str, Any]
    ) -> None:
        await api.add(Person("1001", "10"))
        before = await api.snapshot()
        headers = {"Authorization": f"Bearer {_token(**claims)}"}
        for query in ("{ notifications { totalCount } }", "mutation { markAllRead { count } }"):
            status, body = await api.gql_raw(query, headers=headers)
            assert status in (200, 401)
            assert_error(body, "UNAUTHENTICATED")
            assert_no_data(body)
        assert await api.snapshot() == before

    async def test_integer_claims_name_their_decimal_text(self, api: Api) -> None:
        # Tokens signed while ids were numbers keep opening the same inbox.
        notification_id = await api.add(Person("1001", "10"))
        headers = {"Authorization": f"Bearer {_token(sub=1001, org=10)}"}
        status, body = await api.gql_raw("{ notifications { nodes { id } } }", headers=headers)
        assert (status, body) == (
            200,
            {"data": {"notifications": {"nodes": [{"id": str(notification_id)}]}}},
        )

    @PEOPLE_PARAMS
    async def test_string_claims_are_taken_exactly(self, api: Api, person: Person) -> None:
        mine = await publish(api, person)
        headers = {
            "Authorization": f"Bearer {_token(sub=person.recipient_id, org=person.organization_id)}"
        }
        status, body = await api.gql_raw("{ notifications { nodes { id } } }", headers=headers)
        assert (status, body) == (200, {"data": {"notifications": {"nodes": [{"id": mine}]}}})
