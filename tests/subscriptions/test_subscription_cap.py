"""NOTIFGQL_MAX_SUBSCRIPTIONS_PER_VIEWER: one user's live subscriptions, per process."""

from __future__ import annotations

from typing import Any

import pytest

from notifgql.settings import Settings
from tests.client import ALICE, BOB, Api
from tests.subscriptions.actions import change, create
from tests.subscriptions.test_counts import counts
from tests.subscriptions.ws import COUNTS, CREATED, LEGACY_WS, UPDATED, Socket, Sockets

CAP = 3
REFUSAL = {
    "message": (
        f"Too many live subscriptions: at most {CAP} per user; complete one before starting another"
    ),
    "extensions": {"code": "TOO_MANY_SUBSCRIPTIONS"},
}


@pytest.fixture
def broker_kind() -> str:
    # The cap is counted in each process, before any broker is involved.
    return "default"


@pytest.fixture
def settings(settings_for: Any) -> Settings:
    return settings_for(max_subscriptions_per_viewer=CAP)  # type: ignore[no-any-return]


async def assert_refused(socket: Socket, id: str) -> None:
    await socket.start(COUNTS, id)
    frame = await socket.receive()
    assert frame["type"] == "error", frame
    assert frame["id"] == id
    errors = frame["payload"] if isinstance(frame["payload"], list) else [frame["payload"]]
    assert [{"message": e["message"], "extensions": e["extensions"]} for e in errors] == [REFUSAL]


class TestSubscriptionCap:
    async def test_setting_defaults_to_100(self) -> None:
        assert Settings().max_subscriptions_per_viewer == 100

    async def test_one_over_the_cap_is_refused_and_the_others_keep_working(
        self, api: Api, sockets: Sockets
    ) -> None:
        token = api.token(ALICE)
        modern = await sockets.connect(token)
        legacy = await sockets.connect(token, LEGACY_WS)
        await modern.subscribe(COUNTS, "counts")
        assert await modern.data("counts") == counts()
        await modern.subscribe(CREATED, "created")
        await legacy.subscribe(UPDATED, "updated")

        # Over the cap on either connection, in either protocol.
        await assert_refused(modern, "one-more")
        await assert_refused(legacy, "one-more")

        notification = await create(api, ALICE)
        created = await modern.results(2)
        assert created["counts"] == counts(total=1, unread=1, unseen=1)
        assert created["created"]["notificationCreated"]["id"] == notification
        await change(api, "readNotification", notification, ALICE)
        assert (await legacy.data("updated"))["notificationUpdated"]["read"] is True
        # The cap is each user's own: Bob is not affected by Alice's.
        bob = await sockets.subscribe(api.token(BOB), COUNTS)
        assert await bob.data() == counts()

    async def test_completing_one_frees_its_place(self, api: Api, sockets: Sockets) -> None:
        socket = await sockets.connect(api.token(ALICE))
        for id in ("1", "2", "3"):
            await socket.subscribe(COUNTS, id)
        await socket.results(CAP)
        await assert_refused(socket, "4")

        await socket.send({"id": "2", "type": "complete"})
        # Frames are handled in order: the complete is done with before this subscribe.
        await socket.start(COUNTS, "5")

        assert await socket.data("5") == counts()
        await assert_refused(socket, "6")
