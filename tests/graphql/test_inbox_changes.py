"""The change feed: every change from every door, once, in commit order; paging; resync."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from notifgql.auth import Viewer
from notifgql.db.models import inboxes, notifications
from notifgql.notifications.changes import ChangeTokens, Position
from notifgql.notifications.retention import purge
from tests.client import ALICE, ALICE_ELSEWHERE, BOB, Api, Person
from tests.graphql.conftest import Statements
from tests.graphql.documents import (
    MARK_ALL_READ,
    MARK_SEEN,
    READ,
    assert_error,
)
from tests.graphql.test_hidden import withdraw
from tests.graphql.test_publish import publish, task
from tests.graphql.test_snooze import snooze
from tests.subscriptions.actions import create

CHANGES = """query($since: String, $first: Int) {
  inboxChanges(since: $since, first: $first) {
    changed { id title read seen snoozed }
    removed
    counts { total unread }
    next
    hasMore
  }
}"""


async def changes(
    api: Api, since: str | None = None, first: int | None = None, as_: Person = ALICE
) -> dict[str, Any]:
    variables: dict[str, Any] = {"since": since}
    if first is not None:
        variables["first"] = first
    return (await api.data(CHANGES, variables, as_=as_))["inboxChanges"]  # type: ignore[no-any-return]


async def caught_up(api: Api, since: str | None = None, as_: Person = ALICE) -> dict[str, Any]:
    """Every answer from ``since`` until hasMore is false, merged in order."""
    changed: list[dict[str, Any]] = []
    removed: list[str] = []
    while True:
        answer = await changes(api, since, as_=as_)
        changed += answer["changed"]
        removed += answer["removed"]
        since = answer["next"]
        if not answer["hasMore"]:
            return {
                "changed": changed,
                "removed": removed,
                "next": since,
                "counts": answer["counts"],
            }


def changed_ids(answer: dict[str, Any]) -> list[str]:
    return [node["id"] for node in answer["changed"]]


class TestFromNothing:
    async def test_lists_every_current_notification_and_a_position(self, api: Api) -> None:
        first = await api.add(title="one")
        second = await api.add(title="two")
        await api.add(BOB, title="Bob's")
        answer = await changes(api)
        assert changed_ids(answer) == [str(first), str(second)]
        assert answer["removed"] == []
        assert answer["hasMore"] is False
        assert answer["counts"] == {"total": 2, "unread": 2}
        again = await changes(api, answer["next"])
        assert again["changed"] == again["removed"] == []
        assert again["hasMore"] is False

    async def test_an_empty_inbox_has_a_position_too(self, api: Api) -> None:
        answer = await changes(api)
        assert answer["changed"] == []
        # Made through a door, as every change after a position is (rows written straight
        # into the table, as the tests' api.add does, carry version 0: data from before).
        later = await create(api, ALICE, "later")
        assert changed_ids(await changes(api, answer["next"])) == [later]

    async def test_leaves_out_what_is_gone_already(self, api: Api) -> None:
        await publish(api, task(["1001"], groupKey="gone"))
        kept = await api.add(title="kept")
        await withdraw(api, "gone")
        answer = await changes(api)
        assert changed_ids(answer) == [str(kept)]
        assert answer["removed"] == []


class TestEveryDoor:
    async def test_each_change_once_in_commit_order(self, api: Api) -> None:
        a = await api.add(title="a")
        b = await api.add(title="b")
        start = (await changes(api))["next"]
        await api.data(READ, {"id": str(b)})
        await api.data(MARK_SEEN, {"ids": [str(a)]})
        made = await publish(api, task(["1001"], groupKey="g"))
        assert made["created"] == 1
        answer = await changes(api, start)
        (published,) = [node["id"] for node in answer["changed"] if node["title"] == "Ship it"]
        assert changed_ids(answer) == [str(b), str(a), published]
        assert answer["changed"][0]["read"] is True
        assert answer["changed"][1]["seen"] is True
        # The same notification changed again moves to its new place, reported once.
        await api.data(READ, {"id": str(a)})
        await publish(api, task(["1001"], groupKey="g"))
        assert changed_ids(await changes(api, answer["next"])) == [str(a), published]

    async def test_bulk_marks_rest_doors_and_snoozes(self, api: Api) -> None:
        ids = [await api.add(title=f"n{n}") for n in range(3)]
        start = (await changes(api))["next"]
        assert (await api.data(MARK_ALL_READ, {"filter": None}))["markAllRead"]["count"] == 3
        after_mark = await changes(api, start)
        assert changed_ids(after_mark) == [str(n) for n in ids]
        assert {node["read"] for node in after_mark["changed"]} == {True}
        # The JSON:API dialect's dismiss is a change like any other.
        response = await api.client.patch(
            f"/api/v2/notifications/{ids[1]}/dismiss", headers=api.auth()
        )
        assert response.status == 200, await response.text()
        until = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
        await snooze(api, ids[2], until)
        # The CRM dialect marks one seen, in its own way.
        response = await api.client.patch(
            "/notifications",
            json={"operations": [{"op": "add", "path": f"/{ids[0]}/seen", "value": None}]},
            headers=api.auth(),
        )
        assert response.status == 204, await response.text()
        answer = await changes(api, after_mark["next"])
        # ids[0] was read (and so seen) by markAllRead already: the CRM mark changed nothing.
        assert changed_ids(answer) == [str(ids[1]), str(ids[2])]
        assert answer["changed"][1]["snoozed"] is True
        # A service's createNotification, then the CRM mark of a notification still unseen.
        made = await create(api, ALICE, "new")
        response = await api.client.patch(
            "/notifications",
            json={"operations": [{"op": "add", "path": f"/{made}/seen", "value": None}]},
            headers=api.auth(),
        )
        assert response.status == 204, await response.text()
        last = await changes(api, answer["next"])
        assert changed_ids(last) == [made]
        assert last["changed"][0]["seen"] is True

    async def test_withdrawal_expiry_and_purge_are_removals(self, api: Api) -> None:
        await publish(api, task(["1001"], groupKey="w"))
        expiring = task(["1001"], groupKey="e")
        expiring["notification"]["expiresAt"] = (
            datetime.now(UTC) + timedelta(seconds=1)
        ).isoformat()
        await publish(api, expiring)
        old = await api.add(title="read long ago", read_at=datetime.now(UTC) - timedelta(days=400))
        answer = await changes(api)
        by_title = {node["title"]: node["id"] for node in answer["changed"]}
        assert sorted(by_title) == ["Ship it", "read long ago"]  # both groups are "Ship it"
        published = [node["id"] for node in answer["changed"] if node["title"] == "Ship it"]
        assert len(published) == 2
        withdrawn_id, expired_id = published
        start = answer["next"]
        assert await withdraw(api, "w") == 1
        async with asyncio.timeout(10):
            while True:
                found = await changes(api, start)
                if expired_id in found["removed"]:
                    break
                await asyncio.sleep(0.1)
        assert found["removed"] == [withdrawn_id, expired_id]
        assert found["changed"] == []
        purged = await purge(api.database, retention_days=365)
        assert purged is not None
        assert purged.notifications == 3
        after = await changes(api, found["next"])
        # Withdrawn and expired ones were reported when they went: only the purged one now.
        assert after["removed"] == [str(old)]
        # From the start, each removal is reported once, where it happened.
        assert (await caught_up(api, start))["removed"] == [withdrawn_id, expired_id, str(old)]


class TestPaging:
    async def test_first_pages_without_gaps_or_repeats(self, api: Api) -> None:
        ids = [str(await api.add(title=f"n{n}")) for n in range(5)]
        pages = []
        since = None
        while True:
            answer = await changes(api, since, first=2)
            pages.append(changed_ids(answer))
            since = answer["next"]
            if not answer["hasMore"]:
                break
        assert pages == [ids[:2], ids[2:4], ids[4:]]

    async def test_first_out_of_range_is_refused(self, api: Api) -> None:
        for first in (0, 501):
            body = await api.gql(CHANGES, {"since": None, "first": first})
            assert_error(body, "BAD_USER_INPUT")

    async def test_publishes_while_paging_are_each_reported_once(self, api: Api) -> None:
        for n in range(20):
            await api.add(title=f"before {n}")
        since = (await changes(api, first=5))["next"]
        seen: list[str] = []

        async def publishes() -> None:
            for n in range(30):
                await publish(api, task(["1001"], groupKey=f"during {n}"))

        async def reader() -> None:
            nonlocal since
            for _ in range(200):
                answer = await changes(api, since, first=3)
                seen.extend(changed_ids(answer))
                since = answer["next"]
                await asyncio.sleep(0)

        await asyncio.gather(publishes(), reader())
        final = await caught_up(api, since)
        seen.extend(changed_ids(final))
        everything = changed_ids(await changes(api, first=500))
        assert sorted(seen, key=int) == sorted(everything[5:], key=int)
        assert len(seen) == len(set(seen)) == 45


class TestPositions:
    async def test_another_inbox_and_garbage_are_refused(self, api: Api) -> None:
        mine = (await changes(api))["next"]
        for person in (BOB, ALICE_ELSEWHERE):
            body = await api.gql(CHANGES, {"since": mine}, as_=person)
            assert_error(body, "BAD_USER_INPUT")
        body = await api.gql(CHANGES, {"since": mine[:-2] + "AA"})
        assert_error(body, "BAD_USER_INPUT")
        # A list cursor is no position, though sealed by the same server.
        await api.add(title="one")
        listed = await api.data("{ notifications { pageInfo { endCursor } } }")
        body = await api.gql(CHANGES, {"since": listed["notifications"]["pageInfo"]["endCursor"]})
        assert_error(body, "BAD_USER_INPUT")

    async def test_a_position_older_than_the_history_needs_a_resync(self, api: Api) -> None:
        tokens = ChangeTokens(api.secret, history_days=30)
        viewer = Viewer(subject="1001", organization_id="10", role="user")
        stale = tokens.encode(viewer, Position(0, 0), datetime.now(UTC) - timedelta(days=31))
        body = await api.gql(CHANGES, {"since": stale})
        assert_error(body, "RESYNC_REQUIRED")
        fresh = tokens.encode(viewer, Position(0, 0), datetime.now(UTC) - timedelta(days=29))
        assert (await changes(api, fresh))["hasMore"] is False

    async def test_a_forgotten_removal_needs_a_resync(self, api: Api) -> None:
        gone = await api.add(title="read long ago", read_at=datetime.now(UTC) - timedelta(days=400))
        await api.add(title="kept")
        start = (await changes(api))["next"]
        await purge(api.database, retention_days=365)
        assert (await changes(api, start))["removed"] == [str(gone)]
        # Forty days on, the history (30 days) no longer holds that removal.
        later = datetime.now(UTC) + timedelta(days=40)
        purged = await purge(api.database, retention_days=365, history_days=30, now=later)
        assert purged is not None
        assert purged.removals == 1
        assert_error(await api.gql(CHANGES, {"since": start}), "RESYNC_REQUIRED")
        # A client that synced after the removal is not affected, nor is a fresh start.
        assert (await changes(api))["changed"] != []


class TestVersions:
    async def test_concurrent_changes_of_one_inbox_each_get_their_own_version(
        self, api: Api
    ) -> None:
        ids = [await api.add(title=f"n{n}") for n in range(20)]
        await asyncio.gather(
            *(api.data(READ, {"id": str(n)}) for n in ids),
            *(publish(api, task(["1001"], groupKey=f"race {n}")) for n in range(10)),
        )
        async with api.database.read() as conn:
            stamped = (
                (
                    await conn.execute(
                        select(notifications.c.change_version).where(
                            notifications.c.recipient_id == ALICE.recipient_id
                        )
                    )
                )
                .scalars()
                .all()
            )
            (counter,) = (await conn.execute(select(inboxes.c.version))).scalars().all()
        # Thirty transactions, thirty versions: the counter row serialised them.
        assert sorted(stamped) == list(range(1, 31))
        assert counter == 30
        assert len((await caught_up(api))["changed"]) == 30


class TestCounts:
    async def test_counted_only_when_asked_and_as_the_badge_says(
        self, api: Api, statements: Statements
    ) -> None:
        await create(api, ALICE, "one")
        read = await create(api, ALICE, "two")
        await api.data(READ, {"id": read})
        statements.sent.clear()
        bare = await api.data("{ inboxChanges { changed { id } next } }")
        assert len(bare["inboxChanges"]["changed"]) == 2
        assert len(statements.sent) == 1
        badge = await api.data("{ notificationCounts { total unread } }")
        counted = await changes(api)
        assert counted["counts"] == badge["notificationCounts"] == {"total": 2, "unread": 1}
