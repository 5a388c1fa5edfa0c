"""The one way every door turns a bearer token into a viewer.

HS256 tokens are verified with ``NOTIFGQL_JWT_SECRET``; with ``NOTIFGQL_JWT_JWKS_URL``, tokens
signed with the identity provider's keys too. The verifier is chosen by the token header's
``alg`` (the key, then, by its ``kid``), never by trying keys: an HS256 token goes to the
secret alone, whatever key signed it, and any other algorithm to the provider's keys alone.
"""

from __future__ import annotations

import binascii
from functools import lru_cache

import orjson
from jwt.utils import base64url_decode

from notifgql import auth
from notifgql.auth import Viewer
from notifgql.errors import Unauthenticated
from notifgql.jwks import KeySet
from notifgql.oidc import IdentityProvider
from notifgql.settings import Settings


class Authenticator:
    """Verifies bearer tokens for every door: GraphQL, both REST dialects, WebSocket."""

    def __init__(self, secret: str, provider: IdentityProvider | None = None) -> None:
        self.secret = secret
        self.provider = provider

    async def viewer(self, token: str) -> Viewer:
        """The viewer ``token`` names; UNAUTHENTICATED, or SERVICE_UNAVAILABLE when the
        provider's keys that it needs cannot be fetched."""
        if self.provider is None:
            return auth.decode_token(self.secret, token)
        if not token.isascii():
            raise Unauthenticated("The token is invalid")
        algorithm, kid = _header(token.partition(".")[0])
        if algorithm == auth.ALGORITHM:
            return auth.decode_token(self.secret, token)
        return await self.provider.viewer(token, algorithm, kid)

    async def viewer_from_header(self, authorization: str | None) -> Viewer:
        """The viewer of an ``Authorization: Bearer <token>`` header."""
        return await self.viewer(auth.bearer_token(authorization))

    async def open(self) -> None:
        """Get ready to fetch the provider's keys."""
        if self.provider is not None:
            await self.provider.keys.open()

    async def close(self) -> None:
        """Stop fetching the provider's keys."""
        if self.provider is not None:
            await self.provider.keys.close()


def create_authenticator(settings: Settings) -> Authenticator:
    """The authenticator ``settings`` describe."""
    if settings.jwt_jwks_url is None:
        return Authenticator(settings.jwt_secret)
    keys = KeySet(
        settings.jwt_jwks_url,
        min_refresh=settings.jwt_jwks_min_refresh,
        timeout=settings.jwt_jwks_timeout,
    )
    provider = IdentityProvider(
        keys,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        subject_claim=settings.jwt_subject_claim,
        organization_claim=settings.jwt_organization_claim,
        default_organization=settings.default_organization,
        service_scope=settings.jwt_service_scope,
    )
    return Authenticator(settings.jwt_secret, provider)


@lru_cache(maxsize=256)
def _header(segment: str) -> tuple[str, str | None]:
    """The ``alg`` and ``kid`` of a token's header segment (one issuer sends few distinct)."""
    try:
        header = orjson.loads(base64url_decode(segment))
    except (binascii.Error, ValueError):
        raise Unauthenticated("The token is invalid") from None
    if not isinstance(header, dict) or not isinstance(header.get("alg"), str):
        raise Unauthenticated("The token is invalid")
    kid = header.get("kid")
    return header["alg"], kid if isinstance(kid, str) else None
