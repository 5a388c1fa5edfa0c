"""Automatic persisted queries (Apollo's protocol) on /graphql, over POST and GET."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from strawberry import Schema

from notifgql import appkeys
from notifgql.graphql import compiled as compiled_module
from notifgql.graphql import documents as documents_module
from notifgql.graphql import http as http_module
from notifgql.graphql.persisted import PersistedQueries
from notifgql.notifications import clock
from tests.client import ALICE, BOB, Api, Person
from tests.graphql.conftest import Statements

GRAPHQL_RESPONSE = "application/graphql-response+json"
BADGE = "{ notificationCounts { total unread } }"
TAB = "query Tab($filter: NotificationFilter) { notificationCounts(filter: $filter) { unread } }"
READ = "mutation Read($id: ID!) { readNotification(id: $id) { id read } }"
READ_ALL = "mutation { markAllRead { count } }"
NOT_FOUND = {
    "errors": [
        {"message": "PersistedQueryNotFound", "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"}}
    ]
}
NOT_SUPPORTED = {
    "errors": [
        {
            "message": "PersistedQueryNotSupported",
            "extensions": {"code": "PERSISTED_QUERY_NOT_SUPPORTED"},
        }
    ]
}
EARLIER = datetime(2025, 1, 1, tzinfo=UTC)


def sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def ext(text: str | None = None, *, hash_: str | None = None, version: Any = 1) -> dict[str, Any]:
    """The persistedQuery extension naming ``text`` (or the given hash)."""
    return {"persistedQuery": {"version": version, "sha256Hash": hash_ or sha(text or "")}}


def hashed(text: str, *, send_text: bool, **more: Any) -> dict[str, Any]:
    """A request naming ``text`` by its hash, with the text itself when ``send_text``."""
    body: dict[str, Any] = {"extensions": ext(text), **more}
    if send_text:
        body["query"] = text
    return body


async def post(
    api: Api, body: Any, *, as_: Person | None = ALICE, accept: str = GRAPHQL_RESPONSE
) -> tuple[int, Any]:
    headers = {"Accept": accept, **(api.auth(as_) if as_ is not None else {})}
    response = await api.client.post("/graphql", json=body, headers=headers)
    return response.status, await response.json()


async def get(
    api: Api,
    body: dict[str, Any],
    *,
    as_: Person | None = ALICE,
    accept: str = GRAPHQL_RESPONSE,
) -> tuple[int, Any]:
    """The request as GET parameters: objects as JSON, as Apollo's HTTP link sends them."""
    params = {
        key: value if isinstance(value, str) else json.dumps(value) for key, value in body.items()
    }
    headers = {"Accept": accept, **(api.auth(as_) if as_ is not None else {})}
    response = await api.client.get("/graphql", params=params, headers=headers)
    return response.status, await response.json()


def store(api: Api) -> PersistedQueries:
    return api.client.app[appkeys.PERSISTED_QUERIES]


def badge(total: int, unread: int) -> dict[str, Any]:
    return {"data": {"notificationCounts": {"total": total, "unread": unread}}}


async def two_unread_one_read(api: Api) -> None:
    await api.add(ALICE)
    await api.add(ALICE)
    await api.add(ALICE, read_at=EARLIER)


class TestPost:
    @pytest.mark.parametrize("accept", [GRAPHQL_RESPONSE, "application/json", "*/*"])
    async def test_apollo_flow(self, api: Api, accept: str) -> None:
        await two_unread_one_read(api)
        assert await post(api, hashed(BADGE, send_text=False), accept=accept) == (200, NOT_FOUND)
        assert await post(api, hashed(BADGE, send_text=True), accept=accept) == (200, badge(3, 2))
        assert await post(api, hashed(BADGE, send_text=False), accept=accept) == (200, badge(3, 2))

    async def test_query_null_is_a_hash_alone(self, api: Api) -> None:
        assert await post(api, {"query": None, "extensions": ext(BADGE)}) == (200, NOT_FOUND)

    async def test_variables_and_operation_name_go_with_the_hash(self, api: Api) -> None:
        await api.add(ALICE, important=True)
        await api.add(ALICE)
        important = {"filter": {"important": True}}
        everything = {"filter": None}
        status, body = await post(
            api, hashed(TAB, send_text=True, variables=important, operationName="Tab")
        )
        assert (status, body) == (200, {"data": {"notificationCounts": {"unread": 1}}})
        for variables, unread in ((everything, 2), (important, 1)):
            status, body = await post(
                api, hashed(TAB, send_text=False, variables=variables, operationName="Tab")
            )
            assert (status, body) == (200, {"data": {"notificationCounts": {"unread": unread}}})

    async def test_each_caller_reads_their_own_inbox(self, api: Api) -> None:
        await two_unread_one_read(api)
        await api.add(BOB)
        assert await post(api, hashed(BADGE, send_text=True), as_=ALICE) == (200, badge(3, 2))
        assert await post(api, hashed(BADGE, send_text=False), as_=BOB) == (200, badge(1, 1))
        assert await post(api, hashed(BADGE, send_text=False), as_=ALICE) == (200, badge(3, 2))

    async def test_anonymous_callers_neither_store_nor_read(self, api: Api) -> None:
        typename = "{ __typename }"
        status, body = await post(api, hashed(typename, send_text=True), as_=None)
        assert (status, body) == (200, {"data": {"__typename": "Query"}})
        assert len(store(api)) == 0
        assert await post(api, hashed(typename, send_text=False)) == (200, NOT_FOUND)

        assert await post(api, hashed(typename, send_text=True)) == (
            200,
            {"data": {"__typename": "Query"}},
        )
        assert await post(api, hashed(typename, send_text=False), as_=None) == (200, NOT_FOUND)
        assert await post(api, hashed(typename, send_text=False)) == (
            200,
            {"data": {"__typename": "Query"}},
        )

    async def test_a_persisted_mutation_runs_over_post(self, api: Api) -> None:
        first, second = await api.add(ALICE), await api.add(ALICE)
        status, body = await post(api, hashed(READ, send_text=True, variables={"id": str(first)}))
        assert (status, body) == (
            200,
            {"data": {"readNotification": {"id": str(first), "read": True}}},
        )
        status, body = await post(api, hashed(READ, send_text=False, variables={"id": str(second)}))
        assert (status, body) == (
            200,
            {"data": {"readNotification": {"id": str(second), "read": True}}},
        )
        assert (await api.row(second)).read_at is not None


class TestRefusals:
    async def test_a_hash_that_is_not_the_texts_is_refused_and_stores_nothing(
        self, api: Api
    ) -> None:
        other = "{ notificationCounts { unseen } }"
        status, body = await post(api, {"query": other, "extensions": ext(BADGE)})
        assert status == 400
        assert "data" not in body
        [error] = body["errors"]
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
        assert "sha256Hash is not the SHA-256 of the query" in error["message"]
        assert len(store(api)) == 0
        assert await post(api, hashed(BADGE, send_text=False)) == (200, NOT_FOUND)
        assert await post(api, hashed(other, send_text=False)) == (200, NOT_FOUND)

    async def test_a_refused_mutation_does_not_run(self, api: Api) -> None:
        mine = await api.add(ALICE)
        status, body = await post(api, {"query": READ_ALL, "extensions": ext(BADGE)})
        assert status == 400
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        assert (await api.row(mine)).read_at is None

    async def test_a_stored_text_cannot_be_replaced(self, api: Api) -> None:
        await two_unread_one_read(api)
        assert await post(api, hashed(BADGE, send_text=True)) == (200, badge(3, 2))
        status, _ = await post(api, {"query": READ_ALL, "extensions": ext(BADGE)})
        assert status == 400
        assert await post(api, hashed(BADGE, send_text=False)) == (200, badge(3, 2))

    @pytest.mark.parametrize("version", [2, 0, "1", 1.5, True, None], ids=repr)
    async def test_an_unsupported_version_is_refused(self, api: Api, version: Any) -> None:
        for send_text in (False, True):
            body = {"extensions": ext(BADGE, version=version)}
            if send_text:
                body["query"] = BADGE
            status, answer = await post(api, body)
            assert status == 400
            [error] = answer["errors"]
            assert error["extensions"]["code"] == "BAD_USER_INPUT"
            assert "persistedQuery.version must be 1" in error["message"]
        assert len(store(api)) == 0

    async def test_a_missing_version_is_refused(self, api: Api) -> None:
        body = {"query": BADGE, "extensions": {"persistedQuery": {"sha256Hash": sha(BADGE)}}}
        status, answer = await post(api, body)
        assert status == 400
        assert "persistedQuery.version must be 1" in answer["errors"][0]["message"]
        assert len(store(api)) == 0

    @pytest.mark.parametrize(
        "persisted",
        [
            "not an object",
            [1],
            {"version": 1},
            {"version": 1, "sha256Hash": sha(BADGE).upper()},
            {"version": 1, "sha256Hash": sha(BADGE)[:63]},
            {"version": 1, "sha256Hash": sha(BADGE) + "0"},
            {"version": 1, "sha256Hash": 12},
            {"version": 1, "sha256Hash": "g" * 64},
        ],
        ids=repr,
    )
    async def test_a_malformed_extension_is_refused(self, api: Api, persisted: Any) -> None:
        for body in (
            {"extensions": {"persistedQuery": persisted}},
            {"query": BADGE, "extensions": {"persistedQuery": persisted}},
        ):
            for send in (post, get):
                status, answer = await send(api, body)
                assert status == 400, answer
                [error] = answer["errors"]
                assert error["extensions"]["code"] == "BAD_USER_INPUT"
                assert "extensions.persistedQuery" in error["message"]
        assert len(store(api)) == 0

    async def test_no_text_and_no_hash_is_refused(self, api: Api) -> None:
        status, answer = await post(api, {"extensions": {"something": "else"}})
        assert status == 400
        assert answer["errors"][0]["message"] == "The request's query must be a string"

    @pytest.mark.parametrize(
        "text",
        [
            "{ nope }",
            "{ notificationCounts { unread }",
            "{ " + " ".join(f"a{n}: __typename" for n in range(31)) + " }",
            "#" + "x" * 65_536 + "\n" + BADGE,
        ],
        ids=["invalid", "unparseable", "too many aliases", "too large"],
    )
    async def test_a_text_that_fails_its_checks_is_not_stored(self, api: Api, text: str) -> None:
        status, body = await post(api, hashed(text, send_text=True))
        assert status == 400
        assert "data" not in body
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        assert len(store(api)) == 0
        assert await post(api, hashed(text, send_text=False)) == (200, NOT_FOUND)


class TestGet:
    @pytest.mark.parametrize("accept", [GRAPHQL_RESPONSE, "application/json"])
    async def test_apollo_flow(self, api: Api, accept: str) -> None:
        await two_unread_one_read(api)
        assert await get(api, hashed(BADGE, send_text=False), accept=accept) == (200, NOT_FOUND)
        assert await get(api, hashed(BADGE, send_text=True), accept=accept) == (200, badge(3, 2))
        assert await get(api, hashed(BADGE, send_text=False), accept=accept) == (200, badge(3, 2))

    async def test_get_and_post_share_the_store(self, api: Api) -> None:
        await two_unread_one_read(api)
        assert await post(api, hashed(BADGE, send_text=True)) == (200, badge(3, 2))
        assert await get(api, hashed(BADGE, send_text=False)) == (200, badge(3, 2))

    async def test_a_mismatch_over_get_is_refused(self, api: Api) -> None:
        status, body = await get(api, {"query": BADGE + " ", "extensions": ext(BADGE)})
        assert status == 400
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        assert await get(api, hashed(BADGE, send_text=False)) == (200, NOT_FOUND)

    async def test_a_browser_accept_still_gets_the_answer(self, api: Api) -> None:
        # GraphiQL is for a GET with neither a query nor extensions.
        browser = "text/html,application/xhtml+xml,application/json;q=0.9,*/*;q=0.8"
        status, body = await get(api, hashed(BADGE, send_text=False), accept=browser)
        assert (status, body) == (200, NOT_FOUND)

    async def test_a_persisted_mutation_is_refused_over_get(self, api: Api) -> None:
        first, second = await api.add(ALICE), await api.add(ALICE)
        status, _ = await post(api, hashed(READ, send_text=True, variables={"id": str(first)}))
        assert status == 200
        assert sha(READ) in store(api)

        response = await api.client.get(
            "/graphql",
            params={
                "extensions": json.dumps(ext(READ)),
                "variables": json.dumps({"id": str(second)}),
            },
            headers={"Accept": GRAPHQL_RESPONSE, **api.auth(ALICE)},
        )
        assert response.status == 405
        assert "POST" in response.headers["Allow"]
        assert (await response.json())["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        assert (await api.row(second)).read_at is None

    async def test_a_mutation_sent_over_get_with_its_hash_is_refused_and_not_stored(
        self, api: Api
    ) -> None:
        mine = await api.add(ALICE)
        response = await api.client.get(
            "/graphql",
            params={"query": READ_ALL, "extensions": json.dumps(ext(READ_ALL))},
            headers=api.auth(ALICE),
        )
        assert response.status == 405
        assert (await api.row(mine)).read_at is None
        assert sha(READ_ALL) not in store(api)
        assert await post(api, hashed(READ_ALL, send_text=False)) == (200, NOT_FOUND)
        assert (await api.row(mine)).read_at is None


def tab(n: int) -> str:
    """A valid query text no other ``n`` gives."""
    return f"query Tab{n} {{ notificationCounts {{ unread }} }}"


class TestBound:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, Any]:
        return {"persisted_queries": 3}

    async def test_the_least_recently_used_text_goes_first(self, api: Api) -> None:
        await api.add(ALICE)
        one = {"data": {"notificationCounts": {"unread": 1}}}
        for n in (1, 2, 3):
            assert await post(api, hashed(tab(n), send_text=True)) == (200, one)
        assert await post(api, hashed(tab(1), send_text=False)) == (200, one)  # 1 is used again
        assert await post(api, hashed(tab(4), send_text=True)) == (200, one)  # 2 goes
        assert len(store(api)) == 3
        assert await post(api, hashed(tab(2), send_text=False)) == (200, NOT_FOUND)
        for n in (1, 3, 4):
            assert await post(api, hashed(tab(n), send_text=False)) == (200, one)

    async def test_many_texts_keep_the_bound(self, api: Api) -> None:
        for n in range(10):
            status, _ = await post(api, hashed(tab(n), send_text=True))
            assert status == 200
            assert len(store(api)) == min(n + 1, 3)
        assert [sha(tab(n)) in store(api) for n in range(10)] == [False] * 7 + [True] * 3


def test_the_store_is_bounded_by_memory_too() -> None:
    texts = [f"query Q{n} {{ notificationCounts {{ unread }} }}" + " " * 1_000 for n in range(20)]
    persisted = PersistedQueries(1_000, max_bytes=8_000)
    for text in texts:
        persisted.put(sha(text), text)
        assert persisted.weight <= 8_000
    assert 5 <= len(persisted) <= 7
    assert persisted.get(sha(texts[-1])) == texts[-1]
    assert persisted.get(sha(texts[0])) is None
    huge = "{ __typename }" + " " * 2_100  # over a quarter of the memory: never stored
    persisted.put(sha(huge), huge)
    assert sha(huge) not in persisted
    assert persisted.get(sha(texts[-1])) == texts[-1]


class TestSwitchedOff:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, Any]:
        return {"persisted_queries": 0, "max_batch": 3}

    @pytest.mark.parametrize("accept", [GRAPHQL_RESPONSE, "application/json"])
    async def test_a_hash_alone_is_not_supported(self, api: Api, accept: str) -> None:
        assert appkeys.PERSISTED_QUERIES not in api.client.app
        for send in (post, get):
            status, body = await send(api, hashed(BADGE, send_text=False), accept=accept)
            assert (status, body) == (200, NOT_SUPPORTED)

    async def test_a_text_with_its_hash_runs_as_sent_and_is_not_stored(self, api: Api) -> None:
        await two_unread_one_read(api)
        for send in (post, get):
            assert await send(api, hashed(BADGE, send_text=True)) == (200, badge(3, 2))
            assert await send(api, hashed(BADGE, send_text=False)) == (200, NOT_SUPPORTED)

    async def test_in_a_batch(self, api: Api) -> None:
        await two_unread_one_read(api)
        status, bodies = await post(
            api, [hashed(BADGE, send_text=False), hashed(BADGE, send_text=True)]
        )
        assert (status, bodies) == (200, [NOT_SUPPORTED, badge(3, 2)])


class TestBatches:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, Any]:
        return {"max_batch": 4}

    async def test_each_item_may_be_persisted(self, api: Api) -> None:
        await two_unread_one_read(api)
        two_unread = {"data": {"notificationCounts": {"unread": 2}}}
        status, bodies = await post(
            api,
            [
                hashed(BADGE, send_text=False),
                hashed(tab(1), send_text=True),
                {"query": tab(2)},
                hashed(tab(1), send_text=False),  # stored by the item before it
            ],
        )
        assert (status, bodies) == (200, [NOT_FOUND, two_unread, two_unread, two_unread])
        status, bodies = await post(
            api, [hashed(BADGE, send_text=True), hashed(tab(1), send_text=False)]
        )
        assert (status, bodies) == (200, [badge(3, 2), two_unread])
        status, bodies = await post(
            api, [hashed(BADGE, send_text=False), hashed(tab(2), send_text=False)]
        )
        assert (status, bodies) == (200, [badge(3, 2), NOT_FOUND])

    async def test_a_refused_item_leaves_the_whole_batch_undone(self, api: Api) -> None:
        mine = await api.add(ALICE)
        status, body = await post(
            api,
            [
                hashed(READ, send_text=True, variables={"id": str(mine)}),
                {"query": BADGE, "extensions": ext(tab(1))},
            ],
        )
        assert status == 400
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        assert (await api.row(mine)).read_at is None
        assert len(store(api)) == 0


class TestNoRepeatedWork:
    """A text found by its hash is the text sent in full: its checked document and compiled
    plan serve it, and nothing is hashed, parsed, validated or compiled again."""

    @pytest.fixture
    def work(self, monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
        done = {"parse": 0, "validate": 0, "compile": 0, "sha256": 0}

        def counting(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
            def counted(*args: Any, **kwargs: Any) -> Any:
                done[name] += 1
                return original(*args, **kwargs)

            return counted

        import strawberry.schema.schema as strawberry_schema

        monkeypatch.setattr(documents_module, "parse", counting("parse", documents_module.parse))
        monkeypatch.setattr(strawberry_schema, "parse", counting("parse", strawberry_schema.parse))
        monkeypatch.setattr(
            documents_module,
            "validate_document",
            counting("validate", documents_module.validate_document),
        )
        monkeypatch.setattr(
            compiled_module, "compile_plan", counting("compile", compiled_module.compile_plan)
        )
        monkeypatch.setattr(http_module, "sha256_of", counting("sha256", http_module.sha256_of))
        return done

    async def test_a_persisted_badge_request_repeats_no_work(
        self,
        api: Api,
        work: dict[str, int],
        statements: Statements,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        async def idle(*_args: Any) -> tuple[int, int]:
            return 0, 0

        # The clock's looks (a read four times a second) would be counted with the requests'.
        monkeypatch.setattr(clock, "tick", idle)
        await two_unread_one_read(api)
        for _ in range(2):
            statements.sent.clear()
            assert await post(api, {"query": BADGE}) == (200, badge(3, 2))
        assert work == {"parse": 1, "validate": 1, "compile": 1, "sha256": 0}
        text_statements = len(statements.sent)

        assert await post(api, hashed(BADGE, send_text=True)) == (200, badge(3, 2))
        assert work == {"parse": 1, "validate": 1, "compile": 1, "sha256": 1}
        for _ in range(3):
            statements.sent.clear()
            assert await post(api, hashed(BADGE, send_text=False)) == (200, badge(3, 2))
            assert len(statements.sent) == text_statements == 1
            # The text sent again with its hash is compared with the stored one, not hashed.
            assert await post(api, hashed(BADGE, send_text=True)) == (200, badge(3, 2))
        assert await get(api, hashed(BADGE, send_text=False)) == (200, badge(3, 2))
        assert work == {"parse": 1, "validate": 1, "compile": 1, "sha256": 1}

    async def test_a_persisted_text_is_answered_by_its_plan(
        self, api: Api, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        await two_unread_one_read(api)
        executed: list[str] = []
        original = Schema.execute

        async def spying(self: Schema, query: str | None, *args: Any, **kwargs: Any) -> Any:
            executed.append(str(query))
            return await original(self, query, *args, **kwargs)

        monkeypatch.setattr(Schema, "execute", spying)
        assert await post(api, hashed(BADGE, send_text=True)) == (200, badge(3, 2))
        assert await post(api, hashed(BADGE, send_text=False)) == (200, badge(3, 2))
        assert executed == []
        # A text no plan covers goes through the executor, found by its hash as well.
        typename = "{ __typename notificationCounts { unread } }"
        answer = {"data": {"__typename": "Query", "notificationCounts": {"unread": 2}}}
        assert await post(api, hashed(typename, send_text=True)) == (200, answer)
        assert await post(api, hashed(typename, send_text=False)) == (200, answer)
        assert executed == [typename, typename]
