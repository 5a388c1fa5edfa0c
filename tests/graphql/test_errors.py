"""Bad input: contract codes, never INTERNAL_SERVER_ERROR, no internals, nothing changed."""

from __future__ import annotations

import base64
import struct
from datetime import UTC, datetime
from typing import Any

import pytest

from notifgql.notifications.pagination import CursorCodec, Position
from tests.client import ALICE, Api
from tests.graphql.documents import (
    CREATE,
    DISMISS,
    LIST_IDS,
    MARK_ALL_READ,
    MARK_ALL_SEEN,
    MARK_SEEN,
    PAGE,
    READ,
    UNDISMISS,
    UNREAD,
    assert_error,
    assert_no_data,
)

LIST = "query($filter: NotificationFilter) { notifications(filter: $filter) { totalCount } }"


async def refused(
    api: Api, query: str, variables: dict[str, Any] | None, code: str, **kw: Any
) -> dict[str, Any]:
    """Send a request that must fail with ``code`` and change nothing; returns the body."""
    await api.add(ALICE)
    await api.add(ALICE, important=True)
    before = await api.snapshot()
    status, body = await api.gql_raw(
        query, variables, headers=api.auth(ALICE, kw.get("role", "user"))
    )
    assert status in (200, 400), body
    assert_error(body, code)
    assert_no_data(body)
    assert await api.snapshot() == before
    return body


async def a_cursor(api: Api) -> str:
    """A genuine cursor of Alice's list."""
    for _ in range(3):
        await api.add(ALICE)
    data = await api.data(LIST_IDS, {"first": 1})
    return str(data["notifications"]["pageInfo"]["endCursor"])


def flipped(cursor: str, index: int) -> str:
    """``cursor`` with the character at ``index`` replaced by another base64url one."""
    replacement = "A" if cursor[index] != "A" else "B"
    return cursor[:index] + replacement + cursor[index + 1 :]


class TestCursors:
    @pytest.mark.parametrize("argument", ["after", "before"])
    @pytest.mark.parametrize(
        "cursor",
        ["garbage", "", "!!!!", "a" * 65, "ÿÿÿÿ", "YWJj", "eyJpZCI6IDF9", "0" * 36],
    )
    async def test_damaged_cursor_is_bad_input(self, api: Api, argument: str, cursor: str) -> None:
        body = await refused(api, LIST_IDS, {argument: cursor}, "BAD_USER_INPUT")
        assert argument in body["errors"][0]["message"]

    @pytest.mark.parametrize("index", [0, 5, 12, 20, -1])
    @pytest.mark.parametrize("argument", ["after", "before"])
    async def test_flipped_character_is_bad_input(
        self, api: Api, argument: str, index: int
    ) -> None:
        cursor = await a_cursor(api)
        await api.data(LIST_IDS, {argument: cursor})  # the genuine cursor works
        await refused(api, LIST_IDS, {argument: flipped(cursor, index)}, "BAD_USER_INPUT")

    async def test_truncated_or_extended_cursor_is_bad_input(self, api: Api) -> None:
        cursor = await a_cursor(api)
        await refused(api, LIST_IDS, {"after": cursor[:-2]}, "BAD_USER_INPUT")
        await refused(api, LIST_IDS, {"after": cursor + "AA"}, "BAD_USER_INPUT")

    async def test_cursor_of_another_key_is_bad_input(self, api: Api) -> None:
        forged = CursorCodec("some other server secret").encode(
            Position(datetime(2026, 1, 1, tzinfo=UTC), 1)
        )
        await refused(api, LIST_IDS, {"after": forged}, "BAD_USER_INPUT")

    async def test_hand_made_cursor_is_bad_input(self, api: Api) -> None:
        payload = struct.pack(">Bqq", 1, 1_700_000_000_000_000, 1) + b"\x00" * 10
        forged = base64.urlsafe_b64encode(payload).rstrip(b"=").decode()
        await refused(api, LIST_IDS, {"after": forged}, "BAD_USER_INPUT")

    async def test_after_and_before_together_is_bad_input(self, api: Api) -> None:
        cursor = await a_cursor(api)
        await refused(api, LIST_IDS, {"after": cursor, "before": cursor}, "BAD_USER_INPUT")

    async def test_first_and_last_together_is_bad_input(self, api: Api) -> None:
        await refused(api, LIST_IDS, {"first": 2, "last": 2}, "BAD_USER_INPUT")


class TestSizes:
    @pytest.mark.parametrize("argument", ["first", "last"])
    @pytest.mark.parametrize("size", [0, -1, 201, 100_000])
    async def test_window_size_outside_1_to_200(self, api: Api, argument: str, size: int) -> None:
        body = await refused(api, LIST_IDS, {argument: size}, "BAD_USER_INPUT")
        assert argument in body["errors"][0]["message"]

    async def test_window_size_beyond_int_is_bad_input(self, api: Api) -> None:
        query = "{ notifications(first: 2147483648) { totalCount } }"
        await refused(api, query, None, "BAD_USER_INPUT")

    @pytest.mark.parametrize("page_size", [0, -1, 201])
    async def test_page_size_outside_1_to_200(self, api: Api, page_size: int) -> None:
        body = await refused(api, PAGE, {"page": 1, "pageSize": page_size}, "BAD_USER_INPUT")
        assert "pageSize" in body["errors"][0]["message"]

    @pytest.mark.parametrize("page", [0, -1])
    async def test_page_below_1(self, api: Api, page: int) -> None:
        body = await refused(api, PAGE, {"page": page, "pageSize": 10}, "BAD_USER_INPUT")
        assert "page" in body["errors"][0]["message"]

    async def test_absurd_page_is_bad_input(self, api: Api) -> None:
        await refused(api, PAGE, {"page": 2_000_000_000, "pageSize": 200}, "BAD_USER_INPUT")


MALFORMED_TIMES = ["nope", "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z", "yesterday", "12:00"]
OUT_OF_RANGE_TIMES = ["9999-12-31T23:30:00-01:00", "0001-01-01T00:30:00+01:00"]
TIME_FIELDS = ["createdAfter", "createdBefore", "lastActionAfter", "lastActionBefore"]


class TestDateTimes:
    @pytest.mark.parametrize("value", MALFORMED_TIMES)
    @pytest.mark.parametrize("field", TIME_FIELDS)
    async def test_malformed_in_a_variable(self, api: Api, field: str, value: str) -> None:
        await refused(api, LIST, {"filter": {field: value}}, "BAD_USER_INPUT")

    @pytest.mark.parametrize("value", MALFORMED_TIMES)
    async def test_malformed_in_a_literal(self, api: Api, value: str) -> None:
        query = f'{{ notifications(filter: {{createdAfter: "{value}"}}) {{ totalCount }} }}'
        await refused(api, query, None, "BAD_USER_INPUT")

    async def test_wrong_type_in_a_variable(self, api: Api) -> None:
        await refused(api, LIST, {"filter": {"createdAfter": 1_700_000_000}}, "BAD_USER_INPUT")

    @pytest.mark.parametrize("value", OUT_OF_RANGE_TIMES)
    @pytest.mark.parametrize("field", TIME_FIELDS)
    async def test_out_of_range_in_a_filter(self, api: Api, field: str, value: str) -> None:
        await refused(api, LIST, {"filter": {field: value}}, "BAD_USER_INPUT")

    @pytest.mark.parametrize("mutation", [MARK_ALL_SEEN, MARK_ALL_READ], ids=["seen", "read"])
    async def test_malformed_in_a_bulk_mutation_changes_nothing(
        self, api: Api, mutation: str
    ) -> None:
        await refused(api, mutation, {"filter": {"createdBefore": "soon"}}, "BAD_USER_INPUT")
        await refused(
            api, mutation, {"filter": {"createdBefore": OUT_OF_RANGE_TIMES[0]}}, "BAD_USER_INPUT"
        )

    @pytest.mark.parametrize("field", ["createdAt", "lastActionAt"])
    @pytest.mark.parametrize("value", ["nope", *OUT_OF_RANGE_TIMES])
    async def test_bad_time_in_create(self, api: Api, field: str, value: str) -> None:
        variables = {"input": {"recipientId": "1001", "title": "t", field: value}}
        await refused(api, CREATE, variables, "BAD_USER_INPUT", role="service")

    async def test_extreme_but_valid_times_work(self, api: Api) -> None:
        await api.add(ALICE)
        for value in ("0001-01-01T00:00:00+00:00", "9999-12-31T23:59:59+00:00"):
            data = await api.data(LIST, {"filter": {"createdAfter": value}})
            assert data["notifications"]["totalCount"] == (1 if value.startswith("0001") else 0)


BAD_TEXT = ["a\u0000b", "a\ud800b"]


class TestText:
    @pytest.mark.parametrize("value", BAD_TEXT, ids=["nul", "lone-surrogate"])
    async def test_unstorable_target_type_filter(self, api: Api, value: str) -> None:
        await refused(api, LIST, {"filter": {"targetType": value}}, "BAD_USER_INPUT")
        await refused(api, MARK_ALL_READ, {"filter": {"targetType": value}}, "BAD_USER_INPUT")

    @pytest.mark.parametrize("field", ["title", "description", "targetType", "actorName"])
    @pytest.mark.parametrize("value", BAD_TEXT, ids=["nul", "lone-surrogate"])
    async def test_unstorable_text_in_create(self, api: Api, field: str, value: str) -> None:
        variables = {"input": {"recipientId": "1001", "title": "t", field: value}}
        await refused(api, CREATE, variables, "BAD_USER_INPUT", role="service")

    # A NUL inside a changeset is valid JSON and stored escaped (tests/graphql/test_changeset.py).
    @pytest.mark.parametrize("changeset", [{"k": "a\ud800b"}], ids=["lone-surrogate"])
    async def test_unstorable_changeset_in_create(self, api: Api, changeset: Any) -> None:
        variables = {"input": {"recipientId": "1001", "title": "t", "changeset": changeset}}
        await refused(api, CREATE, variables, "BAD_USER_INPUT", role="service")


NON_NUMERIC_IDS = ["abc", "1e3", "0x10", "-1", "0", "1.0", "99999999999999999999", "١٢"]


class TestIds:
    @pytest.mark.parametrize("bad_id", NON_NUMERIC_IDS)
    @pytest.mark.parametrize(
        "mutation",
        [READ, UNREAD, DISMISS, UNDISMISS],
        ids=["read", "unread", "dismiss", "undismiss"],
    )
    async def test_change_one_is_not_found(self, api: Api, mutation: str, bad_id: str) -> None:
        await refused(api, mutation, {"id": bad_id}, "NOT_FOUND")

    @pytest.mark.parametrize("bad_id", NON_NUMERIC_IDS)
    async def test_mark_seen_refuses_the_whole_list(self, api: Api, bad_id: str) -> None:
        real = await api.add(ALICE)
        await refused(api, MARK_SEEN, {"ids": [str(real), bad_id]}, "BAD_USER_INPUT")
        assert (await api.row(real)).seen_at is None

    @pytest.mark.parametrize("bad_id", NON_NUMERIC_IDS)
    async def test_filter_ids(self, api: Api, bad_id: str) -> None:
        await refused(api, LIST, {"filter": {"ids": ["1", bad_id]}}, "BAD_USER_INPUT")
        await refused(api, MARK_ALL_SEEN, {"filter": {"ids": [bad_id]}}, "BAD_USER_INPUT")

    @pytest.mark.parametrize("bad_id", NON_NUMERIC_IDS)
    async def test_filter_project_id(self, api: Api, bad_id: str) -> None:
        await refused(api, LIST, {"filter": {"projectId": bad_id}}, "BAD_USER_INPUT")

    async def test_too_many_ids(self, api: Api) -> None:
        many = [str(n) for n in range(1, 1002)]
        await refused(api, MARK_SEEN, {"ids": many}, "BAD_USER_INPUT")
        await refused(api, LIST, {"filter": {"ids": many}}, "BAD_USER_INPUT")

    async def test_largest_id_is_just_absent(self, api: Api) -> None:
        await refused(api, READ, {"id": "9223372036854775807"}, "NOT_FOUND")
        data = await api.data(LIST, {"filter": {"ids": ["9223372036854775807"]}})
        assert data["notifications"]["totalCount"] == 0


class TestDocuments:
    @pytest.mark.parametrize(
        ("query", "variables"),
        [
            ("{ notifications { ", None),
            ("{ nope }", None),
            ("{ notifications(filter: {unknown: true}) { totalCount } }", None),
            ("query($id: ID!) { notification(id: $id) { id } }", None),
            ("query($id: ID!) { notification(id: $id) { id } }", {"id": {"nested": 1}}),
            ('{ notifications(first: "ten") { totalCount } }', None),
            ("mutation { markSeen(ids: null) { count } }", None),
            ('mutation { createNotification(input: {title: "no recipient"}) { id } }', None),
        ],
    )
    async def test_invalid_document_is_bad_input(
        self, api: Api, query: str, variables: dict[str, Any] | None
    ) -> None:
        await refused(api, query, variables, "BAD_USER_INPUT")
