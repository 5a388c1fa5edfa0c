from __future__ import annotations

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
