"""Malformed frames and requests that cannot run, on both WebSocket protocols."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from tests.client import ALICE, Api
from tests.subscriptions.test_counts import counts
from tests.subscriptions.ws import COUNTS, LEGACY_WS, TRANSPORT_WS, Socket, Sockets


@pytest.fixture
def broker_kind() -> str:
    # Frames are refused before any broker is involved: one broker is enough here.
    return "default"


def subscribe(kind: str = "subscribe", **fields: Any) -> dict[str, Any]:
    return {"id": "1", "type": kind, "payload": {"query": COUNTS}} | fields


# Every kind of frame the protocol does not allow, with the reason the close carries.
NOT_AN_OBJECT = ["[]", '"x"', "5", "null", "true"]
BAD_SUBSCRIBES = {
    "query-number": (subscribe(payload={"query": 5}), "payload.query must be a string"),
    "query-object": (subscribe(payload={"query": {}}), "payload.query must be a string"),
    "query-null": (subscribe(payload={"query": None}), "payload.query must be a string"),
    "query-missing": (subscribe(payload={}), "payload.query must be a string"),
    "payload-string": (subscribe(payload="x"), "Message payload must be an object"),
    "payload-missing": (
        {"id": "1", "type": "subscribe"},
        "Message payload must be an object",
    ),
    "variables-list": (
        subscribe(payload={"query": COUNTS, "variables": []}),
        "payload.variables must be an object or null",
    ),
    "operation-name-number": (
        subscribe(payload={"query": COUNTS, "operationName": 1}),
        "payload.operationName must be a string or null",
    ),
    "id-empty": (subscribe(id=""), "Message id must be a non-empty string"),
    "id-number": (subscribe(id=1), "Message id must be a non-empty string"),
    "id-missing": (
        {"type": "subscribe", "payload": {"query": COUNTS}},
        "Message id must be a non-empty string",
    ),
    "type-number": ({"type": 5}, "Message type must be a string"),
    "complete-without-id": ({"type": "complete"}, "Message id must be a non-empty string"),
}

SYNTAX_ERROR = "subscription {"
SYNTAX_ERROR_ANSWER = {
    "message": "Syntax Error: Expected Name, found <EOF>.",
    "locations": [{"line": 1, "column": 15}],
    "extensions": {"code": "BAD_USER_INPUT"},
}
UNKNOWN_FIELD = "subscription { zzz }"
UNKNOWN_FIELD_ANSWER = {
    "message": "Cannot query field 'zzz' on type 'Subscription'.",
    "locations": [{"line": 1, "column": 16}],
    "extensions": {"code": "BAD_USER_INPUT"},
}


# A document that does not parse, and one that does not validate, with what both protocols
# (and HTTP) answer each with.
REQUEST_ERRORS = pytest.mark.parametrize(
    ("query", "error"),
    [(SYNTAX_ERROR, SYNTAX_ERROR_ANSWER), (UNKNOWN_FIELD, UNKNOWN_FIELD_ANSWER)],
    ids=["syntax", "validation"],
)


def no_alarms(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Log lines at WARNING or above; a refused request is the client's business."""
    return [record.getMessage() for record in caplog.records if record.levelno >= logging.WARNING]


async def assert_still_serving(socket: Socket, id: str = "1") -> None:
    """The connection works, and ``id`` is free again: a new subscription runs under it."""
    await socket.subscribe(COUNTS, id)
    assert await socket.data(id) == counts()


class TestTransportMalformedFrames:
    @pytest.mark.parametrize("raw", NOT_AN_OBJECT)
    async def test_not_an_object_closes_4400(
        self, api: Api, sockets: Sockets, raw: str, caplog: pytest.LogCaptureFixture
    ) -> None:
        socket = await sockets.connect(api.token(ALICE))

        await socket.ws.send_str(raw)

        assert await socket.receive_close() == (4400, "Message must be a JSON object")
        assert no_alarms(caplog) == []

    async def test_not_an_object_before_init_closes_4400(self, sockets: Sockets) -> None:
        socket = await sockets.open(TRANSPORT_WS)

        await socket.ws.send_str("[]")

        assert await socket.receive_close() == (4400, "Message must be a JSON object")

    @pytest.mark.parametrize("case", list(BAD_SUBSCRIBES), ids=list(BAD_SUBSCRIBES))
    async def test_bad_subscribe_closes_4400(
        self, api: Api, sockets: Sockets, case: str, caplog: pytest.LogCaptureFixture
    ) -> None:
        frame, reason = BAD_SUBSCRIBES[case]
        socket = await sockets.connect(api.token(ALICE))

        await socket.send(frame)

        assert await socket.receive_close() == (4400, reason)
        assert socket.slots.open_count == 0
        assert no_alarms(caplog) == []


class TestTransportRequestErrors:
    @REQUEST_ERRORS
    async def test_answered_with_error_message(
        self,
        api: Api,
        sockets: Sockets,
        query: str,
        error: dict[str, Any],
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        socket = await sockets.connect(api.token(ALICE))

        await socket.start(query)

        # The very first frame is the error: no complete before it.
        assert await socket.receive() == {"id": "1", "type": "error", "payload": [error]}
        # Nothing follows the error: the next frame answers our ping.
        await socket.send({"type": "ping"})
        assert await socket.receive() == {"type": "pong"}
        assert no_alarms(caplog) == []
        await assert_still_serving(socket)

    async def test_syntax_error_as_http_answers_it(self, api: Api, sockets: Sockets) -> None:
        socket = await sockets.connect(api.token(ALICE))
        _, http = await api.gql_raw(SYNTAX_ERROR, headers=api.auth(ALICE))

        await socket.start(SYNTAX_ERROR)

        assert (await socket.receive())["payload"] == http["errors"] == [SYNTAX_ERROR_ANSWER]


class TestLegacyMalformedFrames:
    @pytest.mark.parametrize("raw", NOT_AN_OBJECT)
    async def test_not_an_object_answers_error(
        self, api: Api, sockets: Sockets, raw: str, caplog: pytest.LogCaptureFixture
    ) -> None:
        socket = await sockets.connect(api.token(ALICE), LEGACY_WS)

        await socket.ws.send_str(raw)

        assert await socket.receive() == {
            "type": "error",
            "payload": {
                "message": "Message must be a JSON object",
                "extensions": {"code": "BAD_USER_INPUT"},
            },
        }
        assert no_alarms(caplog) == []
        await assert_still_serving(socket)

    @pytest.mark.parametrize("case", list(BAD_SUBSCRIBES), ids=list(BAD_SUBSCRIBES))
    async def test_bad_start_answers_error(
        self, api: Api, sockets: Sockets, case: str, caplog: pytest.LogCaptureFixture
    ) -> None:
        frame, reason = BAD_SUBSCRIBES[case]
        legacy = {"subscribe": "start", "complete": "stop"}
        if isinstance(frame.get("type"), str):
            frame = frame | {"type": legacy[frame["type"]]}
        socket = await sockets.connect(api.token(ALICE), LEGACY_WS)

        await socket.send(frame)
        answer = await socket.receive()

        expected: dict[str, Any] = {
            "type": "error",
            "payload": {"message": reason, "extensions": {"code": "BAD_USER_INPUT"}},
        }
        if isinstance(frame.get("id"), str) and frame["id"]:
            expected["id"] = frame["id"]
        assert answer == expected
        assert no_alarms(caplog) == []
        await assert_still_serving(socket, "2")


class TestLegacyRequestErrors:
    @REQUEST_ERRORS
    async def test_answered_with_error_message(
        self,
        api: Api,
        sockets: Sockets,
        query: str,
        error: dict[str, Any],
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        socket = await sockets.connect(api.token(ALICE), LEGACY_WS)

        await socket.start(query)

        # The legacy error message carries one error object, and ends the operation.
        assert await socket.receive() == {"id": "1", "type": "error", "payload": error}
        assert no_alarms(caplog) == []
        await assert_still_serving(socket)
