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
from notifgql.ids import opaque_id_problem

Role = Literal["user", "service"]
ALGORITHM = "HS256"
# How far ahead of ours an issuer's clock may run: nbf and iat up to this many seconds in
# the future are accepted. exp is exact, here and on long-lived connections.
CLOCK_SKEW_SECONDS = 30


@dataclass(frozen=True, slots=True)
class Viewer:
    """The caller of one request: whose inbox, in which organization, in which role."""

    # Both exactly as the token names them (see notifgql.ids).
    subject: str
    organization_id: str
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
    def recipient_id(self) -> str:
        """The inbox owner's id; FORBIDDEN for a token without an inbox."""
        return self.require_inbox().subject

    def require_service(self) -> None:
        """Refuse unless the token is a service token."""
        if self.role != "service":
            raise Forbidden("This operation needs a service token")


def issue_token(
    secret: str,
    *,
    subject: str,
    organization_id: str,
    role: Role = "user",
    ttl_seconds: int | None = None,
) -> str:
    """Sign a token for ``subject`` in ``organization_id``; both must be valid ids."""
    for claim, value in (("sub", subject), ("org", organization_id)):
        problem = opaque_id_problem(value)
        if problem is not None:
            raise ValueError(f"the {claim} claim {problem}")
    now = int(time.time())
    claims: dict[str, object] = {"sub": subject, "org": organization_id, "role": role}
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
    return viewer_from_claims(
        id_text(claims["sub"], "sub"), id_text(claims["org"], "org"), role, claims.get("exp")
    )


def id_text(value: object, claim: str) -> str:
    """The id a claim's value names: a string as it is; UNAUTHENTICATED for anything else."""
    # An integer (tokens issued while ids were numbers) names its decimal text, which is
    # what the stored integer ids became.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise Unauthenticated(f"The token's {claim} claim is not an id")
    return value


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
    for claim, value in zip(claim_names, (subject, organization), strict=True):
        problem = opaque_id_problem(value)
        if problem is not None:
            raise Unauthenticated(f"The token's {claim} claim {problem}")
    return Viewer(
        subject=subject,
        organization_id=organization,
        role=role,
        expires_at=None if expires_at is None else float(expires_at),
    )
