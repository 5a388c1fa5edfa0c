"""Badges for a tabbed inbox: sibling ``notificationCounts`` are counted in one statement."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from notifgql.notifications.queries import MAX_COUNTS_PER_STATEMENT
from tests.client import ALICE, BOB, Api
from tests.graphql.conftest import Statements
from tests.graphql.documents import READ, assert_error
from tests.graphql.test_actions import tabbed
from tests.graphql.test_publish import publish

NUMBERS = "total unread unseen important mentions actionRequired"
SNOOZE = (
    "mutation($id: ID!, $until: DateTime!) { snoozeNotification(id: $id, until: $until) { id } }"
)
IDS = "{ notifications(first: 50) { nodes { id category } } }"

# Each tab's filter, as a tabbed inbox would ask: overlapping on purpose.
TABS: dict[str, dict[str, Any] | None] = {
    "all": None,
    "work": {"category": "work"},
    "home": {"category": "home"},
    "shipping": {"tags": ["ship"]},
    "unreadWork": {"category": "work", "read": False},
    "later": {"snoozed": True},
    "chosen": {"ids": []},
}


def tabs_query(tabs: Mapping[str, dict[str, Any] | None]) -> tuple[str, dict[str, Any]]:
    """One request with an aliased ``notificationCounts`` per tab, filters as variables."""
    names = list(tabs)
    declared = ", ".join(f"$f{n}: NotificationFilter" for n in range(len(names)))
    selected = " ".join(
        f"{name}: notificationCounts(filter: $f{n}) {{ {NUMBERS} }}" for n, name in enumerate(names)
    )
    return f"query Tabs({declared}) {{ {selected} }}", {
        f"f{n}": tabs[name] for n, name in enumerate(names)
    }


async def alone(api: Api, spec: dict[str, Any] | None) -> dict[str, int]:
    query = f"query($f: NotificationFilter) {{ notificationCounts(filter: $f) {{ {NUMBERS} }} }}"
    return (await api.data(query, {"f": spec}))["notificationCounts"]  # type: ignore[no-any-return]


async def inbox(api: Api) -> None:
    """Work (two, one read, one snoozed besides), home (one), and one with no category."""
    await publish(api, tabbed(["1001"]) | {"groupKey": "w1"})
    await publish(api, tabbed(["1001"], tags=["later"]) | {"groupKey": "w2"})
    await publish(api, tabbed(["1001"], category="home", actions=[]) | {"groupKey": "h1"})
    await publish(api, tabbed(["1001"], category=None, tags=[]) | {"groupKey": "n1"})
    await publish(api, tabbed(["1001"]) | {"groupKey": "w3"})
    nodes = (await api.data(IDS))["notifications"]["nodes"]
    first_work, *_ = (node["id"] for node in nodes if node["category"] == "work")
    await api.data(READ, {"id": first_work})
    # The newest work line sleeps for a day: in no tab but "later".
    until = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    await api.data(SNOOZE, {"id": first_work, "until": until})
    second = [node["id"] for node in nodes if node["category"] == "work"][1]
    await api.data(READ, {"id": second})


class TestTabs:
    async def test_every_tab_in_one_statement_as_each_alone(
        self, api: Api, statements: Statements
    ) -> None:
        await inbox(api)
        expected = {name: await alone(api, spec) for name, spec in TABS.items()}
        statements.sent.clear()
        query, variables = tabs_query(TABS)
        assert await api.data(query, variables) == expected
        assert len(statements.sent) == 1, statements.sent
        # The numbers themselves, so that "as each alone" cannot be equally wrong.
        totals = {name: numbers["total"] for name, numbers in expected.items()}
        assert totals == {
            "all": 4,
            "work": 2,
            "home": 1,
            "shipping": 2,
            "unreadWork": 1,
            "later": 1,
            "chosen": 0,
        }
        assert expected["work"]["unread"] == 1
        assert expected["all"]["unread"] == 3

    async def test_one_tab_is_the_plain_counts_statement(
        self, api: Api, statements: Statements
    ) -> None:
        await inbox(api)
        query, variables = tabs_query({"work": {"category": "work"}})
        statements.sent.clear()
        assert (await api.data(query, variables))["work"] == await alone(api, {"category": "work"})
        first, second = statements.sent
        assert first is second  # the single-filter statement, built once

    async def test_many_tabs_are_counted_a_statement_per_chunk(
        self, api: Api, statements: Statements
    ) -> None:
        await inbox(api)
        many = MAX_COUNTS_PER_STATEMENT + 1
        tabs = {f"t{n}": {"category": "work"} if n % 2 else None for n in range(many)}
        statements.sent.clear()
        query, variables = tabs_query(tabs)
        found = await api.data(query, variables)
        assert len(statements.sent) == 2, statements.sent
        assert {found[f"t{n}"]["total"] for n in range(0, many, 2)} == {4}
        assert {found[f"t{n}"]["total"] for n in range(1, many, 2)} == {2}

    async def test_a_bad_tab_fails_the_request_with_nothing_counted_wrong(self, api: Api) -> None:
        await inbox(api)
        query, variables = tabs_query({"ok": None, "bad": {"tags": [f"t{n}" for n in range(21)]}})
        body = await api.gql(query, variables)
        assert_error(body, "BAD_USER_INPUT")
        assert body["errors"][0]["message"].startswith("filter.tags"), body

    async def test_tabs_of_another_inbox_stay_apart(self, api: Api) -> None:
        await inbox(api)
        await publish(api, tabbed(["1002"]) | {"groupKey": "b1"})
        query, variables = tabs_query({"work": {"category": "work"}, "all": None})
        mine = await api.data(query, variables, as_=ALICE)
        theirs = await api.data(query, variables, as_=BOB)
        assert (mine["work"]["total"], mine["all"]["total"]) == (2, 4)
        assert (theirs["work"]["total"], theirs["all"]["total"]) == (1, 1)
