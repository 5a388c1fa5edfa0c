"""Property-based tests: no input, however odd, is a 500 or changes what it must not.

Each test runs its examples against one server (hypothesis inside one pytest-asyncio test),
over a small inbox seeded once. Reads must never change a row; filters must agree with a
model of the seeded rows; bulk changes must stay inside the viewer's inbox.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from notifgql.errors import BadUserInput
from notifgql.notifications.pagination import CursorCodec
from tests.client import ALICE, ALICE_ELSEWHERE, BOB, Api, Person
from tests.conftest import JWT_SECRET

# Bounded: each example is a real HTTP round trip or three.
EXAMPLES = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
FEWER = settings(EXAMPLES, max_examples=50)

TARGET_TYPES = ["Task", "task", "TASK", "Comment", "tâche", "TÂCHE", "Straße", None]
BASE = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Seeded:
    """What the seeded inbox holds: Alice's rows as the model, and everyone's ids."""

    alice: dict[int, dict[str, Any]]
    others: list[int]


async def seed(api: Api) -> Seeded:
    alice: dict[int, dict[str, Any]] = {}
    for n in range(14):
        moment = BASE + timedelta(hours=n * 7, minutes=n)
        fields: dict[str, Any] = {
            "created_at": moment,
            "last_action_at": None if n % 3 else moment + timedelta(days=1, seconds=n),
            "read_at": moment if n % 2 else None,
            "seen_at": moment if n % 4 in (1, 2, 3) else None,
            "dismissed_at": moment if n % 5 == 0 else None,
            "important": n % 3 == 0,
            "mention": n % 4 == 0,
            "action_required": n % 6 == 1,
            "made_by_automation": n % 7 == 2,
            "target_type": TARGET_TYPES[n % len(TARGET_TYPES)],
            "project_id": [None, 5, 77][n % 3],
        }
        alice[await api.add(ALICE, **fields)] = fields
    others = []
    for person in (BOB, BOB, ALICE_ELSEWHERE, ALICE_ELSEWHERE):
        others.append(await api.add(person, target_type="Task", project_id=5))
    return Seeded(alice, others)


@pytest.fixture
async def seeded(api: Api) -> Seeded:
    return await seed(api)


async def post(api: Api, query: str, variables: Any, person: Person = ALICE) -> dict[str, Any]:
    """POST a GraphQL request; never a 5xx, never INTERNAL_SERVER_ERROR."""
    response = await api.client.post(
        "/graphql", json={"query": query, "variables": variables}, headers=api.auth(person)
    )
    text = await response.text()
    assert response.status < 500, text
    assert "INTERNAL_SERVER_ERROR" not in text, text
    body: dict[str, Any] = json.loads(text)
    return body


def codes(body: dict[str, Any]) -> set[str]:
    return {error["extensions"]["code"] for error in body.get("errors", [])}


def node_ids(connection: dict[str, Any]) -> list[int]:
    return [int(node["id"]) for node in connection["nodes"]]


# -- strategies ------------------------------------------------------------------------

ODD_OFFSETS = st.one_of(
    st.sampled_from(
        [timedelta(0), timedelta(hours=5, minutes=45), timedelta(hours=-9, minutes=-30)]
    ),
    st.timedeltas(
        min_value=timedelta(hours=-23, minutes=-59), max_value=timedelta(hours=23, minutes=59)
    ),
)


def _render(moment: datetime, offset: timedelta | None) -> str:
    return (
        moment.isoformat()
        if offset is None
        else moment.replace(tzinfo=timezone(offset)).isoformat()
    )


# Near the seeded rows, where the bounds decide something, and anywhere else.
near = st.datetimes(min_value=datetime(2026, 2, 28), max_value=datetime(2026, 3, 8))
anywhere = st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59))
date_times = st.builds(_render, near | anywhere, st.none() | ODD_OFFSETS)
weird_text = st.text(max_size=40)
id_values = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.integers(min_value=1, max_value=40).map(str),
    weird_text,
)


def wrong_type() -> st.SearchStrategy[Any]:
    """Values of the wrong type for any field."""
    return st.one_of(
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=False),
        st.lists(st.integers(), max_size=3),
        st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
        weird_text,
    )


BOOLEANS = [
    "read",
    "seen",
    "dismissed",
    "important",
    "mention",
    "actionRequired",
    "madeByAutomation",
]
TIMES = ["createdAfter", "createdBefore", "lastActionAfter", "lastActionBefore"]


def sensible_filters(known_ids: Iterable[int] = ()) -> st.SearchStrategy[dict[str, Any]]:
    """Well-typed filters of a few fields each, so that many of them select something."""
    ids = st.lists(st.sampled_from(sorted(known_ids) or [1]).map(str) | id_values, max_size=6)
    target = st.sampled_from([t for t in TARGET_TYPES if t]) | weird_text
    target = target | target.map(str.swapcase) | target.map(str.upper)
    values: dict[str, st.SearchStrategy[Any]] = {
        "ids": st.none() | ids,
        "targetType": st.none() | target,
        "projectId": st.none() | st.sampled_from(["5", "77", "6"]) | id_values,
    }
    values |= {name: st.none() | st.booleans() for name in BOOLEANS}
    values |= {name: st.none() | date_times for name in TIMES}
    names = st.lists(st.sampled_from(sorted(values)), max_size=3, unique=True)
    return names.flatmap(
        lambda chosen: st.fixed_dictionaries({name: values[name] for name in chosen})
    )


def weird_filters() -> st.SearchStrategy[Any]:
    """Filters with wrong types, unknown fields, or not even an object."""
    names = st.sampled_from(["ids", "targetType", "projectId", *BOOLEANS, *TIMES]) | weird_text
    return st.one_of(
        st.dictionaries(names, wrong_type() | st.none(), max_size=4),
        wrong_type(),
    )


# -- the model -------------------------------------------------------------------------


def _instant(text: str) -> datetime:
    parsed = datetime.fromisoformat(text)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def _ascii_lower(text: str) -> str:
    return "".join(c.lower() if c.isascii() else c for c in text)


def matches(row: dict[str, Any], spec: dict[str, Any], row_id: int) -> bool | None:
    """Whether ``spec`` selects ``row``; None where the backends may differ (non-ASCII case)."""
    if spec.get("ids") is not None and row_id not in {int(i) for i in spec["ids"]}:
        return False
    states = {"read": "read_at", "seen": "seen_at", "dismissed": "dismissed_at"}
    for name, column in states.items():
        if spec.get(name) is not None and (row[column] is not None) != spec[name]:
            return False
    flags = {
        "important": "important",
        "mention": "mention",
        "actionRequired": "action_required",
        "madeByAutomation": "made_by_automation",
    }
    for name, column in flags.items():
        if spec.get(name) is not None and row[column] != spec[name]:
            return False
    if spec.get("projectId") is not None and row["project_id"] != int(spec["projectId"]):
        return False
    for name, column, after in (
        ("createdAfter", "created_at", True),
        ("createdBefore", "created_at", False),
        ("lastActionAfter", "last_action_at", True),
        ("lastActionBefore", "last_action_at", False),
    ):
        if spec.get(name) is None:
            continue
        value, bound = row[column], _instant(spec[name])
        if value is None or (value <= bound if after else value >= bound):
            return False
    wanted = spec.get("targetType")
    if wanted is not None:
        stored = row["target_type"]
        if stored is None:
            return False
        if stored == wanted or _ascii_lower(stored) == _ascii_lower(wanted):
            return True  # the contract's case-insensitivity, and always the exact value
        if stored.lower() == wanted.lower():
            return None  # non-ASCII case folding: the database's lower() decides
        return False
    return True


FILTERED = """
query($f: NotificationFilter) {
  notifications(filter: $f, first: 200) { totalCount nodes { id } }
  notificationsPage(filter: $f, page: 1, pageSize: 200) { totalCount totalPages nodes { id } }
  notificationCounts(filter: $f) { total unread unseen important mentions actionRequired }
}
"""


class TestFilters:
    @EXAMPLES
    @given(data=st.data())
    async def test_agree_with_the_model_and_change_nothing(
        self, api: Api, seeded: Seeded, data: st.DataObject
    ) -> None:
        spec = data.draw(sensible_filters([*seeded.alice, *seeded.others]), label="filter")
        before = await api.snapshot()
        body = await post(api, FILTERED, {"f": spec})
        assert await api.snapshot() == before
        if "errors" in body:
            assert codes(body) == {"BAD_USER_INPUT"}, body
            return
        data_ = body["data"]
        listed = node_ids(data_["notifications"])
        # Every door of the same filter tells the same story.
        assert node_ids(data_["notificationsPage"]) == listed
        assert data_["notifications"]["totalCount"] == len(listed)
        assert data_["notificationsPage"]["totalCount"] == len(listed)
        counts = data_["notificationCounts"]
        assert counts["total"] == len(listed)
        # And the model agrees, except where only the database's case folding decides.
        verdicts = {row_id: matches(row, spec, row_id) for row_id, row in seeded.alice.items()}
        assert set(listed) <= set(seeded.alice), "another inbox leaked in"
        assert {i for i, v in verdicts.items() if v} <= set(listed), (spec, listed)
        assert set(listed) <= {i for i, v in verdicts.items() if v is not False}, (spec, listed)
        rows = [seeded.alice[i] for i in listed]
        assert counts["unread"] == sum(row["read_at"] is None for row in rows)
        assert counts["unseen"] == sum(row["seen_at"] is None for row in rows)
        assert counts["important"] == sum(row["important"] for row in rows)
        assert counts["mentions"] == sum(row["mention"] for row in rows)
        assert counts["actionRequired"] == sum(row["action_required"] for row in rows)

    @EXAMPLES
    @given(spec=weird_filters())
    async def test_weird_filters_are_bad_input(self, api: Api, seeded: Seeded, spec: Any) -> None:
        before = await api.snapshot()
        body = await post(api, FILTERED, {"f": spec})
        assert await api.snapshot() == before
        assert codes(body) <= {"BAD_USER_INPUT"}, body

    @FEWER
    @given(data=st.data(), mutation=st.sampled_from(["markAllSeen", "markAllRead"]))
    async def test_bulk_changes_stay_in_the_inbox(
        self, api: Api, seeded: Seeded, data: st.DataObject, mutation: str
    ) -> None:
        spec = data.draw(sensible_filters(seeded.alice) | weird_filters(), label="filter")
        before = {row[0]: row for row in await api.snapshot()}
        query = f"mutation($f: NotificationFilter) {{ {mutation}(filter: $f) {{ count }} }}"
        body = await post(api, query, {"f": spec})
        after = {row[0]: row for row in await api.snapshot()}
        changed = {i for i in before if before[i] != after[i]}
        assert set(after) == set(before)
        assert changed <= set(seeded.alice), "a change outside the viewer's inbox"
        if "errors" in body:
            assert codes(body) == {"BAD_USER_INPUT"}, body
            assert changed == set()
        else:
            assert body["data"][mutation]["count"] == len(changed)


# -- cursors and page arguments --------------------------------------------------------

CONNECTION = """
query($first: Int, $after: String, $last: Int, $before: String) {
  notifications(first: $first, after: $after, last: $last, before: $before) {
    nodes { id } pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""


def mutated(cursor: str) -> st.SearchStrategy[str]:
    """``cursor`` with characters replaced, inserted or removed, or cut short."""
    alphabet = st.sampled_from(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/."
    )
    position = st.integers(min_value=0, max_value=len(cursor) - 1)
    return st.one_of(
        st.builds(lambda i, c: cursor[:i] + c + cursor[i + 1 :], position, alphabet),
        st.builds(lambda i, c: cursor[:i] + c + cursor[i:], position, alphabet),
        st.builds(lambda i: cursor[:i] + cursor[i + 1 :], position),
        st.builds(lambda i: cursor[:i], position),
        st.just(cursor.swapcase()),
    ).filter(lambda text: text != cursor)


def issued(cursor: str) -> bool:
    """Whether the server could have issued ``cursor`` (its MAC checks out)."""
    try:
        CursorCodec(JWT_SECRET).decode(cursor, parameter="after")
    except BadUserInput:
        return False
    return True


random_cursors = st.one_of(
    st.text(max_size=80),
    st.binary(max_size=80).map(lambda raw: base64.urlsafe_b64encode(raw).rstrip(b"=").decode()),
    st.binary(max_size=80).map(lambda raw: base64.b64encode(raw).decode()),
)


class TestCursors:
    @EXAMPLES
    @given(data=st.data(), argument=st.sampled_from(["after", "before"]))
    async def test_damaged_cursors_are_bad_input(
        self, api: Api, seeded: Seeded, data: st.DataObject, argument: str
    ) -> None:
        first = await post(api, CONNECTION, {"first": 3})
        genuine = first["data"]["notifications"]["pageInfo"]["endCursor"]
        cursor = data.draw(mutated(genuine) | random_cursors, label="cursor")
        before = await api.snapshot()
        body = await post(api, CONNECTION, {argument: cursor})
        assert await api.snapshot() == before
        if issued(cursor):
            # Hypothesis may rebuild a genuine cursor from what it has seen: that one works.
            assert "errors" not in body, (cursor, body)
            return
        assert codes(body) == {"BAD_USER_INPUT"}, (cursor, body)
        assert body.get("data") is None

    @EXAMPLES
    @given(
        first=st.none() | st.integers(min_value=-(2**40), max_value=2**40),
        last=st.none() | st.integers(min_value=-(2**40), max_value=2**40),
        small=st.booleans(),
    )
    async def test_window_sizes(
        self, api: Api, seeded: Seeded, first: int | None, last: int | None, small: bool
    ) -> None:
        if small:  # most of the interesting ones are near the edges of 1..200
            first = None if first is None else first % 203 - 1
            last = None if last is None else last % 203 - 1
        body = await post(api, CONNECTION, {"first": first, "last": last})
        every = sorted(seeded.alice, key=lambda i: activity(seeded.alice[i], i), reverse=True)
        valid = [size for size in (first, last) if size is not None]
        if len(valid) == 2 or any(not 1 <= size <= 200 for size in valid):
            assert codes(body) == {"BAD_USER_INPUT"}, body
            return
        assert "errors" not in body, body
        listed = node_ids(body["data"]["notifications"])
        if last is not None:
            assert listed == every[-last:]
        else:
            assert listed == every[: first if first is not None else 30]

    @EXAMPLES
    @given(
        page=st.integers(min_value=-(2**40), max_value=2**40) | st.integers(-2, 30),
        size=st.integers(min_value=-(2**40), max_value=2**40) | st.integers(-2, 202),
    )
    async def test_page_numbers(self, api: Api, seeded: Seeded, page: int, size: int) -> None:
        query = """
        query($page: Int!, $size: Int!) {
          notificationsPage(page: $page, pageSize: $size) { nodes { id } currentPage totalPages }
        }
        """
        body = await post(api, query, {"page": page, "size": size})
        if not (1 <= size <= 200 and 1 <= page <= 10_000_000):
            assert codes(body) == {"BAD_USER_INPUT"}, body
            return
        assert "errors" not in body, body
        every = sorted(seeded.alice, key=lambda i: activity(seeded.alice[i], i), reverse=True)
        result = body["data"]["notificationsPage"]
        assert node_ids(result) == every[(page - 1) * size : page * size]
        assert result["currentPage"] == page
        assert result["totalPages"] == -(-len(every) // size)

    @FEWER
    @given(text=st.text(max_size=60))
    async def test_literals_in_the_document(self, api: Api, seeded: Seeded, text: str) -> None:
        """Hostile text inside the document itself: a syntax error at worst."""
        for query in (
            f"{{ notifications(after: {json.dumps(text)}) {{ totalCount }} }}",
            f"{{ notifications(filter: {{targetType: {json.dumps(text)}}}) {{ totalCount }} }}",
            f"{{ notification(id: {json.dumps(text)}) {{ id }} }}",
            f"{{ notificationsPage(page: {text or 0}) {{ totalCount }} }}",
        ):
            body = await post(api, query, {})
            assert codes(body) <= {"BAD_USER_INPUT"}, (query, body)


def activity(row: dict[str, Any], row_id: int) -> tuple[datetime, int]:
    return (row["last_action_at"] or row["created_at"], row_id)


# -- the REST dialects -----------------------------------------------------------------

JSONAPI_KEYS = [
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
    "include",
    "sort",
]
CRM_KEYS = ["seen", "action_required", "page", "per_page", "sort", "limit"]
rest_values = st.one_of(
    weird_text,
    st.sampled_from(["true", "false", "0", "1", "", "2026-03-01", "2026-03-01T12:00:00+05:45"]),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.lists(st.integers(min_value=-5, max_value=40).map(str), max_size=4).map(",".join),
    date_times,
)
raw_bytes = st.binary(max_size=12).map(lambda raw: "".join(f"%{b:02X}" for b in raw))


def query_strings(keys: list[str]) -> st.SearchStrategy[str]:
    """A raw, percent-encoded query string: known keys, odd keys, odd bytes."""
    key = st.sampled_from(keys) | weird_text | st.builds("filter[{}]".format, weird_text)
    pair = st.one_of(
        st.builds(lambda k, v: f"{quote(k, safe='[]')}={quote(v, safe='')}", key, rest_values),
        st.builds(lambda k, v: f"{quote(k, safe='[]')}={v}", key, raw_bytes),
        st.builds(lambda k: quote(k, safe="[]"), key),
    )
    return st.lists(pair, max_size=5).map("&".join)


class TestRest:
    @EXAMPLES
    @given(query=query_strings(JSONAPI_KEYS))
    async def test_jsonapi_list(self, api: Api, seeded: Seeded, query: str) -> None:
        await self._get(api, f"/api/v2/notifications?{query}", seeded, "data")

    @EXAMPLES
    @given(query=query_strings(CRM_KEYS))
    async def test_crm_list(self, api: Api, seeded: Seeded, query: str) -> None:
        await self._get(api, f"/notifications?{query}", seeded, "notifications")

    @FEWER
    @given(path=weird_text | id_values.map(str))
    async def test_jsonapi_show_and_change(self, api: Api, seeded: Seeded, path: str) -> None:
        before = {row[0]: row for row in await api.snapshot()}
        encoded = quote(path, safe="")
        response = await api.client.get(f"/api/v2/notifications/{encoded}", headers=api.auth())
        assert response.status in (200, 404), await response.text()
        for action in ("read", "dismiss", "undismiss"):
            response = await api.client.patch(
                f"/api/v2/notifications/{encoded}/{action}", headers=api.auth()
            )
            assert response.status in (200, 404, 405), await response.text()
        after = {row[0]: row for row in await api.snapshot()}
        assert {i for i in before if before[i] != after[i]} <= set(seeded.alice)

    @FEWER
    @given(
        body=st.one_of(
            st.builds(
                lambda ops: {"operations": ops},
                st.lists(
                    st.fixed_dictionaries(
                        {},
                        optional={
                            "op": st.sampled_from(["add", "remove", "replace"]) | weird_text,
                            "path": st.one_of(
                                st.just("/*/seen"),
                                st.integers(min_value=-3, max_value=60).map("/{}/seen".format),
                                st.builds("/{}/seen".format, weird_text),
                                weird_text,
                            ),
                            "value": st.none() | wrong_type(),
                        },
                    )
                    | wrong_type(),
                    max_size=4,
                ),
            ),
            wrong_type(),
            st.none(),
        )
    )
    async def test_crm_patch_is_all_or_nothing(self, api: Api, seeded: Seeded, body: Any) -> None:
        before = {row[0]: row for row in await api.snapshot()}
        response = await api.client.patch("/notifications", json=body, headers=api.auth())
        text = await response.text()
        assert response.status in (204, 400, 404), text
        after = {row[0]: row for row in await api.snapshot()}
        changed = {i for i in before if before[i] != after[i]}
        if response.status != 204:
            assert changed == set(), "a refused PATCH changed rows"
            assert json.loads(text)["error"]["status"] == response.status
        assert changed <= set(seeded.alice)

    async def _get(self, api: Api, url: str, seeded: Seeded, items: str) -> None:
        before = await api.snapshot()
        response = await api.client.get(url, headers=api.auth(), allow_redirects=False)
        text = await response.text()
        assert response.status in (200, 400), (url, response.status, text)
        assert await api.snapshot() == before
        body = json.loads(text)
        if response.status == 200:
            listed = {int(item["id"]) for item in body[items]}
            assert listed <= set(seeded.alice), "another inbox leaked in"
