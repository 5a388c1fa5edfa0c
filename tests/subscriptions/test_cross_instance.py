"""Several processes on one PostgreSQL behave as one, with either broker."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import text

from notifgql import appkeys
from notifgql.app import create_app
from notifgql.notifications.broker_postgres import PostgresBroker
from notifgql.notifications.broker_redis import RedisBroker
from notifgql.settings import Settings
from tests.client import ALICE, BOB, Api
from tests.conftest import JWT_SECRET
from tests.graphql.test_snooze import snooze
from tests.subscriptions.actions import change, create
from tests.subscriptions.test_counts import counts
from tests.subscriptions.test_snooze import DEADLINE_SECONDS
from tests.subscriptions.ws import COUNTS, CREATED, LEGACY_WS, UPDATED, Sockets


@pytest.fixture
def backend() -> str:
    return "postgresql"


@pytest.fixture
async def other_server(settings: Settings, server: TestServer) -> AsyncIterator[TestServer]:
    """A second instance of the app: same database, same broker settings, its own port."""
    other = TestServer(create_app(settings), host="127.0.0.1")
    await other.start_server()
    yield other
    await other.close()


@pytest.fixture
async def other_api(other_server: TestServer) -> AsyncIterator[Api]:
    async with TestClient(other_server) as client:
        yield Api(client, other_server.app[appkeys.DATABASE], JWT_SECRET)


class TestTwoInstances:
    async def test_created_reaches_both_instances_once(
        self, api: Api, sockets: Sockets, other_server: TestServer
    ) -> None:
        here = await sockets.subscribe(api.token(ALICE), CREATED)
        there = await sockets.subscribe(api.token(ALICE), CREATED, LEGACY_WS, server=other_server)

        first = await create(api, ALICE, "First")
        second = await create(api, ALICE, "Second")

        # A duplicate of the first would arrive where the second is expected.
        for socket in (here, there):
            received = [(await socket.data())["notificationCreated"]["id"] for _ in range(2)]
            assert received == [first, second]

    async def test_changes_on_the_other_instance_arrive(
        self, api: Api, other_api: Api, sockets: Sockets
    ) -> None:
        notification_id = await api.add(ALICE)
        updated = await sockets.subscribe(api.token(ALICE), UPDATED)
        counted = await sockets.subscribe(api.token(ALICE), COUNTS)
        assert await counted.data() == counts(total=1, unread=1, unseen=1)

        await change(other_api, "readNotification", notification_id, ALICE)

        assert (await updated.data())["notificationUpdated"]["read"] is True
        assert await counted.data() == counts(total=1)

    async def test_isolation_holds_across_instances(
        self, api: Api, other_api: Api, sockets: Sockets, other_server: TestServer
    ) -> None:
        alice = await sockets.subscribe(api.token(ALICE), CREATED, server=other_server)

        await create(api, BOB, "For Bob")
        mine = await create(other_api, ALICE, "For Alice")

        assert (await alice.data())["notificationCreated"]["id"] == mine


class TestWakeUpWithTwoWakers:
    @pytest.fixture
    def broker_kind(self) -> str:
        return "default"  # LISTEN/NOTIFY on the shared database

    async def test_subscribers_on_the_other_instance_hear_it_once(
        self, api: Api, other_api: Api, sockets: Sockets, other_server: TestServer
    ) -> None:
        wakers = [task for task in asyncio.all_tasks() if task.get_name() == "notifgql-clock"]
        assert len(wakers) == 2
        assert not any(task.done() for task in wakers)
        read = datetime.now(UTC) - timedelta(days=1)
        notification_id = await api.add(ALICE, read_at=read, seen_at=read)
        updated = await sockets.subscribe(api.token(ALICE), UPDATED, server=other_server)
        badge = await sockets.subscribe(api.token(ALICE), COUNTS, server=other_server)
        assert await badge.data() == counts(total=1)

        until = datetime.now(UTC) + timedelta(seconds=1)
        await snooze(api, notification_id, until.isoformat())
        assert await badge.data() == counts()
        assert (await updated.data())["notificationUpdated"]["read"] is True  # the snooze
        async with asyncio.timeout(DEADLINE_SECONDS + 1):
            woken = (await updated.data())["notificationUpdated"]
            assert await badge.data() == counts(total=1, unread=1)
        arrived = datetime.now(UTC)
        assert woken == {
            "id": str(notification_id),
            "read": False,
            "seen": True,
            "dismissed": False,
        }
        assert until <= arrived < until + timedelta(seconds=DEADLINE_SECONDS)

        # A second wake-up would arrive before this read, or undo it in the table.
        await change(other_api, "readNotification", notification_id, ALICE)
        assert (await updated.data())["notificationUpdated"]["read"] is True
        assert await badge.data() == counts(total=1)
        row = await api.row(notification_id)
        assert row.snoozed_until is None
        assert row.read_at is not None
        assert (row.last_action_at, row.activity_at) == (until, until)


def backend_pid(broker: PostgresBroker) -> int | None:
    """The server process id of the broker's listening connection, when it has one."""
    conn = broker._conn
    return None if conn is None else int(conn.get_server_pid())


class TestPostgresListener:
    @pytest.fixture
    def broker_kind(self) -> str:
        return "default"

    async def test_killed_listener_reconnects_and_resyncs(
        self, api: Api, other_api: Api, sockets: Sockets, server: TestServer
    ) -> None:
        broker = server.app[appkeys.BROKER]
        assert isinstance(broker, PostgresBroker)
        socket = await sockets.subscribe(api.token(ALICE), COUNTS)
        assert await socket.data() == counts()
        await api.add(ALICE)  # straight into the table, no event: only a fresh read sees it
        killed_pid = backend_pid(broker)

        async with api.database.read() as conn:
            query = text("SELECT pg_terminate_backend(:pid)")
            assert (await conn.execute(query, {"pid": killed_pid})).scalar_one() is True

        assert await socket.data() == counts(total=1, unread=1, unseen=1)
        assert backend_pid(broker) not in (None, killed_pid)
        # Live again: a change made on the other instance arrives through the new connection.
        await create(other_api, ALICE)
        assert await socket.data() == counts(total=2, unread=2, unseen=2)

    async def test_listener_is_its_own_connection(self, api: Api, server: TestServer) -> None:
        broker = server.app[appkeys.BROKER]
        assert isinstance(broker, PostgresBroker)

        async with api.database.read() as conn:
            query = text("SELECT application_name FROM pg_stat_activity WHERE pid = :pid")
            name = (await conn.execute(query, {"pid": backend_pid(broker)})).scalar_one()

        assert name == "notifgql-listener"


class TestRedisSubscription:
    @pytest.fixture
    def broker_kind(self) -> str:
        return "redis"

    async def test_dropped_subscription_resubscribes_and_resyncs(
        self, api: Api, sockets: Sockets, server: TestServer
    ) -> None:
        broker = server.app[appkeys.BROKER]
        assert isinstance(broker, RedisBroker)
        socket = await sockets.subscribe(api.token(ALICE), COUNTS)
        assert await socket.data() == counts()
        await api.add(ALICE)  # straight into the table, no event: only a fresh read sees it

        assert await broker.client.client_kill_filter(_type="pubsub") >= 1

        assert await socket.data() == counts(total=1, unread=1, unseen=1)
        await create(api, ALICE)
        assert await socket.data() == counts(total=2, unread=2, unseen=2)
