"""The provider's key set: fetched once and kept, refetched for new kids at a bounded rate,
one fetch for many callers, and an endpoint that is down answered 503, never a pass."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import jwt
import pytest
from aiohttp.test_utils import TestServer

from notifgql import appkeys
from notifgql.jwks import MAX_AGE, KeySet
from notifgql.observability import JsonFormatter
from tests.client import ALICE, Api
from tests.graphql.documents import assert_error
from tests.oidc.provider import Clock, Provider, bearer
from tests.servers import free_port

COUNTS = "{ notificationCounts { total } }"
WINDOW = 60.0


@pytest.fixture
def backend() -> str:
    # How keys are fetched has nothing to do with the database.
    return "sqlite"


@pytest.fixture
def provider_settings() -> dict[str, Any]:
    return {"jwt_jwks_min_refresh": WINDOW}


def key_set(server: TestServer) -> KeySet:
    provider = server.app[appkeys.AUTHENTICATOR].provider
    assert provider is not None
    return provider.keys


async def answer(api: Api, token: str) -> tuple[str | None, str | None]:
    """(error code or None, Retry-After) of a GraphQL request with ``token``; never a 500."""
    response = await api.client.post("/graphql", json={"query": COUNTS}, headers=bearer(token))
    assert response.status == 200, await response.text()
    body = await response.json()
    if "errors" not in body:
        assert body["data"] == {"notificationCounts": {"total": 0}}
        return None, response.headers.get("Retry-After")
    assert_error(body, body["errors"][0]["extensions"]["code"])
    assert body["data"] is None
    return body["errors"][0]["extensions"]["code"], response.headers.get("Retry-After")


async def code(api: Api, token: str) -> str | None:
    return (await answer(api, token))[0]


class TestKept:
    async def test_fetched_once_for_many_requests_and_tokens(
        self, api: Api, provider: Provider
    ) -> None:
        kid = provider.add_key()
        for subject in ("1001", "1002", "1003"):
            assert await code(api, provider.token(kid, provider.claims(subject))) is None
        tokens = [provider.token(kid, provider.claims(str(2000 + n))) for n in range(10)]
        assert await asyncio.gather(*(code(api, token) for token in tokens)) == [None] * 10

        assert provider.fetches == 1


class TestRotation:
    async def test_a_new_kid_verifies_after_one_refetch(
        self, api: Api, provider: Provider, clock: Clock
    ) -> None:
        old = provider.add_key()
        assert await code(api, provider.token(old)) is None
        verified_before = provider.token(old)
        assert await code(api, verified_before) is None
        # The provider rotates: a new key signs, the old one is withdrawn.
        new = provider.add_key("ES256")
        provider.published.remove(old)
        clock.advance(WINDOW)

        assert await code(api, provider.token(new)) is None
        assert provider.fetches == 2
        # The withdrawn key verifies nothing any more, not even a token it verified before.
        assert await code(api, provider.token(old)) == "UNAUTHENTICATED"
        assert await code(api, verified_before) == "UNAUTHENTICATED"
        assert provider.fetches == 2

    async def test_a_new_kid_within_the_window_waits_for_its_end(
        self, api: Api, provider: Provider, clock: Clock
    ) -> None:
        assert await code(api, provider.token(provider.add_key())) is None
        new = provider.add_key()

        assert await code(api, provider.token(new)) == "UNAUTHENTICATED"
        clock.advance(WINDOW - 1)
        assert await code(api, provider.token(new)) == "UNAUTHENTICATED"
        assert provider.fetches == 1
        clock.advance(1)
        assert await code(api, provider.token(new)) is None
        assert provider.fetches == 2


class TestRateLimit:
    async def test_unknown_kids_fetch_at_most_once_per_window(
        self, api: Api, provider: Provider, clock: Clock
    ) -> None:
        kid = provider.add_key()
        assert await code(api, provider.token(kid)) is None
        assert provider.fetches == 1
        forger = provider.add_key(publish=False)

        for window in range(3):
            made_up = [
                provider.token(forger, header_kid=f"made-up-{window}-{n}") for n in range(20)
            ]
            # At once, then one after the other: one fetch at most, whichever way they come.
            codes = await asyncio.gather(*(code(api, token) for token in made_up[:10]))
            codes += [await code(api, token) for token in made_up[10:]]

            assert codes == ["UNAUTHENTICATED"] * 20
            assert provider.fetches == 1 + window
            clock.advance(WINDOW)


class TestSingleFlight:
    @pytest.fixture
    def provider_settings(self) -> dict[str, Any]:
        # No window at all: sharing the fetch is all that keeps each caller from its own.
        return {"jwt_jwks_min_refresh": 0}

    async def test_concurrent_requests_with_a_new_kid_share_one_fetch(
        self, api: Api, provider: Provider, server: TestServer, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        callers = 20
        kid = provider.add_key()
        keys = key_set(server)
        all_waiting = asyncio.Event()
        lookups = 0
        lookup: Callable[[str], Awaitable[Any]] = keys.key

        async def counted(wanted: str) -> Any:
            nonlocal lookups
            lookups += 1
            if lookups == callers:
                all_waiting.set()
            return await lookup(wanted)

        monkeypatch.setattr(keys, "key", counted)
        provider.gate = asyncio.Event()
        tokens = [provider.token(kid, provider.claims(str(1000 + n))) for n in range(callers)]
        requests = asyncio.gather(*(code(api, token) for token in tokens))
        # Every caller is inside the lookup while the one fetch is held at the provider.
        await asyncio.wait_for(all_waiting.wait(), 10)
        provider.gate.set()

        assert await requests == [None] * callers
        assert provider.fetches == 1


class TestOutage:
    @pytest.mark.parametrize("outage", ["error", "garbage"])
    async def test_unavailable_then_back(
        self, api: Api, provider: Provider, clock: Clock, outage: str
    ) -> None:
        kid = provider.add_key()
        provider.outage = outage

        assert await answer(api, provider.token(kid)) == ("SERVICE_UNAVAILABLE", "2")
        # Within the window the provider is not asked again, and the answer stays the same.
        assert await answer(api, provider.token(kid)) == ("SERVICE_UNAVAILABLE", "2")
        assert provider.fetches == 1

        provider.outage = None
        clock.advance(WINDOW)
        assert await code(api, provider.token(kid)) is None
        assert provider.fetches == 2

    async def test_hs256_tokens_work_meanwhile(
        self, api: Api, provider: Provider, clock: Clock
    ) -> None:
        kid = provider.add_key()
        provider.outage = "error"

        assert await code(api, provider.token(kid)) == "SERVICE_UNAVAILABLE"
        assert await code(api, api.token(ALICE)) is None

    async def test_keys_already_held_keep_verifying(
        self, api: Api, provider: Provider, clock: Clock
    ) -> None:
        held = provider.add_key()
        assert await code(api, provider.token(held)) is None
        provider.outage = "error"
        new = provider.add_key()
        clock.advance(MAX_AGE)

        # The new kid needs a fetch, which fails: we cannot tell whether it exists.
        assert await code(api, provider.token(new)) == "SERVICE_UNAVAILABLE"
        assert provider.fetches == 2
        assert await code(api, provider.token(held)) is None

    @pytest.mark.parametrize(
        "document",
        [
            b"[]",
            b'{"keys": {}}',
            b'{"keys": []}',
            b'{"keys": [{"kty": "RSA", "kid": "a", "n": "!!", "e": "AQAB"}]}',
            b'{"keys": [{"kty": "oct", "kid": "a", "k": "c2VjcmV0"}]}',
        ],
        ids=["not-an-object", "keys-not-a-list", "no-keys", "malformed-key", "symmetric-key"],
    )
    async def test_a_document_without_usable_keys_is_an_outage(
        self, api: Api, provider: Provider, document: bytes, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        kid = provider.add_key()
        monkeypatch.setattr(provider, "jwks", lambda: json.loads(document))

        assert await code(api, provider.token(kid)) == "SERVICE_UNAVAILABLE"

    async def test_one_bad_member_does_not_spoil_the_others(
        self, api: Api, provider: Provider, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        kid = provider.add_key()
        published = provider.jwks()
        broken = [
            {"kty": "EC", "kid": "broken-ec", "crv": "P-256"},
            {"kty": "RSA", "kid": "encryption", "use": "enc", "n": "AQAB", "e": "AQAB"},
            "not an object",
        ]
        monkeypatch.setattr(provider, "jwks", lambda: {"keys": [*broken, *published["keys"]]})

        assert await code(api, provider.token(kid)) is None


class TestTimeout:
    @pytest.fixture
    def provider_settings(self) -> dict[str, Any]:
        return {"jwt_jwks_min_refresh": WINDOW, "jwt_jwks_timeout": 0.2}

    async def test_a_provider_that_does_not_answer_is_503(
        self, api: Api, provider: Provider
    ) -> None:
        provider.outage = "hang"

        assert await answer(api, provider.token(provider.add_key())) == ("SERVICE_UNAVAILABLE", "2")
        assert provider.fetches == 1


class TestUnreachable:
    @pytest.fixture
    def settings_overrides(self, provider: Provider) -> dict[str, Any]:
        nobody = f"http://127.0.0.1:{free_port()}/.well-known/jwks.json"
        return {"jwt_jwks_url": nobody, "jwt_jwks_min_refresh": WINDOW}

    async def test_nothing_listening_is_503(self, api: Api, provider: Provider) -> None:
        token = provider.token(provider.add_key())
        assert await answer(api, token) == ("SERVICE_UNAVAILABLE", "2")


class TestWithdrawnKeys:
    async def test_a_set_older_than_its_max_age_is_refreshed_in_the_background(
        self, api: Api, provider: Provider, clock: Clock
    ) -> None:
        withdrawn, kept = provider.add_key(), provider.add_key("EdDSA")
        verified = provider.token(withdrawn)
        assert await code(api, verified) is None
        provider.published.remove(withdrawn)
        clock.advance(MAX_AGE)

        # The held key answers at once; the refresh runs behind it.
        assert await code(api, provider.token(withdrawn)) is None
        await asyncio.wait_for(provider.fetched.wait(), 10)
        # A lookup the set cannot answer waits for the refresh under way (no fetch of its own).
        assert await code(api, provider.token(kept, header_kid="unknown")) == "UNAUTHENTICATED"
        assert provider.fetches == 2

        assert await code(api, verified) == "UNAUTHENTICATED"
        assert await code(api, provider.token(kept)) is None


class TestLogs:
    @pytest.fixture
    def settings_overrides(self, settings_overrides: dict[str, Any]) -> dict[str, Any]:
        # Credentials and a query in the URL are the operator's: the log shows neither.
        scheme, rest = settings_overrides["jwt_jwks_url"].split("://")
        url = f"{scheme}://reader:hidden-password@{rest}?key=hidden-query"
        return settings_overrides | {"jwt_jwks_url": url}

    async def test_no_token_reaches_a_log_line(
        self, api: Api, provider: Provider, clock: Clock, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.DEBUG)
        kid = provider.add_key()
        good = provider.token(kid)
        forged = provider.token(provider.add_key(publish=False), header_kid=kid)
        expired = provider.token(kid, provider.claims(ttl=-10))
        hs256 = api.token(ALICE)
        assert await code(api, good) is None
        assert await code(api, forged) == "UNAUTHENTICATED"
        assert await code(api, expired) == "UNAUTHENTICATED"
        assert await code(api, hs256) is None
        provider.outage = "garbage"
        waiting = provider.token(provider.add_key())
        clock.advance(WINDOW)
        assert await code(api, waiting) == "SERVICE_UNAVAILABLE"

        formatter = JsonFormatter()
        # aiohttp's own access log is off in `notifgql serve`; here it would also hold the
        # test provider's side of each fetch, which is not notifgql's to log.
        records = [record for record in caplog.records if record.name != "aiohttp.access"]
        logged = "\n".join(formatter.format(record) for record in records)
        # The failed fetch is told, with where and why, but without the token.
        assert f"cannot fetch the JWKS from {provider.url}: the answer is not JSON" in logged
        assert "hidden-" not in logged
        assert '"status": 200' in logged or '"status":200' in logged  # access lines are here
        for token in (good, forged, expired, hs256, waiting):
            assert token not in logged
            assert token.rsplit(".", 1)[1] not in logged  # not even its signature


def test_keys_are_what_the_document_says() -> None:
    """The provider's JWK form of each key type is one PyJWT reads (keeps the fixture honest)."""
    provider = Provider()
    for algorithm in ("RS256", "ES256", "EdDSA"):
        kid = provider.add_key(algorithm)
        jwk = jwt.PyJWK(provider.jwks()["keys"][-1])
        assert (jwk.key_id, jwk.algorithm_name) == (kid, algorithm)
