"""Every door takes the provider's tokens through the same verifier, and says the same thing
when the provider's keys cannot be fetched: both REST dialects, and WebSocket connection_init
on both protocols (GraphQL over HTTP: test_key_set.py)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.client import ALICE, BOB, Api
from tests.oidc.provider import Clock, Provider, bearer
from tests.subscriptions.ws import COUNTS, LEGACY_WS, PROTOCOLS, TRANSPORT_WS, Sockets

WINDOW = 60.0


@pytest.fixture
def provider_settings() -> dict[str, Any]:
    return {"jwt_jwks_min_refresh": WINDOW}


def jsonapi_bearer(token: str) -> dict[str, str]:
    return bearer(token)


def jsonapi_x_auth_token(token: str) -> dict[str, str]:
    return {"X-Auth-Token": token}


REST = pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/api/v2/notifications", jsonapi_bearer),
        ("/api/v2/notifications", jsonapi_x_auth_token),
        ("/notifications", bearer),
    ],
    ids=["jsonapi-bearer", "jsonapi-x-auth-token", "crm"],
)


def listed_ids(path: str, body: dict[str, Any]) -> list[str]:
    if path.startswith("/api/"):
        return [item["id"] for item in body["data"]]
    return [str(item["id"]) for item in body["notifications"]]


def change_of(path: str, notification_id: int) -> tuple[str, dict[str, Any] | None]:
    """A PATCH of the dialect at ``path`` that would change the notification: URL and body."""
    if path.startswith("/api/"):
        return f"{path}/{notification_id}/read", None
    return path, {"operations": [{"op": "add", "path": f"/{notification_id}/seen", "value": None}]}


def error_code(path: str, body: dict[str, Any]) -> str:
    if path.startswith("/api/"):
        (error,) = body["errors"]
        return str(error["code"])
    return str(body["error"]["code"])


class TestRest:
    @REST
    async def test_provider_token_lists_the_inbox(
        self, api: Api, provider: Provider, path: str, headers: Any
    ) -> None:
        kid = provider.add_key("ES256")
        mine = await api.add(ALICE)
        await api.add(BOB)

        response = await api.client.get(path, headers=headers(provider.token(kid)))

        assert response.status == 200
        assert listed_ids(path, await response.json(content_type=None)) == [str(mine)]

    @REST
    async def test_bad_provider_token_is_401(
        self, api: Api, provider: Provider, path: str, headers: Any
    ) -> None:
        kid = provider.add_key()
        wrong = provider.token(kid, provider.claims(aud="https://another-api.example.test"))

        response = await api.client.get(path, headers=headers(wrong))

        assert response.status == 401
        assert error_code(path, await response.json(content_type=None)) == "UNAUTHENTICATED"

    @REST
    async def test_unavailable_keys_are_503_then_back(
        self, api: Api, provider: Provider, clock: Clock, path: str, headers: Any
    ) -> None:
        kid = provider.add_key()
        mine = await api.add(ALICE)
        provider.outage = "error"
        before = await api.snapshot()

        response = await api.client.get(path, headers=headers(provider.token(kid)))

        assert response.status == 503
        assert response.headers["Retry-After"] == "2"
        assert error_code(path, await response.json(content_type=None)) == "SERVICE_UNAVAILABLE"
        # A change is refused the same way, and changes nothing.
        target, body = change_of(path, mine)
        change = await api.client.patch(target, headers=headers(provider.token(kid)), json=body)
        assert change.status == 503
        assert await api.snapshot() == before

        provider.outage = None
        clock.advance(WINDOW)
        response = await api.client.get(path, headers=headers(provider.token(kid)))
        assert response.status == 200
        assert listed_ids(path, await response.json(content_type=None)) == [str(mine)]


class TestWebSocket:
    @pytest.mark.parametrize("protocol", PROTOCOLS)
    async def test_provider_token_in_connection_init(
        self, api: Api, provider: Provider, sockets: Sockets, protocol: str
    ) -> None:
        kid = provider.add_key("EdDSA")
        await api.add(ALICE)
        await api.add(BOB)

        socket = await sockets.subscribe(provider.token(kid), COUNTS, protocol)

        assert (await socket.data())["notificationCounts"]["total"] == 1

    async def test_provider_token_in_the_upgrade_header(
        self, provider: Provider, sockets: Sockets
    ) -> None:
        kid = provider.add_key()
        socket = await sockets.open(TRANSPORT_WS, headers=bearer(provider.token(kid)))

        assert await socket.init() == {"type": "connection_ack"}

    async def test_bad_provider_token_closes_4403(
        self, provider: Provider, sockets: Sockets
    ) -> None:
        kid = provider.add_key()
        expired = provider.token(kid, provider.claims(ttl=-10))
        socket = await sockets.open(TRANSPORT_WS)
        await socket.send({"type": "connection_init", "payload": bearer(expired)})

        assert await socket.receive_close() == (4403, "Forbidden")

    async def test_unavailable_keys_close_transport_ws_4503_then_back(
        self, provider: Provider, sockets: Sockets, clock: Clock
    ) -> None:
        kid = provider.add_key()
        provider.outage = "error"
        socket = await sockets.open(TRANSPORT_WS)
        await socket.send({"type": "connection_init", "payload": bearer(provider.token(kid))})

        assert await socket.receive_close() == (4503, "Service Unavailable")

        provider.outage = None
        clock.advance(WINDOW)
        await sockets.subscribe(provider.token(kid), COUNTS, TRANSPORT_WS)

    async def test_unavailable_keys_on_legacy_ws_get_connection_error(
        self, provider: Provider, sockets: Sockets, clock: Clock
    ) -> None:
        kid = provider.add_key()
        provider.outage = "error"
        socket = await sockets.open(LEGACY_WS)

        frame = await socket.init(bearer(provider.token(kid)))

        assert frame == {
            "type": "connection_error",
            "payload": {
                "message": "The identity provider's signing keys cannot be fetched now",
                "extensions": {"code": "SERVICE_UNAVAILABLE"},
            },
        }
        assert (await socket.receive_close())[0] == 1011
        provider.outage = None
        clock.advance(WINDOW)
        await sockets.subscribe(provider.token(kid), COUNTS, LEGACY_WS)

    async def test_unavailable_keys_at_the_upgrade_close_4503(
        self, provider: Provider, sockets: Sockets
    ) -> None:
        kid = provider.add_key()
        provider.outage = "error"
        socket = await sockets.open(TRANSPORT_WS, headers=bearer(provider.token(kid)))
        await socket.send({"type": "connection_init"})

        assert await socket.receive_close() == (4503, "Service Unavailable")

    async def test_hs256_connections_open_while_keys_are_unavailable(
        self, api: Api, provider: Provider, sockets: Sockets
    ) -> None:
        provider.add_key()
        provider.outage = "error"

        socket = await sockets.subscribe(api.token(ALICE), COUNTS, TRANSPORT_WS)

        assert (await socket.data())["notificationCounts"]["total"] == 0
