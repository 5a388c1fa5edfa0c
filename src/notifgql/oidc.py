"""Tokens of an OpenID Connect identity provider: verified with its keys, mapped to a viewer.

The token header's ``kid`` names the key and its ``alg`` must be the one that key is for
(an RS256 token cannot name an EC key). Issuer and audience are checked when configured;
``exp`` is required. The viewer's subject and organization come from configurable claims,
and its role from the token's scopes: the service scope makes it a service token, and the
token's own ``role`` claim, which the provider may let anyone set, counts for nothing.

A claim name is looked up whole first, so that namespaced claims such as
``https://example.com/org`` work as they are. When the token has no such claim, the name is
a path into nested objects, split at dots, where a step may itself contain dots when the
token has a claim named so (the longest such name wins): ``https://example.com/claims.org``
reads ``org`` inside the claim ``https://example.com/claims``.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import jwt

from notifgql.auth import CLOCK_SKEW_SECONDS, Viewer, id_text, unexpired, viewer_from_claims
from notifgql.errors import Unauthenticated
from notifgql.jwks import ALGORITHMS, KeySet

_ABSENT = object()


class IdentityProvider:
    """Verifies the provider's tokens and maps their claims to a viewer."""

    def __init__(
        self,
        keys: KeySet,
        *,
        issuer: str | None,
        audience: str | None,
        subject_claim: str,
        organization_claim: str,
        default_organization: str | None,
        service_scope: str | None,
    ) -> None:
        self.keys = keys
        self.issuer = issuer
        self.audience = audience
        self.subject_claim = subject_claim
        self.organization_claim = organization_claim
        self.default_organization = default_organization
        self.service_scope = service_scope
        # By token and key: a key the provider replaced is a new key, so its tokens verify
        # again; failures are not remembered.
        self._verified = lru_cache(maxsize=4096)(self._verify)

    async def viewer(self, token: str, algorithm: str, kid: str | None) -> Viewer:
        """The viewer of ``token``, whose header names ``algorithm`` and ``kid``."""
        if algorithm not in ALGORITHMS:
            raise Unauthenticated("The token's algorithm is not accepted")
        if kid is None:
            raise Unauthenticated("The token names no signing key (kid)")
        key = await self.keys.key(kid)
        if key is None:
            raise Unauthenticated("The token's signing key is unknown")
        if key.algorithm_name != algorithm:
            raise Unauthenticated("The token's algorithm is not the one of its signing key")
        return unexpired(self._verified(token, key))

    def _verify(self, token: str, key: jwt.PyJWK) -> Viewer:
        required = ["exp"]
        if self.issuer is not None:
            required.append("iss")
        if self.audience is not None:
            required.append("aud")
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[key.algorithm_name],
                issuer=self.issuer,
                audience=self.audience,
                leeway=CLOCK_SKEW_SECONDS,
                options={
                    "require": required,
                    "verify_aud": self.audience is not None,
                    "verify_sub": False,
                },
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("The token has expired") from None
        except jwt.InvalidIssuerError:
            raise Unauthenticated("The token's issuer is not accepted") from None
        except jwt.InvalidAudienceError:
            raise Unauthenticated("The token's audience is not accepted") from None
        except jwt.PyJWTError:
            raise Unauthenticated("The token is invalid") from None
        return self._mapped(claims)

    def _mapped(self, claims: Mapping[str, Any]) -> Viewer:
        subject = claim_text(claims, self.subject_claim)
        if subject is None:
            raise Unauthenticated(f"The token has no {self.subject_claim} claim")
        organization = claim_text(claims, self.organization_claim)
        if organization is None:
            organization = self.default_organization
        if organization is None:
            raise Unauthenticated(f"The token has no {self.organization_claim} claim")
        service = self.service_scope is not None and self.service_scope in scopes(claims)
        return viewer_from_claims(
            subject,
            organization,
            "service" if service else "user",
            float(claims["exp"]),
            claim_names=(self.subject_claim, self.organization_claim),
        )


def claim(claims: Mapping[str, Any], name: str) -> Any:
    """The value ``name`` addresses in ``claims`` (see the module docstring), or ``_ABSENT``."""
    if name in claims:
        return claims[name]
    end = len(name)
    while (end := name.rfind(".", 0, end)) > 0:
        inner = claims.get(name[:end])
        if isinstance(inner, Mapping):
            found = claim(inner, name[end + 1 :])
            if found is not _ABSENT:
                return found
    return _ABSENT


def claim_text(claims: Mapping[str, Any], name: str) -> str | None:
    """The string an id claim holds, None when the token has no such claim.

    A list of exactly one value counts as that value (some providers list the organizations
    of a user); the value is then read as every token's id claims are (``auth.id_text``).
    """
    value = claim(claims, name)
    if value is _ABSENT or value is None:
        return None
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    return id_text(value, name)


def scopes(claims: Mapping[str, Any]) -> set[str]:
    """The scopes a token grants: ``scope`` (space-separated) and ``scp`` (string or list)."""
    granted: set[str] = set()
    for name in ("scope", "scp"):
        value = claims.get(name)
        if isinstance(value, str):
            granted.update(value.split())
        elif isinstance(value, list):
            granted.update(item for item in value if isinstance(item, str))
    return granted
