from __future__ import annotations

import asyncio

import pytest
from aiohttp.test_utils import TestServer

from tests.client import ALICE, Api
from tests.subscriptions.brokers import subscriber_count
from tests.subscriptions.ws import COUNTS, CREATED, LEGACY_WS, PROTOCOLS, Sockets


class TestShutdown:
    @pytest.mark.parametrize("protocol", PROTOCOLS)
    async def test_subscribers_get_a_close_frame(
        self, api: Api, sockets: Sockets, server: TestServer, protocol: str
    ) -> None:
        socket = await sockets.subscribe(api.token(ALICE), CREATED, protocol)

        await server.close()

        assert await socket.receive_close() == (1001, "Server shutting down")
        assert subscriber_count(socket.broker) == 0


class TestStop:
    async def test_legacy_stop_unsubscribes(self, api: Api, sockets: Sockets) -> None:
        socket = await sockets.subscribe(api.token(ALICE), COUNTS, LEGACY_WS)
        await socket.data()

        await socket.send({"id": "1", "type": "stop"})

        assert await socket.receive() == {"id": "1", "type": "complete"}
        assert subscriber_count(socket.broker) == 0


class TestMetrics:
    async def test_open_and_live_subscriptions_are_gauged(self, api: Api, sockets: Sockets) -> None:
        socket = await sockets.subscribe(api.token(ALICE), CREATED)

        during = await (await api.client.get("/metrics")).text()
        assert "notifgql_subscriptions_open 1.0" in during
        assert "notifgql_subscriptions_live 1.0" in during

        await socket.send({"id": "1", "type": "complete"})
        await socket.ws.close()
        await eventually_gauged(api, "notifgql_subscriptions_live 0.0")
        after = await (await api.client.get("/metrics")).text()
        assert "notifgql_subscriptions_open 0.0" in after


async def eventually_gauged(api: Api, line: str) -> None:
    """The server ends a stream after the client's frame arrives: wait for it, boundedly."""
    for _ in range(200):
        if line in await (await api.client.get("/metrics")).text():
            return
        await asyncio.sleep(0)
    raise AssertionError(f"{line!r} never appeared")
