"""WebSocket clients for the tests: raw protocol frames out, raw protocol frames in."""

from __future__ import annotations

import asyncio
import json
import weakref
from typing import Any

import aiohttp
from aiohttp import WSMsgType
from aiohttp.test_utils import TestServer

from notifgql import appkeys
from notifgql.graphql.slots import SubscriptionSlots
from notifgql.notifications.local_broker import LocalBroker

TRANSPORT_WS = "graphql-transport-ws"
LEGACY_WS = "graphql-ws"
PROTOCOLS = [TRANSPORT_WS, LEGACY_WS]
# Long enough for a loaded CI machine; a test waits this long only when it is failing.
TIMEOUT = 10.0

CREATED = "subscription { notificationCreated { id title read recipientId organizationId } }"
UPDATED = "subscription { notificationUpdated { id read seen dismissed } }"
COUNTS = (
    "subscription { notificationCounts { total unread unseen important mentions actionRequired } }"
)


# Per process slots, the subscriptions waiting for a live count: (count wanted, its future).
_waiting: weakref.WeakKeyDictionary[SubscriptionSlots, list[tuple[int, asyncio.Future[None]]]] = (
    weakref.WeakKeyDictionary()
)


async def until_live(slots: SubscriptionSlots, count: int) -> None:
    """Wait until at least ``count`` subscriptions of ``slots`` are live.

    Lets a client that has just sent a subscribe frame know when an event published now will
    reach it, without guessing with a sleep: the slots' own going-live step is watched.
    """
    if slots not in _waiting:
        waiters: list[tuple[int, asyncio.Future[None]]] = []
        _waiting[slots] = waiters
        went_live = slots._went_live

        def watched() -> None:
            went_live()
            for wanted, waiter in waiters:
                if slots.live_count >= wanted and not waiter.done():
                    waiter.set_result(None)

        setattr(slots, "_went_live", watched)  # noqa: B010
    if slots.live_count >= count:
        return
    waiter = asyncio.get_running_loop().create_future()
    _waiting[slots].append((count, waiter))
    try:
        await waiter
    finally:
        _waiting[slots].remove((count, waiter))


class Socket:
    """One WebSocket to ``/graphql`` speaking one protocol; the test sees every frame."""

    def __init__(
        self,
        ws: aiohttp.ClientWebSocketResponse,
        protocol: str,
        broker: LocalBroker,
        slots: SubscriptionSlots,
    ) -> None:
        self.ws = ws
        self.protocol = protocol
        self.broker = broker
        self.slots = slots

    async def send(self, frame: Any) -> None:
        """Send ``frame`` as JSON, whatever its shape."""
        await self.ws.send_str(json.dumps(frame))

    async def receive(self) -> dict[str, Any]:
        """The next frame, which must be JSON in a text frame; legacy keep-alives skipped."""
        while True:
            message = await self.ws.receive(TIMEOUT)
            assert message.type is WSMsgType.TEXT, (message.type, message.data, message.extra)
            frame: dict[str, Any] = json.loads(message.data)
            if frame.get("type") != "ka":
                return frame

    async def receive_close(self) -> tuple[int, str]:
        """Wait for the server's close frame; returns its code and reason."""
        message = await self.ws.receive(TIMEOUT)
        while message.type is WSMsgType.TEXT and json.loads(message.data) == {"type": "ka"}:
            message = await self.ws.receive(TIMEOUT)
        assert message.type is WSMsgType.CLOSE, (message.type, message.data)
        return int(message.data), str(message.extra)

    async def init(self, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        """Send connection_init; returns the server's answer."""
        frame: dict[str, Any] = {"type": "connection_init"}
        if payload is not None:
            frame["payload"] = payload
        await self.send(frame)
        return await self.receive()

    async def start(self, query: str, id: str = "1") -> None:
        """Send the protocol's subscribe (or legacy start) frame for ``query``."""
        kind = "subscribe" if self.protocol == TRANSPORT_WS else "start"
        await self.send({"id": id, "type": kind, "payload": {"query": query}})

    async def subscribe(self, query: str, id: str = "1") -> None:
        """Start ``query`` and wait until the server has attached it to the broker."""
        before = self.slots.live_count
        await self.start(query, id)
        await asyncio.wait_for(until_live(self.slots, before + 1), TIMEOUT)

    async def results(self, count: int) -> dict[str, Any]:
        """The data of the next ``count`` results, by operation id; fails on any other frame.

        For several operations on one connection, whose results may interleave.
        """
        expected = "next" if self.protocol == TRANSPORT_WS else "data"
        received: dict[str, Any] = {}
        for _ in range(count):
            frame = await self.receive()
            assert frame["type"] == expected, frame
            assert "errors" not in frame["payload"], frame
            assert frame["id"] not in received, (frame, received)
            received[frame["id"]] = frame["payload"]["data"]
        return received

    async def data(self, id: str = "1") -> Any:
        """The data of the next result of operation ``id``; fails on any other frame."""
        frame = await self.receive()
        expected = "next" if self.protocol == TRANSPORT_WS else "data"
        assert frame["type"] == expected, frame
        assert frame["id"] == id, frame
        assert "errors" not in frame["payload"], frame
        return frame["payload"]["data"]


class Sockets:
    """Opens WebSockets to running apps."""

    def __init__(self, session: aiohttp.ClientSession, server: TestServer) -> None:
        self.session = session
        self.server = server

    async def open(
        self,
        protocol: str = TRANSPORT_WS,
        *,
        server: TestServer | None = None,
        headers: dict[str, str] | None = None,
    ) -> Socket:
        server = server or self.server
        ws = await self.session.ws_connect(
            server.make_url("/graphql"), protocols=[protocol], headers=headers
        )
        assert ws.protocol == protocol
        app = server.app
        return Socket(ws, protocol, app[appkeys.BROKER], app[appkeys.SUBSCRIPTION_SLOTS])

    async def connect(
        self, token: str, protocol: str = TRANSPORT_WS, *, server: TestServer | None = None
    ) -> Socket:
        """An acknowledged connection that authenticated with ``token`` in connection_init."""
        socket = await self.open(protocol, server=server)
        ack = await socket.init({"Authorization": f"Bearer {token}"})
        assert ack == {"type": "connection_ack"}, ack
        return socket

    async def subscribe(
        self,
        token: str,
        query: str,
        protocol: str = TRANSPORT_WS,
        *,
        server: TestServer | None = None,
    ) -> Socket:
        """A connection with ``query`` subscribed as operation "1"."""
        socket = await self.connect(token, protocol, server=server)
        await socket.subscribe(query)
        return socket
