"""The inboxChanges subscription: what changed since a position, then each change live,
with nothing missed or repeated across reconnects, whichever broker fans out."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from tests.client import ALICE, BOB, Api
from tests.graphql.documents import READ
from tests.graphql.test_publish import publish, task
from tests.subscriptions.actions import create
from tests.subscriptions.ws import Socket, Sockets

FIELDS = "changed { id title read } removed counts { total unread } next hasMore"
BURST = 1_000
PUBLISHERS = 3


def feed(since: str | None = None) -> str:
    argument = "" if since is None else f"(since: {json.dumps(since)})"
    return f"subscription {{ inboxChanges{argument} {{ {FIELDS} }} }}"


async def answer(socket: Socket) -> dict[str, Any]:
    return (await socket.data())["inboxChanges"]  # type: ignore[no-any-return]


class TestReplayThenLive:
    async def test_what_changed_then_each_change(self, api: Api, sockets: Sockets) -> None:
        first = await create(api, ALICE, "one")
        second = await create(api, ALICE, "two")
        await create(api, BOB, "Bob's")
        socket = await sockets.subscribe(api.token(ALICE), feed())
        replay = await answer(socket)
        assert [node["id"] for node in replay["changed"]] == [first, second]
        assert replay["counts"] == {"total": 2, "unread": 2}
        assert replay["hasMore"] is False
        third = await create(api, ALICE, "three")
        live = await answer(socket)
        assert [node["id"] for node in live["changed"]] == [third]
        assert live["counts"] == {"total": 3, "unread": 3}
        await api.data(READ, {"id": first})
        read = await answer(socket)
        assert [(node["id"], node["read"]) for node in read["changed"]] == [(first, True)]
        assert read["counts"] == {"total": 3, "unread": 2}

    async def test_resuming_replays_only_what_came_after(self, api: Api, sockets: Sockets) -> None:
        await create(api, ALICE, "before")
        socket = await sockets.subscribe(api.token(ALICE), feed())
        position = (await answer(socket))["next"]
        await socket.ws.close()
        missed = await create(api, ALICE, "while away")
        again = await sockets.subscribe(api.token(ALICE), feed(position))
        replay = await answer(again)
        assert [node["id"] for node in replay["changed"]] == [missed]

    async def test_a_position_of_another_inbox_is_refused(self, api: Api, sockets: Sockets) -> None:
        socket = await sockets.subscribe(api.token(ALICE), feed())
        alices = (await answer(socket))["next"]
        other = await sockets.connect(api.token(BOB))
        await other.start(feed(alices))
        frame = await other.receive()
        assert frame["type"] == "error", frame
        assert "BAD_USER_INPUT" in json.dumps(frame["payload"]), frame


class TestBurst:
    async def test_a_reconnecting_subscriber_gets_each_change_once(
        self, api: Api, sockets: Sockets
    ) -> None:
        token = api.token(ALICE)
        socket = await sockets.subscribe(token, feed())
        seen: list[str] = []
        position = (await answer(socket))["next"]

        async def burst() -> None:
            # A few publishers at once, fewer than the pool's connections: the subscriber's
            # reads must find one free on SQLite too.
            async def some(start: int) -> None:
                for n in range(start, BURST, PUBLISHERS):
                    await publish(api, task(["1001"], groupKey=f"burst {n}"))

            await asyncio.gather(*(some(start) for start in range(PUBLISHERS)))

        publishing = asyncio.create_task(burst())
        try:
            # Read part of the burst, hang up, and come back from the last position.
            while len(seen) < BURST // 3:
                got = await answer(socket)
                seen += [node["id"] for node in got["changed"]]
                position = got["next"]
            await socket.ws.close()
            socket = await sockets.subscribe(token, feed(position))
            async with asyncio.timeout(60):
                while len(seen) < BURST:
                    got = await answer(socket)
                    seen += [node["id"] for node in got["changed"]]
        finally:
            await publishing
        assert len(seen) == len(set(seen)) == BURST
        # Nothing more is pending: a marker change arrives next, alone.
        marker = await create(api, ALICE, "marker")
        assert [node["id"] for node in (await answer(socket))["changed"]] == [marker]
