"""Errors in a running subscription carry a contract code and never driver text."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from graphql import GraphQLError

from notifgql import appkeys
from notifgql.db.engine import Database
from notifgql.errors import ServiceUnavailable
from notifgql.graphql.errors import MASKED_MESSAGE, coded
from tests.client import ALICE, Api
from tests.subscriptions.test_counts import counts
from tests.subscriptions.ws import COUNTS, Sockets


@pytest.fixture
def backend() -> str:
    # The failure is the engine's own refusal, the same on either database.
    return "sqlite"


@pytest.fixture
def broker_kind() -> str:
    return "default"


class TestStreamErrors:
    async def test_database_failure_is_coded_error_message(
        self, api: Api, sockets: Sockets, server: TestServer, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        socket = await sockets.subscribe(api.token(ALICE), COUNTS)
        assert await socket.data() == counts()

        # The database answering as a restarting server does: the engine's own refusal.
        # (A missing table is a bug, not an outage: tests/subscriptions/test_stream_failures.)
        @asynccontextmanager
        async def unavailable(_database: Database) -> AsyncIterator[Any]:
            raise ServiceUnavailable("The database is unavailable; try again shortly")
            yield

        monkeypatch.setattr(Database, "read", unavailable)
        server.app[appkeys.BROKER].resync_all()
        frame = await socket.receive()
        monkeypatch.undo()

        # The stream is over: one error message, which graphql-ws clients hand to
        # sink.error, and no complete after it.
        assert frame == {
            "id": "1",
            "type": "error",
            "payload": [
                {
                    "message": "The database is unavailable; try again shortly",
                    "extensions": {"code": ServiceUnavailable.code},
                }
            ],
        }
        await socket.send({"type": "ping"})
        assert await socket.receive() == {"type": "pong"}

    def test_unexpected_stream_error_is_masked(self, caplog: pytest.LogCaptureFixture) -> None:
        error = GraphQLError("SELECT secret FROM x", original_error=RuntimeError("SELECT"))

        with caplog.at_level(logging.ERROR, logger="notifgql.graphql"):
            shown = coded(error, streaming=True)

        assert (shown.message, shown.extensions) == (
            MASKED_MESSAGE,
            {"code": "INTERNAL_SERVER_ERROR"},
        )
        assert "unexpected error in subscription" in caplog.text
