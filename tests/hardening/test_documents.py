"""Parsed documents: remembered only for authenticated callers, bounded by memory, parsed once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from graphql import DocumentNode

from notifgql import appkeys
from notifgql.graphql import documents as documents_module
from notifgql.graphql.documents import Documents
from tests.client import Api

HOT = "{ notifications(first: 5) { nodes { id title } } notificationCounts { unread } }"
# Root __typename is left to the executor: this one is checked for a plan, then executed.
EXECUTED = "{ __typename notificationCounts { unread } }"


@pytest.fixture
def backend() -> str:
    # Caching happens before any SQL: one database is enough.
    return "sqlite"


@pytest.fixture
def documents(api: Api) -> Documents:
    return api.client.app[appkeys.DOCUMENTS]


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """Every parse of a query text: (length, thread id), by notifgql or by Strawberry."""
    seen: list[tuple[int, int]] = []

    def counting(original: Callable[..., DocumentNode]) -> Callable[..., DocumentNode]:
        def parse(source: Any, *args: Any, **kwargs: Any) -> DocumentNode:
            seen.append((len(str(source)), threading.get_ident()))
            return original(source, *args, **kwargs)

        return parse

    import strawberry.schema.schema as strawberry_schema

    monkeypatch.setattr(documents_module, "parse", counting(documents_module.parse))
    monkeypatch.setattr(strawberry_schema, "parse", counting(strawberry_schema.parse))
    return seen


def distinct(n: int, padding: int = 0) -> str:
    """A valid query no other call of this function returns for another ``n``."""
    return f"query Q{n} {{ notificationCounts {{ unread }} }}" + " " * padding


async def test_anonymous_documents_are_not_remembered(api: Api, documents: Documents) -> None:
    for n in range(40):
        response = await api.client.post("/graphql", json={"query": distinct(n, 1_000)})
        body = await response.json()
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert len(documents) == 0
    assert documents.weight == 0

    for n in range(40):
        await api.gql(distinct(n))
    assert len(documents) == 40


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"document_cache_bytes": 400_000}


async def test_cache_is_bounded_by_memory(api: Api, documents: Documents) -> None:
    # Each entry weighs about 2 KB + 48 bytes per character: ~76 KB here.
    for n in range(30):
        await api.gql(distinct(n, 1_500))
        assert documents.weight <= 400_000
    assert 4 <= len(documents) <= 5
    # The newest stay: the last text is answered from the cache.
    assert documents._entries.get(distinct(29, 1_500)) is not None


async def test_a_known_callers_query_is_parsed_once(
    api: Api, parses: list[tuple[int, int]]
) -> None:
    for _ in range(3):
        assert "errors" not in await api.gql(HOT)
        assert "errors" not in await api.gql(EXECUTED)
    assert [length for length, _ in parses] == [len(HOT), len(EXECUTED)]


async def test_an_anonymous_query_is_parsed_once_per_request(
    api: Api, parses: list[tuple[int, int]]
) -> None:
    for _ in range(2):
        response = await api.client.post("/graphql", json={"query": HOT})
        assert (await response.json())["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert len(parses) == 2


async def test_an_oversized_text_is_never_parsed(api: Api, parses: list[tuple[int, int]]) -> None:
    over = "#" + "x" * (64 * 1024) + "\n{ __typename }"
    for headers in ({}, api.auth()):
        response = await api.client.post("/graphql", json={"query": over}, headers=headers)
        body = await response.json()
        assert body["errors"][0]["message"] == "The query is larger than 65536 bytes"
    assert parses == []


async def test_a_long_text_is_parsed_off_the_event_loop(
    api: Api, parses: list[tuple[int, int]]
) -> None:
    long = "{ " + " ".join(f"a{n}: __typename" for n in range(25)) + " }" + " " * 8_000
    loop_thread = threading.get_ident()
    response = await api.client.post("/graphql", json={"query": long})
    assert (await response.json())["data"]["a0"] == "Query"
    assert len(parses) == 1
    assert parses[0][1] != loop_thread

    short = "{ __typename }"
    await api.client.post("/graphql", json={"query": short})
    assert parses[1] == (len(short), loop_thread)


async def test_operation_names_a_document_lacks_are_not_remembered(
    api: Api, documents: Documents
) -> None:
    query = "query Badge { notificationCounts { unread } }"
    for n in range(50):
        body = {"query": query, "operationName": f"Nope{n}" + "x" * 1_000}
        await api.client.post("/graphql", json=body, headers=api.auth())
    await api.client.post(
        "/graphql", json={"query": query, "operationName": "Badge"}, headers=api.auth()
    )
    entry = documents._entries[query]
    assert set(entry.plans) == {"Badge"}
