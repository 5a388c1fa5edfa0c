"""A local identity provider for the tests: real keys, a real JWKS endpoint, counted fetches."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt
from aiohttp import web
from aiohttp.test_utils import TestServer
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

ISSUER = "https://idp.example.test/"
AUDIENCE = "https://notifications.example.test"
SERVICE_SCOPE = "notifications:publish"
ALGORITHMS = ["RS256", "ES256", "EdDSA"]

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey


def new_private_key(algorithm: str) -> PrivateKey:
    """A fresh key pair for ``algorithm``."""
    if algorithm == "RS256":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if algorithm == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    if algorithm == "EdDSA":
        return ed25519.Ed25519PrivateKey.generate()
    raise ValueError(algorithm)


def public_jwk(key: PrivateKey, kid: str) -> dict[str, Any]:
    """The public half of ``key`` as a JWK, as providers publish it."""
    public = key.public_key()
    if isinstance(public, rsa.RSAPublicKey):
        jwk: dict[str, Any] = RSAAlgorithm.to_jwk(public, as_dict=True)
    elif isinstance(public, ec.EllipticCurvePublicKey):
        jwk = ECAlgorithm.to_jwk(public, as_dict=True)
    else:
        jwk = OKPAlgorithm.to_jwk(public, as_dict=True)
    return jwk | {"kid": kid, "use": "sig"}


def public_pem(key: PrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hand_made(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    """A JWT put together by hand, as an attacker would: any header, any signature."""
    head = b64(json.dumps(header).encode()) + "." + b64(json.dumps(claims).encode())
    return head + "." + b64(signature)


def hs256_with_key(header: dict[str, Any], claims: dict[str, Any], key: bytes) -> str:
    """An HS256 token whose HMAC key is ``key`` (bytes PyJWT itself refuses to use)."""
    head = b64(json.dumps(header).encode()) + "." + b64(json.dumps(claims).encode())
    return head + "." + b64(hmac.new(key, head.encode(), hashlib.sha256).digest())


@dataclass
class SigningKey:
    algorithm: str
    private: PrivateKey


class Provider:
    """Publishes its keys at ``url`` and signs tokens with them.

    ``outage`` makes the endpoint misbehave: ``"error"`` answers 503, ``"garbage"`` an HTML
    page, ``"hang"`` never answers. ``gate``, when set, holds every fetch until it opens.
    """

    def __init__(self) -> None:
        self.keys: dict[str, SigningKey] = {}
        self.published: list[str] = []
        self.fetches = 0
        self.outage: str | None = None
        self.gate: asyncio.Event | None = None
        self.fetched = asyncio.Event()
        self._never = asyncio.Event()
        app = web.Application()
        app.router.add_get("/.well-known/jwks.json", self._jwks)
        self.server = TestServer(app, host="127.0.0.1")

    @property
    def url(self) -> str:
        return str(self.server.make_url("/.well-known/jwks.json"))

    async def start(self) -> None:
        await self.server.start_server()

    async def close(self) -> None:
        self._never.set()
        if self.gate is not None:
            self.gate.set()
        await self.server.close()

    def add_key(self, algorithm: str = "RS256", *, publish: bool = True) -> str:
        """A new key pair; its kid. Unpublished keys sign tokens the JWKS does not vouch for."""
        kid = f"{algorithm.lower()}-{uuid.uuid4().hex[:8]}"
        self.keys[kid] = SigningKey(algorithm, new_private_key(algorithm))
        if publish:
            self.published.append(kid)
        return kid

    def jwks(self) -> dict[str, Any]:
        return {"keys": [public_jwk(self.keys[kid].private, kid) for kid in self.published]}

    def claims(
        self,
        subject: str = "1001",
        organization: str | None = "10",
        *,
        ttl: int = 300,
        **extra: Any,
    ) -> dict[str, Any]:
        """What the provider puts in an access token by default, with ``extra`` on top."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": subject,
            "iat": now,
            "exp": now + ttl,
        }
        if organization is not None:
            claims["org"] = organization
        return {**claims, **extra}

    def token(
        self,
        kid: str,
        claims: dict[str, Any] | None = None,
        *,
        algorithm: str | None = None,
        header_kid: str | None = None,
    ) -> str:
        """A token signed with key ``kid``; its header names ``header_kid`` (default: kid)."""
        key = self.keys[kid]
        return jwt.encode(
            self.claims() if claims is None else claims,
            key.private,
            algorithm=algorithm or key.algorithm,
            headers={"kid": header_kid or kid},
        )

    async def _jwks(self, _request: web.Request) -> web.StreamResponse:
        self.fetches += 1
        self.fetched.set()
        if self.gate is not None:
            await self.gate.wait()
        if self.outage == "error":
            return web.Response(status=503, text="upstream unavailable")
        if self.outage == "garbage":
            return web.Response(text="<html>We'll be right back</html>", content_type="text/html")
        if self.outage == "hang":
            await self._never.wait()
        return web.json_response(self.jwks())


class Clock:
    """A monotonic clock the test moves by hand, for the key set's refresh windows."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
