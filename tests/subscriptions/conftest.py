"""Fixtures for live delivery: every test here runs with each broker.

``default`` is what a process picks with no NOTIFGQL_BROKER_URL: in process on SQLite,
LISTEN/NOTIFY on PostgreSQL. ``redis`` is Redis pub/sub, from NOTIFGQL_TEST_REDIS_URL or a
throwaway redis-server this suite starts; with NOTIFGQL_REQUIRE_REDIS=1 (as in CI) a
missing Redis fails the run instead of skipping its half.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from notifgql.settings import Settings
from tests.servers import redis_server
from tests.subscriptions.ws import Sockets

BROKERS = ["default", "redis"]


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """The URL of a Redis server, started here when none is given."""
    given = os.environ.get("NOTIFGQL_TEST_REDIS_URL")
    if given:
        yield given
        return
    try:
        with redis_server() as server:
            yield server.url()
    except (RuntimeError, OSError) as error:
        if os.environ.get("NOTIFGQL_REQUIRE_REDIS") == "1":
            pytest.fail(f"Redis is required but could not be started: {error}")
        pytest.skip(f"Redis unavailable: {error}")


@pytest.fixture(params=BROKERS)
def broker_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def broker_settings(request: pytest.FixtureRequest, broker_kind: str) -> dict[str, Any]:
    """The settings that pick the broker; a channel of its own keeps tests apart on Redis."""
    if broker_kind == "default":
        return {}
    return {
        "broker_url": request.getfixturevalue("redis_url"),
        "broker_channel": f"notifgql-test-{uuid.uuid4().hex[:12]}",
    }


@pytest.fixture
def settings(settings_for: Any, broker_settings: dict[str, Any]) -> Settings:
    return settings_for(**broker_settings)  # type: ignore[no-any-return]


@pytest.fixture
async def sockets(server: TestServer) -> AsyncIterator[Sockets]:
    """Opens WebSockets to the app under test; closes them all afterwards."""
    async with aiohttp.ClientSession() as session:
        yield Sockets(session, server)
