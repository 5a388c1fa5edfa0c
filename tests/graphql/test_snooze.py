"""Snoozing: hidden from every list and count until it wakes up, unread, at the top."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestServer
from sqlalchemy import select, update

from notifgql import appkeys
from notifgql.app import create_app
from notifgql.db import migrate
from notifgql.db.engine import create_database
from notifgql.db.models import notifications
from notifgql.settings import Settings
from tests.client import ALICE, BOB, Api, insert_notification
from tests.conftest import empty
from tests.graphql.documents import assert_error

SNOOZE = """
mutation($id: ID!, $until: DateTime!) {
  snoozeNotification(id: $id, until: $until) { id snoozed snoozedUntil }
}
"""
UNSNOOZE = "mutation($id: ID!) { unsnoozeNotification(id: $id) { id snoozed snoozedUntil } }"
LIST = "query($f: NotificationFilter) { notifications(filter: $f) { totalCount nodes { id } } }"
COUNTS = "query($f: NotificationFilter) { notificationCounts(filter: $f) { total unread } }"
PAGE = "query($f: NotificationFilter) { notificationsPage(filter: $f) { totalCount } }"


def ahead(**delta: float) -> str:
    return (datetime.now(UTC) + timedelta(**delta)).isoformat()


async def shown(api: Api, filter: dict[str, Any] | None = None) -> dict[str, Any]:
    variables = {"f": filter}
    listed = (await api.data(LIST, variables))["notifications"]
    return {
        "ids": [int(node["id"]) for node in listed["nodes"]],
        "total": listed["totalCount"],
        "page": (await api.data(PAGE, variables))["notificationsPage"]["totalCount"],
        "counts": (await api.data(COUNTS, variables))["notificationCounts"],
    }


async def snooze(api: Api, notification_id: int, until: str) -> dict[str, Any]:
    data = await api.data(SNOOZE, {"id": str(notification_id), "until": until})
    return data["snoozeNotification"]  # type: ignore[no-any-return]


class TestSnooze:
    async def test_hides_it_from_lists_and_counts(self, api: Api) -> None:
        kept = await api.add(title="Kept")
        hidden = await api.add(title="Hidden")
        until = ahead(hours=2)
        answer = await snooze(api, hidden, until)
        assert answer["snoozed"] is True
        assert datetime.fromisoformat(answer["snoozedUntil"]) == datetime.fromisoformat(until)
        assert await shown(api) == {
            "ids": [kept],
            "total": 1,
            "page": 1,
            "counts": {"total": 1, "unread": 1},
        }
        assert (await shown(api, {"snoozed": False}))["ids"] == [kept]

    async def test_snoozed_true_lists_only_the_snoozed(self, api: Api) -> None:
        await api.add(title="Kept")
        hidden = await api.add(title="Hidden")
        await snooze(api, hidden, ahead(hours=2))
        assert await shown(api, {"snoozed": True}) == {
            "ids": [hidden],
            "total": 1,
            "page": 1,
            "counts": {"total": 1, "unread": 1},
        }

    async def test_snoozing_again_moves_the_time(self, api: Api) -> None:
        hidden = await api.add()
        await snooze(api, hidden, ahead(hours=2))
        later = ahead(days=3)
        answer = await snooze(api, hidden, later)
        assert datetime.fromisoformat(answer["snoozedUntil"]) == datetime.fromisoformat(later)

    async def test_unsnooze_shows_it_again_as_it_was(self, api: Api) -> None:
        hidden = await api.add()
        before = await api.row(hidden)
        await snooze(api, hidden, ahead(hours=2))
        answer = (await api.data(UNSNOOZE, {"id": str(hidden)}))["unsnoozeNotification"]
        assert answer == {"id": str(hidden), "snoozed": False, "snoozedUntil": None}
        assert (await shown(api))["ids"] == [hidden]
        # As it was, but for its place in the change feed: snoozing and unsnoozing are two
        # changes of its inbox.
        after = dict((await api.row(hidden))._mapping)
        assert after.pop("change_version") == 2
        assert after == {k: v for k, v in before._mapping.items() if k != "change_version"}
        # Not snoozed: nothing to do, and it says so without failing.
        again = (await api.data(UNSNOOZE, {"id": str(hidden)}))["unsnoozeNotification"]
        assert again["snoozed"] is False

    async def test_until_must_be_ahead_and_within_a_year(self, api: Api) -> None:
        notification_id = await api.add()
        before = await api.snapshot()
        for until, predicate in (
            (ahead(seconds=-1), "must be in the future"),
            (ahead(days=366), "must be at most 365 days ahead"),
        ):
            body = await api.gql(SNOOZE, {"id": str(notification_id), "until": until})
            assert_error(body, "BAD_USER_INPUT")
            assert body["errors"][0]["message"] == f"until {predicate}"
            assert body["errors"][0]["extensions"]["parameter"] == "until"
        assert await api.snapshot() == before

    async def test_another_users_notification_is_not_found(self, api: Api) -> None:
        theirs = await api.add(BOB)
        before = await api.snapshot()
        for query, variables in (
            (SNOOZE, {"id": str(theirs), "until": ahead(hours=1)}),
            (UNSNOOZE, {"id": str(theirs)}),
            (SNOOZE, {"id": "999999", "until": ahead(hours=1)}),
        ):
            assert await api.error_code(query, variables, as_=ALICE) == "NOT_FOUND"
        assert await api.snapshot() == before

    async def test_a_passed_snooze_comes_back_unread_at_the_top(self, api: Api) -> None:
        older = await api.add(title="Snoozed", read_at=datetime.now(UTC) - timedelta(days=1))
        newer = await api.add(title="Newer")
        assert (await shown(api))["ids"] == [newer, older]
        await snooze(api, older, ahead(hours=1))
        due = datetime.now(UTC) - timedelta(seconds=1)
        # As if that hour had passed: the waker takes it from here.
        async with api.database.transaction() as conn:
            await conn.execute(
                update(notifications).where(notifications.c.id == older).values(snoozed_until=due)
            )
        deadline = datetime.now(UTC) + timedelta(seconds=5)
        while (await api.row(older)).snoozed_until is not None:
            assert datetime.now(UTC) < deadline, "the waker never woke it"
        row = await api.row(older)
        assert (row.read_at, row.last_action_at, row.activity_at) == (None, due, due)
        assert (await shown(api))["ids"] == [older, newer]


ONE = "query($id: ID!) { notification(id: $id) { id read seen snoozed } }"
READ = "mutation($id: ID!) { readNotification(id: $id) { id read snoozed } }"
DISMISS = "mutation($id: ID!) { dismissNotification(id: $id) { id dismissed snoozed } }"
MARK_SEEN = "mutation($ids: [ID!]!) { markSeen(ids: $ids) { count } }"


class TestFoundById:
    async def test_it_can_be_opened_and_acted_on_but_stays_out_of_lists(self, api: Api) -> None:
        kept = await api.add(title="Kept")
        hidden = await api.add(title="Hidden")
        await snooze(api, hidden, ahead(hours=2))
        found = (await api.data(ONE, {"id": str(hidden)}))["notification"]
        assert found == {"id": str(hidden), "read": False, "seen": False, "snoozed": True}
        seen = await api.data(MARK_SEEN, {"ids": [str(hidden)]})
        assert seen["markSeen"]["count"] == 1
        read = (await api.data(READ, {"id": str(hidden)}))["readNotification"]
        assert read == {"id": str(hidden), "read": True, "snoozed": True}
        dismissed = (await api.data(DISMISS, {"id": str(hidden)}))["dismissNotification"]
        assert dismissed == {"id": str(hidden), "dismissed": True, "snoozed": True}
        row = await api.row(hidden)
        assert None not in (row.seen_at, row.read_at, row.dismissed_at, row.snoozed_until)
        # Acting on it does not wake it: lists and counts still leave it out.
        assert await shown(api) == {
            "ids": [kept],
            "total": 1,
            "page": 1,
            "counts": {"total": 1, "unread": 1},
        }

    async def test_the_rest_route_of_one_notification_finds_it(self, api: Api) -> None:
        hidden = await api.add()
        await snooze(api, hidden, ahead(hours=2))
        response = await api.client.get(f"/api/v2/notifications/{hidden}", headers=api.auth())
        assert response.status == 200
        assert (await response.json())["data"]["id"] == str(hidden)
        response = await api.client.patch(
            f"/api/v2/notifications/{hidden}/read", headers=api.auth()
        )
        assert response.status == 200
        assert (await api.row(hidden)).read_at is not None
        assert (await shown(api))["ids"] == []

    async def test_the_json_api_list_shows_it_only_with_filter_snoozed(self, api: Api) -> None:
        kept = await api.add()
        hidden = await api.add()
        await snooze(api, hidden, ahead(hours=2))
        for query, expected in (
            ("", [kept]),
            ("?filter[snoozed]=false", [kept]),
            ("?filter[snoozed]=true", [hidden]),
        ):
            response = await api.client.get(f"/api/v2/notifications{query}", headers=api.auth())
            assert response.status == 200
            body = await response.json()
            assert [int(item["id"]) for item in body["data"]] == expected, query

    async def test_ids_with_snoozed_false_leave_it_out(self, api: Api) -> None:
        hidden = await api.add()
        await snooze(api, hidden, ahead(hours=2))
        assert (await shown(api, {"ids": [str(hidden)], "snoozed": False}))["ids"] == []
        assert (await shown(api, {"ids": [str(hidden)], "snoozed": True}))["ids"] == [hidden]

    async def test_another_users_snoozed_notification_stays_not_found(self, api: Api) -> None:
        theirs = await api.add(BOB)
        async with api.database.transaction() as conn:
            await conn.execute(
                update(notifications)
                .where(notifications.c.id == theirs)
                .values(snoozed_until=datetime.now(UTC) + timedelta(hours=2))
            )
        assert (await api.data(ONE, {"id": str(theirs)}, as_=ALICE))["notification"] is None
        assert await api.error_code(READ, {"id": str(theirs)}, as_=ALICE) == "NOT_FOUND"
        found = (await api.data(ONE, {"id": str(theirs)}, as_=BOB))["notification"]
        assert found["snoozed"] is True


class TestWakeUpAfterDowntime:
    async def test_a_snooze_that_passed_with_no_server_running_wakes_at_start(
        self, settings: Settings
    ) -> None:
        # Written while no server runs: the snooze fell due an hour ago, unseen by any waker.
        due = datetime.now(UTC) - timedelta(hours=1)
        read = due - timedelta(days=1)
        database = create_database(settings)
        try:
            await migrate.upgrade(database)
            await empty(database)
            notification_id = await insert_notification(
                database, ALICE, read_at=read, seen_at=read, last_action_at=read, snoozed_until=due
            )
        finally:
            await database.dispose()

        server = TestServer(create_app(settings), host="127.0.0.1")
        await server.start_server()
        try:
            query = select(notifications).where(notifications.c.id == notification_id)
            deadline = datetime.now(UTC) + timedelta(seconds=5)
            while True:
                async with server.app[appkeys.DATABASE].read() as conn:
                    row = (await conn.execute(query)).one()
                if row.snoozed_until is None:
                    break
                assert datetime.now(UTC) < deadline, "the waker never woke it"
        finally:
            await server.close()
        assert (row.read_at, row.seen_at) == (None, read)
        assert (row.last_action_at, row.activity_at) == (due, due)
