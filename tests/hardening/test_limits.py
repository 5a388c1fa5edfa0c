"""Query limits, and that checking them stays linear in the document's size."""

from __future__ import annotations

import time
from typing import Any

import pytest
from graphql import parse

from notifgql.graphql.limits import Limits, violations
from tests.client import Api


def nested_fragment_bomb(levels: int) -> str:
    """Each fragment spreads the next twice: 2**levels fields once expanded."""
    fragments = [
        f"fragment F{i} on NotificationCounts {{ ...F{i + 1} ...F{i + 1} total }}"
        for i in range(levels)
    ]
    fragments.append(f"fragment F{levels} on NotificationCounts {{ unread }}")
    return "query Bomb { notificationCounts { ...F0 } }\n" + "\n".join(fragments)


def aliases(count: int) -> str:
    return "{ " + " ".join(f"a{i}: notificationCounts {{ total }}" for i in range(count)) + " }"


class TestMeasure:
    def test_depth_counts_fields_not_fragments(self) -> None:
        document = parse("query Q { a { ...F } } fragment F on T { b { c } }")
        assert list(violations(document, Limits(max_depth=3))) == []
        assert list(violations(document, Limits(max_depth=2))) == [
            "Q is nested more than 2 levels deep"
        ]

    def test_aliases_count_once_per_expansion(self) -> None:
        document = parse("{ ...F ...F } fragment F on T { x: a y: b }")
        # The same fragment spread twice expands to four aliased fields.
        assert list(violations(document, Limits(max_aliases=4))) == []
        assert "more than 3 aliases" in next(iter(violations(document, Limits(max_aliases=3))))

    def test_fragment_bomb_is_measured_in_linear_time(self) -> None:
        # 2**60 fields once expanded; measured by visiting each fragment once.
        document = parse(nested_fragment_bomb(60))
        started = time.perf_counter()
        found = list(violations(document, Limits()))
        # Generous: a linear pass takes microseconds; an expanding walk would never finish.
        assert time.perf_counter() - started < 1.0
        assert any("fields once fragments are expanded" in problem for problem in found)

    def test_fragment_cycle_does_not_loop(self) -> None:
        document = parse("{ ...A } fragment A on T { ...B } fragment B on T { ...A x }")
        assert list(violations(document, Limits())) == []


class TestOverHttp:
    async def test_deep_query_is_refused_before_validation(self, api: Api) -> None:
        def nested(levels: int) -> str:
            return "{ " + "".join(f"f{i} {{ " for i in range(levels - 1)) + "leaf" + " }" * levels

        ten = await api.gql(nested(10))
        assert "nested" not in ten["errors"][0]["message"]  # only validation complains
        eleven = await api.gql(nested(11))
        assert eleven["errors"][0]["message"] == "the operation is nested more than 10 levels deep"
        assert eleven["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"

    async def test_fragment_bomb_is_refused(self, api: Api) -> None:
        body = await api.gql(nested_fragment_bomb(40))
        assert "data" not in body
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"

    async def test_alias_limit(self, api: Api) -> None:
        assert "errors" not in await api.gql(aliases(30))
        body = await api.gql(aliases(31))
        assert "more than 30 aliases" in body["errors"][0]["message"]

    async def test_token_limit(self, api: Api) -> None:
        body = await api.gql("{ " + "a " * 6_000 + "}")  # 12 KB: under the byte limit
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        assert "token" in body["errors"][0]["message"].lower()

    async def test_byte_limit_counts_comments(self, api: Api) -> None:
        # Comments are no tokens: a megabyte of them passed the token limit and stalled
        # the lexer. The text's size is limited on its own.
        under = "# " + "x" * (64 * 1024 - 100) + "\n{ __typename }"
        assert (await api.gql(under))["data"] == {"__typename": "Query"}
        over = "# " + "x" * (64 * 1024) + "\n{ __typename }"
        body = await api.gql(over)
        assert "data" not in body
        assert body["errors"][0]["message"] == "The query is larger than 65536 bytes"
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


class TestGraphiQLIntrospection:
    async def test_introspection_query_passes_the_limits(self, api: Api) -> None:
        from graphql import get_introspection_query

        body = await api.gql(get_introspection_query(descriptions=True))
        assert "errors" not in body
        assert body["data"]["__schema"]["queryType"]["name"] == "Query"


class TestIntrospectionOff:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, Any]:
        return {"introspection": False}

    async def test_introspection_is_refused(self, api: Api) -> None:
        body = await api.gql("{ __schema { types { name } } }")
        assert "data" not in body
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"

    async def test_no_field_suggestions(self, api: Api) -> None:
        body = await api.gql("{ notificationz { total } }")
        message = body["errors"][0]["message"]
        assert "notificationz" in message
        assert "Did you mean" not in message
