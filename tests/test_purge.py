"""Retention: what a purge deletes and keeps, in batches, beside readers and other purges."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import event, func, insert, select, text

from notifgql import appkeys
from notifgql.app import create_app
from notifgql.db import migrate
from notifgql.db.engine import Database, create_database
from notifgql.db.models import activities, idempotency_keys, notification_activities, notifications
from notifgql.notifications import versions
from notifgql.notifications.retention import PG_PURGE_LOCK, Purged, purge
from notifgql.notifications.unit_of_work import UnitOfWork
from notifgql.observability import JsonFormatter
from notifgql.settings import Settings
from tests.client import ALICE, BOB, Api, Person, insert_notification
from tests.conftest import empty
from tests.graphql.documents import LIST_IDS
from tests.hardening.support import eventually

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
DAYS = 30
LONG_AGO = NOW - timedelta(days=DAYS + 1)
LATELY = NOW - timedelta(days=DAYS - 1)


@pytest.fixture
async def database(settings: Settings) -> AsyncIterator[Database]:
    """The test's database with no server running beside it.

    A server's clock notes expired notifications, taking their inbox for a moment; a purge
    skips an inbox held by someone else until its next round, so a purge run while the clock
    holds one would purge less than the test expects. The tests of a purge inside a server
    make their own.
    """
    still = create_database(settings)
    await migrate.upgrade(still)
    await empty(still)
    try:
        yield still
    finally:
        await still.dispose()


async def add(database: Database, title: str, person: Person = ALICE, **fields: Any) -> int:
    return await insert_notification(database, person, title=title, **fields)


async def new_activity(database: Database) -> int:
    values = {
        "organization_id": "10",
        "group_key": "task:7",
        "title": "Ann moved the task",
        "changeset": [],
        "occurred_at": NOW - timedelta(days=400),
        "created_at": NOW - timedelta(days=400),
    }
    async with database.transaction() as conn:
        query = insert(activities).values(**values).returning(activities.c.id)
        return int((await conn.execute(query)).scalar_one())


async def show(database: Database, notification_id: int, *activity_ids: int) -> None:
    async with database.transaction() as conn:
        for activity_id in activity_ids:
            await conn.execute(
                insert(notification_activities).values(
                    notification_id=notification_id,
                    activity_id=activity_id,
                    occurred_at=NOW - timedelta(days=400),
                )
            )


async def titles(database: Database) -> set[str]:
    async with database.read() as conn:
        return set((await conn.execute(select(notifications.c.title))).scalars())


async def table(database: Database, column: Any) -> set[Any]:
    async with database.read() as conn:
        return set((await conn.execute(select(column))).scalars())


async def scenario(database: Database) -> dict[str, int]:
    """One notification of each kind, the purged ones showing activities; ids by title."""
    ids = {
        "expired": await add(database, "expired", expires_at=NOW - timedelta(seconds=1)),
        "expires now": await add(database, "expires now", expires_at=NOW),
        "expires later": await add(database, "expires later", expires_at=NOW + timedelta(hours=1)),
        "withdrawn": await add(database, "withdrawn", withdrawn_at=NOW + timedelta(days=1)),
        "read long ago": await add(database, "read long ago", read_at=LONG_AGO),
        "read lately": await add(database, "read lately", read_at=LATELY),
        # Created, acted on and seen long ago, never read: nobody has read it yet.
        "unread and old": await add(
            database,
            "unread and old",
            created_at=NOW - timedelta(days=1000),
            seen_at=NOW - timedelta(days=999),
            dismissed_at=NOW - timedelta(days=999),
        ),
        "bob's": await add(database, "bob's", BOB),
    }
    only_expired, only_withdrawn = await new_activity(database), await new_activity(database)
    shared, kept = await new_activity(database), await new_activity(database)
    await show(database, ids["expired"], only_expired, shared)
    await show(database, ids["withdrawn"], only_withdrawn, shared)
    await show(database, ids["bob's"], shared)
    await show(database, ids["read lately"], kept)
    return (
        ids
        | {"only expired": only_expired, "only withdrawn": only_withdrawn}
        | {
            "shared": shared,
            "kept": kept,
        }
    )


PURGED = {"expired", "expires now", "withdrawn", "read long ago"}
KEPT = {"expires later", "read lately", "unread and old", "bob's"}


class TestWhatIsPurged:
    async def test_deletes_exactly_expired_withdrawn_and_long_read(
        self, database: Database
    ) -> None:
        ids = await scenario(database)
        purged = await purge(database, retention_days=DAYS, now=NOW)
        assert purged == Purged(notifications=4, activities=2, idempotency_keys=0)
        assert await titles(database) == KEPT
        assert await table(database, notifications.c.id) == {ids[title] for title in KEPT}
        # The links of the purged notifications went with them; the others' stayed.
        assert await table(database, notification_activities.c.notification_id) == {
            ids["bob's"],
            ids["read lately"],
        }
        # An activity still shown by Bob's notification stays; those only the purged showed go.
        assert await table(database, activities.c.id) == {ids["shared"], ids["kept"]}

    async def test_a_second_purge_finds_nothing(self, database: Database) -> None:
        await scenario(database)
        assert await purge(database, retention_days=DAYS, now=NOW) != Purged()
        assert await purge(database, retention_days=DAYS, now=NOW) == Purged()
        assert await titles(database) == KEPT

    async def test_retention_is_counted_from_read_at(self, database: Database) -> None:
        await scenario(database)
        await purge(database, retention_days=DAYS + 2, now=NOW)
        assert "read long ago" in await titles(database)
        await purge(database, retention_days=DAYS, now=NOW)
        assert "read long ago" not in await titles(database)

    async def test_unread_notifications_are_never_purged_for_age(self, database: Database) -> None:
        await scenario(database)
        await purge(database, retention_days=1, now=NOW + timedelta(days=10_000))
        assert await titles(database) == {"unread and old", "bob's"}

    async def test_idempotency_keys_go_after_24_hours(self, database: Database) -> None:
        async with database.transaction() as conn:
            for key, hours in (("old", 24.01), ("day", 24), ("new", 23.99)):
                await conn.execute(
                    insert(idempotency_keys).values(
                        organization_id="10",
                        key=key,
                        fingerprint="f",
                        result={"created": 1},
                        created_at=NOW - timedelta(hours=hours),
                    )
                )
        purged = await purge(database, retention_days=DAYS, now=NOW)
        assert purged == Purged(idempotency_keys=1)
        assert await table(database, idempotency_keys.c.key) == {"day", "new"}


class TestBatches:
    async def build(self, database: Database) -> None:
        """Ten purgeable notifications among five kept ones, sharing activities across them."""
        shared = [await new_activity(database) for _ in range(4)]
        for n in range(15):
            fields: dict[str, Any] = {"expires_at": NOW} if n % 3 else {"read_at": LATELY}
            notification_id = await add(database, f"n{n}", **fields)
            await show(database, notification_id, shared[n % 4], await new_activity(database))
        async with database.transaction() as conn:
            for n in range(10):
                await conn.execute(
                    insert(idempotency_keys).values(
                        organization_id="10",
                        key=f"k{n}",
                        fingerprint="f",
                        result={},
                        created_at=NOW - timedelta(days=2),
                    )
                )

    async def state(self, database: Database) -> tuple[Any, ...]:
        async with database.read() as conn:
            shown = select(notifications.c.title, func.count(notification_activities.c.activity_id))
            shown = shown.join(
                notification_activities,
                notification_activities.c.notification_id == notifications.c.id,
            ).group_by(notifications.c.title)
            return (
                sorted((await conn.execute(shown)).all()),
                (await conn.execute(select(func.count()).select_from(activities))).scalar(),
                (await conn.execute(select(func.count()).select_from(idempotency_keys))).scalar(),
            )

    async def test_small_batches_delete_what_one_big_batch_does(self, database: Database) -> None:
        deletes: list[str] = []

        def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            if statement.startswith("DELETE FROM"):
                deletes.append(statement.split()[2])

        # Counted by their DELETE statements, one per batch and table: counting commits
        # would also count the pool's own, which depend on how many connections it has.
        event.listen(database.engine.sync_engine, "before_cursor_execute", count)
        try:
            outcomes = []
            for batch_size in (3, 1_000):
                await empty(database)
                await self.build(database)
                deletes.clear()
                purged = await purge(database, retention_days=DAYS, now=NOW, batch_size=batch_size)
                batches = (deletes.count("notifications"), deletes.count("idempotency_keys"))
                outcomes.append((purged, await self.state(database), batches))
        finally:
            event.remove(database.engine.sync_engine, "before_cursor_execute", count)
        (small, small_state, small_batches), (big, big_state, big_batches) = outcomes
        assert small == big == Purged(notifications=10, activities=10, idempotency_keys=10)
        assert small_state == big_state
        assert {title for title, _ in small_state[0]} == {f"n{n}" for n in (0, 3, 6, 9, 12)}
        # 10 notifications in 4 batches instead of 1, 10 keys in 4 instead of 1.
        assert small_batches == (4, 4)
        assert big_batches == (1, 1)


class TestPagingWhilePurging:
    async def test_no_survivor_is_skipped_or_repeated(self, api: Api) -> None:
        database = api.database
        # Ahead of the clock: the list hides what has expired by the real time, and every
        # row still kept by the purge's (later) time must be listed.
        base = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
        start = base - timedelta(hours=1)
        rows: dict[int, dict[str, Any]] = {}
        for n in range(30):
            fields: dict[str, Any] = {"created_at": start - timedelta(minutes=n)}
            if n % 3 == 1:
                # Each purge below reaches a few of these, before and after the cursor.
                fields["expires_at"] = base + timedelta(minutes=(n * 7) % 30)
            elif n % 5 == 0:
                fields["read_at"] = base - timedelta(days=DAYS) + timedelta(minutes=n)
            rows[await add(database, f"n{n}", **fields)] = fields
        seen: list[int] = []
        after = None
        now = base
        for page in range(1, 20):
            data = await api.data(LIST_IDS, {"first": 4, "after": after})
            connection = data["notifications"]
            seen.extend(int(edge["node"]["id"]) for edge in connection["edges"])
            if not connection["pageInfo"]["hasNextPage"]:
                break
            after = connection["pageInfo"]["endCursor"]
            now = base + timedelta(minutes=4 * page)
            assert await purge(database, retention_days=DAYS, now=now) is not None

        def kept(fields: dict[str, Any]) -> bool:
            if "expires_at" in fields:
                return bool(fields["expires_at"] > now)
            return "read_at" not in fields or fields["read_at"] >= now - timedelta(days=DAYS)

        survivors = await table(database, notifications.c.id)
        assert survivors == {id_ for id_, fields in rows.items() if kept(fields)}
        assert len(seen) == len(set(seen))
        assert survivors <= set(seen)
        # The list order: newest first, which is insertion order here.
        assert seen == sorted(seen)
        # Purges ran on both sides of the cursor: some purged rows were listed before they
        # went, others went before the list reached them.
        assert set(seen) - survivors
        assert set(rows) - set(seen)


@pytest.mark.parametrize("backend", ["postgresql"])
class TestOnePurgeAtATime:
    async def test_a_second_purge_skips_while_the_first_holds_the_lock(
        self, database: Database
    ) -> None:
        await scenario(database)
        # Hold the first purge inside its run: it waits for this table lock to delete keys.
        async with database.transaction() as blocker:
            await blocker.execute(text("LOCK TABLE idempotency_keys IN ACCESS EXCLUSIVE MODE"))
            first = asyncio.create_task(purge(database, retention_days=DAYS, now=NOW))

            async def first_holds_the_lock() -> bool:
                assert not first.done()
                async with database.read() as conn:
                    query = text(
                        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
                        " AND objid = :key AND pid <> pg_backend_pid()"
                    )
                    return bool((await conn.execute(query, {"key": PG_PURGE_LOCK})).scalar())

            await eventually(first_holds_the_lock, within=30, what="the first purge's lock")
            second = await purge(database, retention_days=DAYS, now=NOW)
            assert second is None
        assert await asyncio.wait_for(first, timeout=30) == Purged(notifications=4, activities=2)
        assert await titles(database) == KEPT
        # The lock was given back: the next purge runs.
        assert await purge(database, retention_days=DAYS, now=NOW) == Purged()

    async def test_a_purge_waits_for_no_inbox_a_request_holds(self, database: Database) -> None:
        await scenario(database)
        await add(database, "bob's withdrawn", BOB, withdrawn_at=NOW)
        inbox = (ALICE.organization_id, ALICE.recipient_id)
        async with database.transaction() as earlier:
            await versions.take(UnitOfWork(earlier), inbox)
        # A request changing Alice's inbox: it holds her inbox's version, then her rows.
        async with database.transaction() as holder:
            await versions.take(UnitOfWork(holder), inbox)
            await holder.execute(
                select(notifications.c.id)
                .where(notifications.c.title == "expired")
                .with_for_update()
            )
            purged = await asyncio.wait_for(
                purge(database, retention_days=DAYS, now=NOW), timeout=30
            )
        # Bob's inbox is purged; Alice's waits for the next round, whole.
        assert purged == Purged(notifications=1)
        assert await titles(database) == KEPT | PURGED
        assert await purge(database, retention_days=DAYS, now=NOW) == Purged(
            notifications=4, activities=2
        )
        assert await titles(database) == KEPT


class TestInTheServer:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, Any]:
        return {"purge_interval_seconds": 0.05, "retention_days": DAYS}

    async def test_purges_in_the_background_and_logs_a_failed_round(
        self, settings: Settings, caplog: pytest.LogCaptureFixture
    ) -> None:
        app = create_app(settings)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        database = app[appkeys.DATABASE]
        try:
            await empty(database)
            kept = await add(database, "kept", expires_at=datetime.now(UTC) + timedelta(days=1))
            # A round fails while the activities table is away, and the task goes on.
            async with database.transaction() as conn:
                await conn.execute(text("ALTER TABLE activities RENAME TO activities_away"))
            expired = await add(database, "expired", expires_at=datetime.now(UTC))

            async def failure_logged() -> list[logging.LogRecord]:
                return [r for r in caplog.records if r.getMessage().startswith("purge failed")]

            (record, *_) = await eventually(failure_logged, within=30, what="a failed round")
            assert record.levelno == logging.WARNING
            line = JsonFormatter().format(record)
            assert "\n" not in line
            assert "Traceback" not in line
            assert "activities" in line  # the database's own reason, first line
            assert expired in await table(database, notifications.c.id)
            async with database.transaction() as conn:
                await conn.execute(text("ALTER TABLE activities_away RENAME TO activities"))

            async def purged() -> bool:
                return expired not in await table(database, notifications.c.id)

            await eventually(purged, within=30, what="the expired notification purged")
            assert await table(database, notifications.c.id) == {kept}
            assert len(purge_tasks()) == 1
        finally:
            await server.close()
        # Shutdown cancelled it and waited for it.
        assert purge_tasks() == []


def purge_tasks() -> list[asyncio.Task[Any]]:
    return [task for task in asyncio.all_tasks() if task.get_name() == "notifgql-purge"]
