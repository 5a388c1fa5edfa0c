"""A snooze that passes reaches live subscribers: the notification updated, and new counts."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from tests.client import ALICE, BOB, Api
from tests.graphql.test_mute import mute
from tests.graphql.test_publish import publish, task
from tests.graphql.test_snooze import snooze
from tests.subscriptions.actions import create
from tests.subscriptions.test_publish import counts
from tests.subscriptions.ws import COUNTS, CREATED, UPDATED, Sockets

# A wake-up reaches its subscribers within a second of its time; the rest is slack for CI.
DEADLINE_SECONDS = 2.5


class TestWakeUp:
    async def test_updated_and_counts_arrive_when_it_is_due(
        self, api: Api, sockets: Sockets
    ) -> None:
        read = datetime.now(UTC) - timedelta(days=1)
        notification_id = await api.add(read_at=read, seen_at=read)
        updated = await sockets.subscribe(api.token(ALICE), UPDATED)
        badge = await sockets.subscribe(api.token(ALICE), COUNTS)
        assert await badge.data() == counts(1, 0, 0)
        until = datetime.now(UTC) + timedelta(seconds=1)
        await snooze(api, notification_id, until.isoformat())
        assert await badge.data() == counts(0, 0, 0)
        # Snoozing is a change of the notification too: a live list learns to drop it.
        snoozed = (await updated.data())["notificationUpdated"]
        assert snoozed == {
            "id": str(notification_id),
            "read": True,
            "seen": True,
            "dismissed": False,
        }
        async with asyncio.timeout(DEADLINE_SECONDS + 1):
            node = (await updated.data())["notificationUpdated"]
        arrived = datetime.now(UTC)
        assert node == {"id": str(notification_id), "read": False, "seen": True, "dismissed": False}
        assert until <= arrived < until + timedelta(seconds=DEADLINE_SECONDS)
        assert await badge.data() == counts(1, 1, 0)


class TestMutedGetNoEvent:
    async def test_only_the_unmuted_hear_of_a_publish(self, api: Api, sockets: Sockets) -> None:
        await mute(api, {"targetType": "task"}, as_=BOB)
        alice = await sockets.subscribe(api.token(ALICE), CREATED)
        bob = await sockets.subscribe(api.token(BOB), CREATED)
        await publish(api, task([ALICE.recipient_id, BOB.recipient_id]))
        await publish(api, task([ALICE.recipient_id, BOB.recipient_id], groupKey="other"))
        assert (await alice.data())["notificationCreated"]["recipientId"] == "1001"
        # Bob's first event would be about the task, had he heard of it: the marker comes first.
        await create(api, BOB, "Marker")
        assert (await bob.data())["notificationCreated"]["title"] == "Marker"
