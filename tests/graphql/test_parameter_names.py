"""GraphQL names the argument at fault by its path, in camelCase, on both databases."""

from __future__ import annotations

from typing import Any

import pytest

from tests.client import ALICE, Api
from tests.graphql.documents import CREATE, MARK_ALL_READ, MARK_SEEN, PAGE

LIST = "query($filter: NotificationFilter) { notifications(filter: $filter) { totalCount } }"
COUNTS = "query($filter: NotificationFilter) { notificationCounts(filter: $filter) { total } }"
TOO_LATE = "9999-12-31T23:30:00-01:00"
MANY = [str(n) for n in range(1, 1002)]


async def bad_input(
    api: Api, query: str, variables: dict[str, Any], role: str = "user"
) -> dict[str, Any]:
    """The one error of a request that must be refused as bad input."""
    await api.add(ALICE)
    before = await api.snapshot()
    _, body = await api.gql_raw(query, variables, headers=api.auth(ALICE, role))
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT", body
    assert await api.snapshot() == before
    return dict(error)


@pytest.mark.parametrize(
    "query", [LIST, COUNTS, PAGE, MARK_ALL_READ], ids=["list", "counts", "page", "mark"]
)
@pytest.mark.parametrize(
    ("filter", "parameter", "message"),
    [
        (
            {"targetType": "a\x00b"},
            "filter.targetType",
            "filter.targetType contains a NUL character",
        ),
        ({"createdAfter": TOO_LATE}, "filter.createdAfter", "filter.createdAfter is out of range"),
        (
            {"lastActionBefore": TOO_LATE},
            "filter.lastActionBefore",
            "filter.lastActionBefore is out of range",
        ),
        ({"projectId": "x"}, "filter.projectId", "filter.projectId is 'x', which is not an id"),
        ({"ids": ["1", "0"]}, "filter.ids", "filter.ids holds '0', which is not an id"),
        ({"ids": MANY}, "filter.ids", "filter.ids may hold at most 1000 ids"),
    ],
)
async def test_filter_errors_name_the_argument_path(
    api: Api, query: str, filter: dict[str, Any], parameter: str, message: str
) -> None:
    error = await bad_input(api, query, {"filter": filter})
    assert error["extensions"]["parameter"] == parameter
    assert error["message"] == message


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("createdAt", TOO_LATE, "input.createdAt is out of range"),
        ("lastActionAt", TOO_LATE, "input.lastActionAt is out of range"),
        ("actorName", "a\x00b", "input.actorName contains a NUL character"),
        ("title", " ", "input.title must not be empty"),
        ("targetId", "nope", "input.targetId is 'nope', which is not an id"),
        ("firstUnreadActivityId", "0", "input.firstUnreadActivityId is '0', which is not an id"),
        ("newActivitiesCount", -1, "input.newActivitiesCount must be between 0 and 2147483647"),
    ],
)
async def test_create_errors_name_the_input_path(
    api: Api, field: str, value: Any, message: str
) -> None:
    variables = {"input": {"recipientId": "1001", "title": "t", field: value}}
    error = await bad_input(api, CREATE, variables, role="service")
    assert error["extensions"]["parameter"] == f"input.{field}"
    assert error["message"] == message


async def test_mark_seen_ids_keep_their_name(api: Api) -> None:
    error = await bad_input(api, MARK_SEEN, {"ids": MANY})
    assert error["extensions"]["parameter"] == "ids"
    assert error["message"] == "ids may hold at most 1000 ids"


@pytest.mark.parametrize(
    ("variables", "parameter"),
    [({"page": 1, "pageSize": 500}, "pageSize"), ({"page": 0, "pageSize": 10}, "page")],
)
async def test_page_limits_name_the_argument(
    api: Api, variables: dict[str, Any], parameter: str
) -> None:
    error = await bad_input(api, PAGE, variables)
    assert error["extensions"]["parameter"] == parameter
    assert error["message"].startswith(f"{parameter} ")


async def test_errors_without_an_argument_have_no_parameter(api: Api) -> None:
    _, body = await api.gql_raw(LIST, {}, headers=api.auth(ALICE, "service"))
    (error,) = body["errors"]
    assert error["extensions"] == {"code": "FORBIDDEN"}
