"""A subscription whose stream fails ends with an error message, never in silence."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from notifgql.notifications import queries
from tests.client import ALICE, Api
from tests.subscriptions.actions import create
from tests.subscriptions.test_counts import counts
from tests.subscriptions.ws import COUNTS, CREATED, PROTOCOLS, TRANSPORT_WS, Socket, Sockets

MASKED = {"message": "Internal server error", "extensions": {"code": "INTERNAL_SERVER_ERROR"}}
UNAVAILABLE = {
    "message": "The database is unavailable; try again shortly",
    "extensions": {"code": "SERVICE_UNAVAILABLE"},
}


@pytest.fixture
def broker_kind() -> str:
    return "default"


def failing(error: Exception) -> Any:
    """A stand-in for a domain query that raises ``error``."""

    async def fail(*_args: Any, **_kwargs: Any) -> Any:
        raise error

    return fail


def error_frame(socket: Socket, error: dict[str, Any], id: str = "1") -> dict[str, Any]:
    """The one message that ends a failed operation, in ``socket``'s protocol."""
    payload = [error] if socket.protocol == TRANSPORT_WS else error
    return {"id": id, "type": "error", "payload": payload}


def logged_errors(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.levelno >= logging.ERROR]


async def assert_operation_over(socket: Socket) -> None:
    """No frame of the failed operation follows its error (a complete, say): the next
    frame is the answer to a request sent after it."""
    await socket.start("subscription {", id="probe")
    following = await socket.receive()
    assert (following["type"], following["id"]) == ("error", "probe"), following


class TestEventFails:
    @pytest.mark.parametrize("protocol", PROTOCOLS)
    async def test_unexpected_error_is_masked_and_logged_once(
        self,
        api: Api,
        sockets: Sockets,
        protocol: str,
        monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        socket = await sockets.subscribe(api.token(ALICE), CREATED, protocol)
        secret = RuntimeError("SELECT secret FROM somewhere")
        monkeypatch.setattr(queries, "get_notification", failing(secret))

        await create(api, ALICE)

        assert await socket.receive() == error_frame(socket, MASKED)
        [record] = logged_errors(caplog)
        assert record.exc_info is not None
        assert record.exc_info[1] is secret
        await assert_operation_over(socket)
        assert socket.slots.open_count == 0

    @pytest.mark.parametrize("protocol", PROTOCOLS)
    async def test_database_unavailable(
        self, api: Api, sockets: Sockets, protocol: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        socket = await sockets.subscribe(api.token(ALICE), CREATED, protocol)
        # What a connection to a database that went away raises, inside a read.
        lost = ConnectionResetError("connection reset by peer")
        monkeypatch.setattr(queries, "get_notification", failing(lost))

        await create(api, ALICE)

        assert await socket.receive() == error_frame(socket, UNAVAILABLE)
        await assert_operation_over(socket)


class TestCountsFail:
    @pytest.mark.parametrize("protocol", PROTOCOLS)
    async def test_every_subscriber_told_and_logged_once(
        self,
        api: Api,
        sockets: Sockets,
        protocol: str,
        monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        token = api.token(ALICE)
        first = await sockets.subscribe(token, COUNTS, protocol)
        second = await sockets.subscribe(token, COUNTS, protocol)
        assert await first.data() == await second.data() == counts()
        secret = RuntimeError("SELECT secret FROM somewhere")
        monkeypatch.setattr(queries, "counts_until", failing(secret))

        await create(api, ALICE)

        assert await first.receive() == error_frame(first, MASKED)
        assert await second.receive() == error_frame(second, MASKED)
        [record] = logged_errors(caplog)
        assert record.exc_info is not None
        assert record.exc_info[1] is secret
        await assert_operation_over(first)

    async def test_resubscribing_after_a_failure_reads_again(
        self, api: Api, sockets: Sockets, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        socket = await sockets.subscribe(api.token(ALICE), COUNTS)
        assert await socket.data() == counts()
        with monkeypatch.context() as patched:
            patched.setattr(queries, "counts_until", failing(ConnectionResetError("reset")))
            await create(api, ALICE)
            assert await socket.receive() == error_frame(socket, UNAVAILABLE)

        await socket.subscribe(COUNTS, "2")

        assert await socket.data("2") == counts(total=1, unread=1, unseen=1)
