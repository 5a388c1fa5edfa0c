"""Who is asking: the viewer a bearer token names, and the HS256 tokens the secret signs.

Tokens of an identity provider are verified in ``notifgql.oidc``; ``notifgql.tokens`` picks
the verifier for each token. Both end here, in ``viewer_from_claims``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import jwt

from notifgql.errors import Forbidden, Unauthenticated
from notifgql.ids import parse_id

Role = Literal["user", "service"]
ALGORITHM = "HS256"
# How far ahead of ours an issuer's clock may run: nbf and iat up to this many seconds in
# the future are accepted. exp is exact, here and on long-lived connections.
CLOCK_SKEW_SECONDS = 30


@dataclass(frozen=True, slots=True)
class Viewer:
    """The caller of one request: whose inbox, in which organization, in which role."""

    subject: str
    organization_id: int
    role: Role
    # The token's exp (Unix seconds), for connections that outlive one request.
    expires_at: float | None = None

    @property
    def has_inbox(self) -> bool:
        """Whether the caller owns an inbox: only user tokens do."""
        return self.role == "user"

    def require_inbox(self) -> Viewer:
        """The viewer itself when it owns an inbox; FORBIDDEN for a service token."""
        if not self.has_inbox:
            raise Forbidden("This operation needs a user token")
        return self

    @property
    def recipient_id(self) -> int:
        """The inbox owner's id; FORBIDDEN for a token without an inbox."""
        return int(self.require_inbox().subject)

    def require_service(self) -> None:
        """Refuse unless the token is a service token."""
        if self.role != "service":
            raise Forbidden("This operation needs a service token")


def issue_token(
    secret: str,
    *,
    subject: str,
    organization_id: int,
    role: Role = "user",
    ttl_seconds: int | None = None,
) -> str:
    """Sign a token for ``subject`` in ``organization_id``."""
    now = int(time.time())
    claims: dict[str, object] = {"sub": subject, "org": str(organization_id), "role": role}
    claims["iat"] = now
    if ttl_seconds is not None:
        claims["exp"] = now + ttl_seconds
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def bearer_token(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer <token>`` header."""
    if not authorization:
        raise Unauthenticated("Authentication required: send Authorization: Bearer <token>")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("The Authorization header must be 'Bearer <token>'")
    return token.strip()


def decode_token(secret: str, token: str) -> Viewer:
    """Verify the HS256 ``token`` and return its viewer, or raise ``Unauthenticated``.

    A client sends the same token with every request, so verified tokens are remembered
    (failures are not); only the expiry has to be checked again.
    """
    if not token.isascii():
        # A JWT is base64url and dots; anything else (even undecodable header bytes) is
        # simply not a token, and must not reach the decoder as text it cannot encode.
        raise Unauthenticated("The token is invalid")
    return unexpired(_verified(secret, token))


def unexpired(viewer: Viewer) -> Viewer:
    """``viewer`` while its token lasts; UNAUTHENTICATED once its exp has passed."""
    if viewer.expires_at is not None and viewer.expires_at <= time.time():
        raise Unauthenticated("The token has expired")
    return viewer


@lru_cache(maxsize=4096)
def _verified(secret: str, token: str) -> Viewer:
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            leeway=CLOCK_SKEW_SECONDS,
            options={"require": ["sub", "org"], "verify_sub": False},
        )
    except jwt.ExpiredSignatureError:
        raise Unauthenticated("The token has expired") from None
    except jwt.PyJWTError:
        raise Unauthenticated("The token is invalid") from None

    role = claims.get("role", "user")
    if role not in ("user", "service"):
        raise Unauthenticated("The token's role must be user or service")
    return viewer_from_claims(str(claims["sub"]), str(claims["org"]), role, claims.get("exp"))


def viewer_from_claims(
    subject: str,
    organization: str,
    role: Role,
    expires_at: float | None,
    *,
    claim_names: tuple[str, str] = ("sub", "org"),
) -> Viewer:
    """The viewer of a verified token; UNAUTHENTICATED when its ids cannot be ours.

    ``claim_names`` are the subject's and the organization's claims, for the messages.
    """
    subject_claim, organization_claim = claim_names
    organization_id = parse_id(organization)
    if organization_id is None:
        raise Unauthenticated(f"The token's {organization_claim} claim is not an organization id")
    if role == "user" and parse_id(subject) is None:
        raise Unauthenticated(f"The token's {subject_claim} claim is not a recipient id")
    return Viewer(
        subject=subject,
        organization_id=organization_id,
        role=role,
        expires_at=None if expires_at is None else float(expires_at),
    )
