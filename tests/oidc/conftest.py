"""Fixtures of the identity provider tests: a local provider, and the app trusting it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from notifgql import appkeys
from tests.oidc.provider import AUDIENCE, ISSUER, SERVICE_SCOPE, Clock, Provider
from tests.subscriptions.ws import Sockets


@pytest.fixture
async def provider() -> AsyncIterator[Provider]:
    """A running provider that publishes no key yet: each test adds the keys it needs."""
    provider = Provider()
    await provider.start()
    yield provider
    await provider.close()


@pytest.fixture
def provider_settings() -> dict[str, Any]:
    """Settings a test changes on top of the provider's; override this fixture to."""
    return {}


@pytest.fixture
def settings_overrides(provider: Provider, provider_settings: dict[str, Any]) -> dict[str, Any]:
    return {
        "jwt_jwks_url": provider.url,
        "jwt_issuer": ISSUER,
        "jwt_audience": AUDIENCE,
        "jwt_service_scope": SERVICE_SCOPE,
        # Long enough for a loaded CI machine; only a test of timeouts waits it out.
        "jwt_jwks_timeout": 30.0,
    } | provider_settings


@pytest.fixture
def clock(server: TestServer) -> Clock:
    """The clock of the app's key set, moved by hand instead of waiting."""
    clock = Clock()
    provider = server.app[appkeys.AUTHENTICATOR].provider
    assert provider is not None
    provider.keys.clock = clock
    return clock


@pytest.fixture
async def sockets(server: TestServer) -> AsyncIterator[Sockets]:
    async with aiohttp.ClientSession() as session:
        yield Sockets(session, server)
