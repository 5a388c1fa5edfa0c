"""Generated selections: compiled plans and the executor answer byte for byte alike.

Hypothesis builds documents over the four inbox root fields: any subset of the declared
fields, aliases, inline and named fragments, ``__typename``, arguments inline or as
variables; the inbox holds nulls, unicode, every read/seen/dismissed state, actors and
none. Each document goes to a server with plans and to one without, on the same database.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from notifgql.app import create_app
from notifgql.graphql.declared import fields_of
from notifgql.graphql.types import (
    Actor,
    InboxChanges,
    Notification,
    NotificationAction,
    NotificationConnection,
    NotificationCounts,
    NotificationEdge,
    NotificationPage,
    PageInfo,
)
from notifgql.settings import Settings
from tests.client import ALICE, BOB, Api
from tests.compiled.test_equivalence import fallbacks

BASE = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
EXAMPLES = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
async def general(settings: Settings) -> AsyncIterator[TestClient[Any, Any]]:
    app = create_app(settings.model_copy(update={"compiled_queries": False}))
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        yield client


TITLES = ["Build failed", "Zaključak “quoted” ✓", "日本語 😀", "\\ back\nslash"]


@pytest.fixture
async def seeded(api: Api) -> list[int]:
    """An inbox with every state, nulls and unicode; and a neighbour's row."""
    ids = []
    later = datetime.now(UTC) + timedelta(days=1)
    for n in range(12):
        at = BASE + timedelta(minutes=n)
        ids.append(
            await api.add(
                ALICE,
                title=TITLES[n % 4],
                description=None if n % 3 else "déjà vu",
                target_type=[None, "Task", "task", "Straße"][n % 4],
                target_id=None if n % 2 else 100 + n,
                actor_id=None if n % 3 == 1 else str(7 + n % 2),
                actor_name=None if n % 5 == 0 else "Ana Kovač",
                read_at=at if n % 2 else None,
                seen_at=at if n % 3 else None,
                dismissed_at=at if n % 4 == 3 else None,
                important=n % 5 == 0,
                mention=n % 2 == 0,
                action_required=n % 3 == 0,
                last_action_at=None if n % 4 else at + timedelta(days=1),
                changeset=[None, {"z": 1, "a": -0.0}, ["x", 1.5], "text"][n % 4],
                category=[None, "work", "home"][n % 3],
                tags=[[], ["ship"], ["ship", "q3"]][n % 3],
                snoozed_until=later if n % 6 == 5 else None,
                created_at=at,
            )
        )
    await api.add(BOB, title="not Alice's")
    return ids


NAMES = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=6)


@st.composite
def selection(draw: st.DrawFn, type_: Any, depth: int = 0) -> str:
    """A selection set over ``type_``: its declared fields, maybe aliased or in fragments."""
    # A change-feed position carries the time it was issued: the two paths' answers, a
    # moment apart, differ there by design (tests/graphql/test_inbox_changes.py checks it).
    fields = {name: f for name, f in fields_of(type_).items() if name != "next"}
    chosen = draw(st.lists(st.sampled_from(sorted(fields)), min_size=1, max_size=8, unique=True))
    parts = []
    used: set[str] = set()
    for name in chosen:
        field = fields[name]
        text = name
        if field.of is not None:
            text += " { " + draw(selection(field.of, depth + 1)) + " }"
        if draw(st.booleans()) and draw(st.integers(0, 3)) == 0:
            alias = draw(NAMES.filter(lambda a: a not in fields and a not in used))
            used.add(alias)
            text = f"{alias}: {text}"
        if draw(st.integers(0, 4)) == 0:
            text = f"... on {type_.__typename__} {{ {text} }}"
        parts.append(text)
    if draw(st.booleans()):
        parts.insert(draw(st.integers(0, len(parts))), "__typename")
    return " ".join(parts)


FILTERS = st.fixed_dictionaries(
    {},
    optional={
        "read": st.booleans(),
        "seen": st.booleans(),
        "dismissed": st.booleans(),
        "important": st.booleans(),
        "mention": st.booleans(),
        "actionRequired": st.booleans(),
        "targetType": st.sampled_from(["task", "TASK", "Straße", "none"]),
        "category": st.sampled_from(["work", "home", "none"]),
        "tags": st.lists(st.sampled_from(["ship", "q3", "none"]), max_size=2),
        "snoozed": st.booleans(),
    },
)


@st.composite
def documents(draw: st.DrawFn, ids: list[int]) -> tuple[str, dict[str, Any]]:
    """A query over one or more root fields, with its variables."""
    roots = draw(
        st.lists(
            st.sampled_from(["notification", "notifications", "page", "counts", "changes"]),
            min_size=1,
            max_size=3,
            unique=True,
        )
    )
    definitions: list[str] = []
    variables: dict[str, Any] = {}
    selections: list[str] = []
    fragments: list[str] = []
    for root in roots:
        filter_ = draw(FILTERS)
        if root == "notification":
            variables["id"] = str(draw(st.sampled_from([*ids, 999_999])))
            definitions.append("$id: ID!")
            inner = draw(selection(Notification))
            if draw(st.booleans()):
                fragments.append(f"fragment One on Notification {{ {inner} }}")
                inner = "...One"
            selections.append(f"notification(id: $id) {{ {inner} }}")
        elif root == "notifications":
            variables["f"], variables["n"] = filter_, draw(st.integers(1, 12))
            definitions += ["$f: NotificationFilter", "$n: Int"]
            window = "last: $n" if draw(st.booleans()) else "first: $n"
            inner = draw(selection(NotificationConnection))
            selections.append(f"notifications(filter: $f, {window}) {{ {inner} }}")
        elif root == "page":
            size, number = draw(st.integers(1, 5)), draw(st.integers(1, 4))
            inner = draw(selection(NotificationPage))
            selections.append(f"notificationsPage(page: {number}, pageSize: {size}) {{ {inner} }}")
        elif root == "changes":
            variables["m"] = draw(st.integers(1, 12))
            definitions.append("$m: Int")
            inner = draw(selection(InboxChanges))
            selections.append(f"inboxChanges(first: $m) {{ {inner} }}")
        else:
            variables["c"] = filter_
            definitions.append("$c: NotificationFilter")
            inner = draw(selection(NotificationCounts))
            selections.append(f"notificationCounts(filter: $c) {{ {inner} }}")
    # A tabbed inbox's badges: sibling counts, answered together by a plan.
    for n in range(draw(st.integers(0, 3))):
        variables[f"t{n}"] = draw(FILTERS)
        definitions.append(f"$t{n}: NotificationFilter")
        inner = draw(selection(NotificationCounts))
        selections.append(f"tab{n}: notificationCounts(filter: $t{n}) {{ {inner} }}")
    head = f"query Generated({', '.join(definitions)})" if definitions else "query Generated"
    return " ".join([head + " { " + " ".join(selections) + " }", *fragments]), variables


def test_every_declared_type_is_generated() -> None:
    """The strategy reaches every declared type, nested ones included."""
    reached = {Notification, NotificationConnection, NotificationPage, NotificationCounts}
    reached |= {InboxChanges}
    reached |= {NotificationEdge, PageInfo, Actor, NotificationAction}
    for type_ in list(reached):
        for field in fields_of(type_).values():
            if field.of is not None:
                assert field.of in reached


@EXAMPLES
@given(data=st.data())
async def test_both_paths_answer_the_same_bytes(
    api: Api, general: TestClient[Any, Any], seeded: list[int], data: st.DataObject
) -> None:
    query, variables = data.draw(documents(seeded), label="document")
    body = {"query": query, "variables": variables}
    compiled = await api.client.post("/graphql", json=body, headers=api.auth())
    regular = await general.post("/graphql", json=body, headers=api.auth())
    assert compiled.status == regular.status == 200
    compiled_bytes, regular_bytes = await compiled.read(), await regular.read()
    assert b'"errors"' not in regular_bytes, regular_bytes[:500]
    assert compiled_bytes == regular_bytes
    # Generated documents are all plannable: none may have quietly fallen back.
    assert await fallbacks(api) == {}
