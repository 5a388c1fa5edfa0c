from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from aiohttp.test_utils import TestServer

from notifgql.auth import issue_token
from notifgql.graphql.view import NotifGqlView
from tests.client import ALICE, Api
from tests.subscriptions.brokers import subscriber_count
from tests.subscriptions.ws import COUNTS, LEGACY_WS, TRANSPORT_WS, Sockets


@pytest.fixture
def broker_kind() -> str:
    # Authentication happens before any broker is involved: one broker is enough here.
    return "default"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class TestGraphQLTransportWS:
    @pytest.mark.parametrize(
        "payload",
        [
            None,
            {},
            {"Authorization": "Bearer not-a-token"},
            {"Authorization": "Basic YWxpY2U6c2VjcmV0"},
            {"Authorization": 42},
        ],
        ids=["no-payload", "empty", "garbage", "not-bearer", "not-a-string"],
    )
    async def test_bad_or_missing_token_closes_4403(
        self, sockets: Sockets, payload: dict[str, object] | None
    ) -> None:
        socket = await sockets.open(TRANSPORT_WS)
        frame = {"type": "connection_init"} | ({} if payload is None else {"payload": payload})
        await socket.send(frame)

        assert await socket.receive_close() == (4403, "Forbidden")

    async def test_expired_token_closes_4403(self, api: Api, sockets: Sockets) -> None:
        socket = await sockets.open(TRANSPORT_WS)
        await socket.send(
            {"type": "connection_init", "payload": bearer(api.token(ALICE, ttl_seconds=-60))}
        )

        assert await socket.receive_close() == (4403, "Forbidden")

    async def test_token_of_another_secret_closes_4403(self, sockets: Sockets) -> None:
        forged = issue_token(
            "another-secret-just-as-long-as-the-real-one", subject="1001", organization_id="10"
        )
        socket = await sockets.open(TRANSPORT_WS)
        await socket.send({"type": "connection_init", "payload": bearer(forged)})

        assert await socket.receive_close() == (4403, "Forbidden")

    async def test_upgrade_header_authenticates(self, api: Api, sockets: Sockets) -> None:
        socket = await sockets.open(TRANSPORT_WS, headers=bearer(api.token(ALICE)))

        assert await socket.init() == {"type": "connection_ack"}
        await socket.start(COUNTS)
        assert (await socket.data())["notificationCounts"]["total"] == 0

    async def test_bad_upgrade_header_closes_4403(self, sockets: Sockets) -> None:
        socket = await sockets.open(TRANSPORT_WS, headers={"Authorization": "Bearer nope"})
        await socket.send({"type": "connection_init"})

        assert await socket.receive_close() == (4403, "Forbidden")

    async def test_payload_token_wins_over_header(self, api: Api, sockets: Sockets) -> None:
        socket = await sockets.open(TRANSPORT_WS, headers={"Authorization": "Bearer nope"})

        assert await socket.init(bearer(api.token(ALICE))) == {"type": "connection_ack"}

    async def test_lowercase_payload_key(self, api: Api, sockets: Sockets) -> None:
        socket = await sockets.open(TRANSPORT_WS)
        ack = await socket.init({"authorization": f"Bearer {api.token(ALICE)}"})

        assert ack == {"type": "connection_ack"}

    async def test_subscribe_before_init_closes_4401(self, sockets: Sockets) -> None:
        socket = await sockets.open(TRANSPORT_WS)
        await socket.start(COUNTS)

        assert await socket.receive_close() == (4401, "Unauthorized")
        assert subscriber_count(socket.broker) == 0


class TestLegacyGraphQLWS:
    async def test_bad_token_gets_connection_error_then_close(self, sockets: Sockets) -> None:
        socket = await sockets.open(LEGACY_WS)

        frame = await socket.init(bearer("not-a-token"))

        assert frame == {
            "type": "connection_error",
            "payload": {
                "message": "The token is invalid",
                "extensions": {"code": "UNAUTHENTICATED"},
            },
        }
        # 1011 is what the legacy protocol's reference server closes with after it.
        assert (await socket.receive_close())[0] == 1011

    async def test_missing_token_gets_connection_error(self, sockets: Sockets) -> None:
        socket = await sockets.open(LEGACY_WS)

        frame = await socket.init()

        assert frame["type"] == "connection_error"
        assert frame["payload"]["extensions"] == {"code": "UNAUTHENTICATED"}

    async def test_upgrade_header_authenticates(self, api: Api, sockets: Sockets) -> None:
        socket = await sockets.open(LEGACY_WS, headers=bearer(api.token(ALICE)))

        assert await socket.init() == {"type": "connection_ack"}
        await socket.start(COUNTS)
        assert (await socket.data())["notificationCounts"]["total"] == 0


class TestTokenExpiry:
    @pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])
    async def test_connection_closes_when_its_token_expires(
        self, api: Api, sockets: Sockets, protocol: str
    ) -> None:
        # exp is in whole seconds: this token lives one to two seconds.
        token = api.token(ALICE, ttl_seconds=2)
        socket = await sockets.subscribe(token, COUNTS, protocol)
        assert (await socket.data())["notificationCounts"]["total"] == 0

        assert await socket.receive_close() == (4403, "Token expired")

    @pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])
    async def test_a_connection_that_ends_first_leaves_no_timer(
        self, api: Api, sockets: Sockets, server: TestServer, protocol: str
    ) -> None:
        view = graphql_view(server)
        socket = await sockets.subscribe(api.token(ALICE, ttl_seconds=3600), COUNTS, protocol)
        assert (await socket.data())["notificationCounts"]["total"] == 0
        assert len(view._expiries) == 1

        await socket.ws.close()

        await until(lambda: not view._expiries, what="the expiry timer cancelled")


def graphql_view(server: TestServer) -> NotifGqlView:
    """The view that serves /graphql."""
    for route in server.app.router.routes():
        if isinstance(route.handler, NotifGqlView):
            return route.handler
    raise AssertionError("no GraphQL view")


async def until(done: Callable[[], bool], *, what: str) -> None:
    """Wait, a loop turn at a time, for the server to finish what the client's close began."""
    for _ in range(10_000):
        if done():
            return
        await asyncio.sleep(0)
    raise AssertionError(f"never happened: {what}")
