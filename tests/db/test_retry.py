"""A transaction that loses a deadlock runs again; its events go out once, after the commit."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import asyncpg
import pytest
from sqlalchemy import text

from notifgql.auth import Viewer
from notifgql.db.engine import Database
from notifgql.errors import TransientConflict
from notifgql.notifications import commands
from notifgql.notifications.events import InboxEvent
from notifgql.notifications.unit_of_work import ATTEMPTS, UnitOfWork, in_transaction
from tests.client import ALICE, Api, insert_notification
from tests.hardening.support import eventually

VIEWER = Viewer(subject=str(ALICE.recipient_id), organization_id=ALICE.organization_id, role="user")


class Recorder:
    """A publisher that remembers every publish call."""

    def __init__(self) -> None:
        self.calls: list[list[InboxEvent]] = []

    async def publish(self, events: Sequence[InboxEvent]) -> None:
        self.calls.append(list(events))


def raw_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


async def test_a_real_deadlock_is_retried_and_published_once(
    pg_migrated: Database, postgres_url: str
) -> None:
    first = await insert_notification(pg_migrated, ALICE)
    second = await insert_notification(pg_migrated, ALICE)
    other = await asyncpg.connect(raw_dsn(postgres_url))
    watcher = await asyncpg.connect(raw_dsn(postgres_url))
    # The other side waits long before checking for deadlocks, so this side is the one
    # PostgreSQL aborts with 40P01.
    await other.execute("SET deadlock_timeout = '20s'")
    await other.execute("BEGIN")
    await other.execute("UPDATE notifications SET title = 'other' WHERE id = $1", second)
    other_pid = other.get_server_pid()
    attempts = 0
    crossing: asyncio.Task[str] | None = None

    async def body(work: UnitOfWork) -> None:
        nonlocal attempts, crossing
        attempts += 1
        if attempts == 2:
            # This side's rollback let the other side through: it finishes first.
            assert crossing is not None
            await crossing
            await other.execute("COMMIT")
        await commands.mark_read(work, VIEWER, first)
        if attempts == 1:
            # Lock order first → second here, second → first there: a deadlock.
            crossing = asyncio.create_task(
                other.execute("UPDATE notifications SET title = 'other' WHERE id = $1", first)
            )

            async def other_waits() -> bool:
                state = await watcher.fetchval(
                    "SELECT wait_event_type FROM pg_stat_activity WHERE pid = $1", other_pid
                )
                return bool(state == "Lock")

            await eventually(other_waits, within=30, what="the other side waiting for a lock")
        await commands.mark_read(work, VIEWER, second)

    try:
        publisher = Recorder()
        await in_transaction(pg_migrated, publisher, body)
    finally:
        await other.close()
        await watcher.close()

    assert attempts == 2
    assert len(publisher.calls) == 1
    (published,) = publisher.calls
    updated = [event.notification_id for event in published if event.kind == "updated"]
    assert updated == [first, second]
    async with pg_migrated.read() as conn:
        rows = (
            await conn.execute(
                text("SELECT id, title, read_at FROM notifications ORDER BY id"),
            )
        ).all()
    assert [(row.id, row.title, row.read_at is not None) for row in rows] == [
        (first, "other", True),
        (second, "other", True),
    ]


async def test_spent_attempts_answer_try_again_and_change_nothing(
    pg_migrated: Database,
) -> None:
    mine = await insert_notification(pg_migrated, ALICE)
    attempts = 0

    async def body(work: UnitOfWork) -> None:
        nonlocal attempts
        attempts += 1
        await commands.mark_read(work, VIEWER, mine)
        await work.conn.execute(
            text("DO $$ BEGIN RAISE EXCEPTION 'lost' USING ERRCODE = '40001'; END $$")
        )

    publisher = Recorder()
    with pytest.raises(TransientConflict):
        await in_transaction(pg_migrated, publisher, body)
    assert attempts == ATTEMPTS
    assert publisher.calls == []
    async with pg_migrated.read() as conn:
        read_at = (
            await conn.execute(
                text("SELECT read_at FROM notifications WHERE id = :id"), {"id": mine}
            )
        ).scalar_one()
    assert read_at is None


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_spent_attempts_reach_clients_as_503(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    mine = await api.add(ALICE)
    attempts = 0

    async def always_loses(work: UnitOfWork, _viewer: Viewer, _spec: object) -> int:
        nonlocal attempts
        attempts += 1
        await work.conn.execute(
            text("DO $$ BEGIN RAISE EXCEPTION 'lost' USING ERRCODE = '40P01'; END $$")
        )
        return 0

    monkeypatch.setattr(commands, "mark_all_read", always_loses)
    monkeypatch.setattr(commands, "mark_all_seen", always_loses)
    body = await api.gql("mutation { markAllRead { count } }")
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "SERVICE_UNAVAILABLE"
    assert "try again" in error["message"]
    assert attempts == ATTEMPTS
    operations = {"operations": [{"op": "add", "path": "/*/seen", "value": None}]}
    response = await api.client.patch("/notifications", json=operations, headers=api.auth())
    assert response.status == 503
    assert (await response.json())["error"]["code"] == "SERVICE_UNAVAILABLE"
    assert attempts == 2 * ATTEMPTS
    row = await api.row(mine)
    assert (row.read_at, row.seen_at) == (None, None)


async def test_events_of_a_commit_go_out_even_when_the_request_is_cancelled(
    pg_migrated: Database,
) -> None:
    mine = await insert_notification(pg_migrated, ALICE)
    publishing, release = asyncio.Event(), asyncio.Event()
    delivered: list[Sequence[InboxEvent]] = []

    class Slow:
        async def publish(self, events: Sequence[InboxEvent]) -> None:
            publishing.set()
            await release.wait()
            delivered.append(events)

    async def body(work: UnitOfWork) -> None:
        await commands.mark_read(work, VIEWER, mine)

    request = asyncio.create_task(in_transaction(pg_migrated, Slow(), body))
    await publishing.wait()
    request.cancel()  # the client hung up after the commit, while its events were going out
    with pytest.raises(asyncio.CancelledError):
        await request
    release.set()
    for _ in range(100):
        if delivered:
            break
        await asyncio.sleep(0)
    (events,) = delivered
    assert {event.kind for event in events} == {"updated", "counts"}
