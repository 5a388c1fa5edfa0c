"""An identity provider's signing keys: its JWKS document, fetched over HTTP and kept.

Keys are found by the ``kid`` a token's header names. The set is fetched at first need. A
kid it lacks fetches it again (the provider has rotated its keys), and so does a set held
longer than ``MAX_AGE`` (the provider may have withdrawn a key), the latter in the
background. Either happens at most once per ``min_refresh`` seconds, counting failed
fetches: tokens naming made-up kids, or a provider that is down, must not turn every request
into a request to the provider. Concurrent callers wait for one shared fetch.

A fetch that fails (no answer in time, an error status, a document that holds no usable key)
keeps the keys already held, so the tokens they sign keep verifying; a token that needs a
key not held is answered SERVICE_UNAVAILABLE until a fetch succeeds: we cannot tell whether
its key exists.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import aiohttp
import jwt
import orjson

from notifgql.errors import ServiceUnavailable

log = logging.getLogger("notifgql.auth")

# The algorithms whose keys a JWKS may hold for us; the token header's alg must match its key.
ALGORITHMS = frozenset({"RS256", "ES256", "EdDSA"})
# A held key set is fetched again, in the background, once it is this old (seconds).
MAX_AGE = 300.0
# Real key sets are a few KiB; anything far larger is not one.
MAX_DOCUMENT_BYTES = 1024 * 1024


class FetchFailed(Exception):
    """One fetch of the key set went wrong; the message says how (no token, no secret)."""


class KeySet:
    """The signing keys published at one JWKS URL, fetched over aiohttp and kept by kid."""

    def __init__(
        self,
        url: str,
        *,
        min_refresh: float,
        timeout: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self.min_refresh = min_refresh
        self.timeout = timeout
        # Seconds, monotonic; a test may move it instead of waiting.
        self.clock = clock
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None  # of the newest set held
        self._attempted_at: float | None = None  # of the newest fetch, failed or not
        self._failing = False  # whether that fetch failed
        self._fetch: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None
        # Where the log says the keys come from: no credentials or query of the URL.
        parts = urlsplit(url)
        self._shown_url = f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{parts.path}"

    async def open(self) -> None:
        """Open the HTTP client; before the first lookup."""
        self._session = aiohttp.ClientSession(
            # A JWKS is public: no cookies to keep. Proxies come from the environment,
            # as for any HTTP client on the host.
            cookie_jar=aiohttp.DummyCookieJar(),
            trust_env=True,
            timeout=aiohttp.ClientTimeout(total=self.timeout),
            raise_for_status=False,
        )

    async def close(self) -> None:
        """Stop a fetch under way and close the HTTP client."""
        if self._fetch is not None:
            self._fetch.cancel()
            await asyncio.gather(self._fetch, return_exceptions=True)
        if self._session is not None:
            await self._session.close()

    async def key(self, kid: str) -> jwt.PyJWK | None:
        """The key ``kid`` names, or None when the provider has no such key.

        Raises ``ServiceUnavailable`` when the key is not held and the keys cannot be fetched.
        """
        key = self._keys.get(kid)
        if key is not None:
            if self._stale() and self._may_fetch():
                self._start_fetch()  # the held key serves meanwhile
            return key
        if self._fetch is None and self._may_fetch():
            self._start_fetch()
        if self._fetch is not None:
            # Shielded: a client that hangs up must not cancel the fetch others wait for.
            await asyncio.shield(self._fetch)
        if self._failing:
            raise ServiceUnavailable("The identity provider's signing keys cannot be fetched now")
        return self._keys.get(kid)

    def _stale(self) -> bool:
        return self._fetched_at is not None and self.clock() - self._fetched_at >= MAX_AGE

    def _may_fetch(self) -> bool:
        attempted = self._attempted_at
        return attempted is None or self.clock() - attempted >= self.min_refresh

    def _start_fetch(self) -> None:
        self._attempted_at = self.clock()
        task = asyncio.create_task(self._refresh())
        task.add_done_callback(self._fetched)
        self._fetch = task

    def _fetched(self, task: asyncio.Task[None]) -> None:
        if self._fetch is task:
            self._fetch = None

    async def _refresh(self) -> None:
        try:
            keys = await self._download()
        except FetchFailed as error:
            self._failing = True
            log.warning("cannot fetch the JWKS from %s: %s", self._shown_url, error)
            return
        except Exception:
            # Whatever else goes wrong is a failed fetch too, never an error of the request.
            self._failing = True
            log.exception("cannot fetch the JWKS from %s", self._shown_url)
            return
        self._keys, self._fetched_at, self._failing = keys, self.clock(), False

    async def _download(self) -> dict[str, jwt.PyJWK]:
        if self._session is None:
            raise FetchFailed("the HTTP client is not open")
        try:
            async with self._session.get(
                self.url, headers={"Accept": "application/json"}
            ) as response:
                if response.status != 200:
                    raise FetchFailed(f"HTTP {response.status}")
                body = bytearray()
                async for chunk in response.content.iter_chunked(64 * 1024):
                    body += chunk
                    if len(body) > MAX_DOCUMENT_BYTES:
                        raise FetchFailed(f"the answer is larger than {MAX_DOCUMENT_BYTES} bytes")
        except TimeoutError:
            raise FetchFailed(f"no answer within {self.timeout:g} s") from None
        except aiohttp.ClientError as error:
            raise FetchFailed(type(error).__name__) from None
        return usable_keys(bytes(body))


def usable_keys(body: bytes) -> dict[str, jwt.PyJWK]:
    """The public signature keys of a JWKS document that tokens can name, by kid.

    A key without a kid, meant for encryption, private, malformed or of an algorithm we do
    not accept is left out; a document that leaves nothing is no key set for us at all.
    """
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise FetchFailed("the answer is not JSON") from None
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise FetchFailed("the answer is not a JWKS (an object with a keys list)")
    keys: dict[str, jwt.PyJWK] = {}
    for entry in document["keys"]:
        if not (
            isinstance(entry, dict)
            and isinstance(entry.get("kid"), str)
            and entry.get("use", "sig") == "sig"
            and "d" not in entry
        ):
            continue
        try:
            key = jwt.PyJWK(entry)
        except Exception:  # noqa: S112 - the provider's document is foreign input: skip what fails
            continue
        if key.algorithm_name in ALGORITHMS:
            keys.setdefault(entry["kid"], key)
    if not keys:
        raise FetchFailed("the JWKS holds no RS256, ES256 or EdDSA signature key with a kid")
    return keys
