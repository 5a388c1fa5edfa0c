"""Compiled plans answer exactly as the general executor does."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from notifgql.app import create_app
from notifgql.graphql.compiled import Plan
from notifgql.graphql.schema import Schema, build_schema
from notifgql.settings import Settings
from tests.client import ALICE, BOB, Api

EVERY_FIELD = """
  id title description excerpt targetType targetId targetTitle targetLabel
  parentType parentId parentTitle rootType rootId projectId resource reason
  read readAt seen seenAt dismissed dismissedAt important mention actionRequired
  madeByAutomation newActivitiesCount firstUnreadActivityId changeset
  lastActionAt createdAt organizationId recipientId actor { id name __typename } __typename
"""

CORPUS: list[tuple[str, dict[str, Any]]] = [
    (
        f"{{ notifications(first: 30) {{ edges {{ cursor node {{ {EVERY_FIELD} }} }} "
        "pageInfo { hasNextPage hasPreviousPage startCursor endCursor } totalCount } }",
        {},
    ),
    (
        "query Q($f: NotificationFilter, $n: Int) { list: notifications(filter: $f, first: $n) "
        "{ nodes { id t: title readAt actor { name } } pageInfo { hasNextPage endCursor } } }",
        {"f": {"read": False, "targetType": "TASK"}, "n": 2},
    ),
    (
        "query Q($f: NotificationFilter) { notificationCounts(filter: $f) "
        "{ total unread unseen important mentions actionRequired __typename } }",
        {"f": {"createdAfter": "2026-03-01T12:03:00+00:00"}},
    ),
    (
        "{ notificationCounts { total } notificationsPage(page: 2, pageSize: 2) "
        "{ nodes { id } currentPage pageSize totalCount totalPages maxPageSize __typename } }",
        {},
    ),
    (
        "query One($id: ID!) { notification(id: $id) { ...Parts actor { id } } } "
        "fragment Parts on Notification { id title changeset createdAt }",
        {"id": "1"},
    ),
    ('{ notification(id: "999999") { id } }', {}),
    ('{ notification(id: "abc") { id } }', {}),
    (
        "{ notifications(last: 3) { edges { cursor node { id } } "
        "pageInfo { hasPreviousPage hasNextPage } } }",
        {},
    ),
    ('{ notifications(filter: {ids: ["1", "3"]}) { nodes { id } } }', {}),
    # Errors and refusals: the plan steps aside and the executor answers.
    ("{ notifications(first: 0) { nodes { id } } }", {}),
    ('{ notifications(after: "forged") { nodes { id } } }', {}),
    (
        "query Q($f: NotificationFilter) { notificationCounts(filter: $f) { total } }",
        {"f": {"read": "yes"}},
    ),
    ("{ notificationsPage(pageSize: 500) { nodes { id } } }", {}),
    ("{ notificationCounts { total } __typename }", {}),
]


async def _seed(api: Api) -> None:
    await api.add(ALICE, title="first", target_type="task", important=True, changeset=[{"a": 1}])
    await api.add(
        ALICE,
        title="second",
        actor_id=7,
        actor_name="Ana",
        read_at=datetime(2026, 3, 2, tzinfo=UTC),
    )
    await api.add(
        ALICE, title="third", target_type="Task", last_action_at=datetime(2026, 3, 5, tzinfo=UTC)
    )
    await api.add(ALICE, title="fourth", mention=True, seen_at=datetime(2026, 3, 3, tzinfo=UTC))
    await api.add(BOB, title="not Alice's")


@pytest.fixture
async def general(settings: Settings) -> AsyncIterator[TestClient[Any, Any]]:
    """The same database served with compiled plans switched off."""
    app = create_app(settings.model_copy(update={"compiled_queries": False}))
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        yield client


@pytest.mark.parametrize(("query", "variables"), CORPUS, ids=[q[:50] for q, _ in CORPUS])
async def test_same_response_both_ways(
    api: Api, general: TestClient[Any, Any], query: str, variables: dict[str, Any]
) -> None:
    await _seed(api)
    body = {"query": query, "variables": variables}
    compiled = await api.client.post("/graphql", json=body, headers=api.auth())
    regular = await general.post("/graphql", json=body, headers=api.auth())
    assert compiled.status == regular.status
    assert await compiled.json() == await regular.json()


async def test_hot_queries_compile() -> None:
    schema = build_schema(Settings())
    assert schema.plans is not None
    for query, _ in CORPUS[:9]:
        assert isinstance(await schema.plans.get(query, None), Plan), query


@pytest.mark.parametrize(
    "query",
    [
        "mutation { markAllSeen { count } }",
        "{ notifications @include(if: true) { nodes { id } } }",
        "{ a: notificationCounts { total } a: notificationCounts { total } }",
        "{ nope }",
        "{ __schema { types { name } } }",
    ],
)
async def test_others_do_not(query: str) -> None:
    schema = build_schema(Settings())
    assert schema.plans is not None
    assert await schema.plans.get(query, None) is None


async def test_hot_query_never_reaches_the_executor(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _seed(api)

    async def refuse(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("the general executor ran")

    monkeypatch.setattr(Schema, "execute", refuse)
    response = await api.client.post("/graphql", json={"query": CORPUS[0][0]}, headers=api.auth())
    body = await response.json()
    assert [edge["node"]["title"] for edge in body["data"]["notifications"]["edges"]] == [
        "third",
        "fourth",
        "second",
        "first",
    ]
