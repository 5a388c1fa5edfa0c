"""Compiled plans answer exactly as the general executor does."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from notifgql.app import create_app
from notifgql.graphql.compiled import Plan, Plans
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
        actor_id="7",
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
    assert await compiled.read() == await regular.read()


def plans_of(schema: Schema) -> Plans:
    return Plans(schema._schema, schema.documents)


async def test_hot_queries_compile() -> None:
    plans = plans_of(build_schema(Settings()))
    for query, _ in CORPUS[:9]:
        assert isinstance(await plans.get(query, None), Plan), query


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
    assert await plans_of(build_schema(Settings())).get(query, None) is None


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


async def fallbacks(api: Api) -> dict[str, float]:
    """notifgql_plan_fallbacks_total by reason, from /metrics."""
    text = await (await api.client.get("/metrics")).text()
    found: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("notifgql_plan_fallbacks_total{"):
            reason = line.split('reason="', 1)[1].split('"', 1)[0]
            found[reason] = float(line.rsplit(" ", 1)[1])
    return found


async def test_no_corpus_document_falls_back(api: Api) -> None:
    await _seed(api)
    for query, variables in CORPUS[:9]:
        body = {"query": query, "variables": variables}
        response = await api.client.post("/graphql", json=body, headers=api.auth())
        assert response.status == 200
    assert await fallbacks(api) == {}

    # The refusals of the corpus fall back on purpose, and are counted as such.
    for query, variables in CORPUS[9:13]:
        await api.client.post(
            "/graphql", json={"query": query, "variables": variables}, headers=api.auth()
        )
    assert await fallbacks(api) == {"refused": 3.0, "variables": 1.0}


async def test_a_bug_in_a_plan_is_logged_and_counted(
    api: Api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from notifgql.graphql import roots

    await _seed(api)

    async def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise KeyError("a bug")

    monkeypatch.setattr(roots, "notification_counts", broken)
    response = await api.client.post(
        "/graphql", json={"query": "{ notificationCounts { total } }"}, headers=api.auth()
    )
    # The executor runs the same root function, so it fails there too: masked, not hidden.
    body = await response.json()
    assert body["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert await fallbacks(api) == {"unexpected": 1.0}
    assert any("compiled plan failed" in record.getMessage() for record in caplog.records)
