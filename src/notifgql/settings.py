"""Process settings, read from ``NOTIFGQL_*`` environment variables."""

from __future__ import annotations

import re
from typing import Literal, Self
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, SettingsConfigDict

from notifgql.hosts import is_loopback
from notifgql.ids import opaque_id_problem

DEV_JWT_SECRET = "notifgql-development-secret-change-me"  # noqa: S105 - refused in production
MIN_PRODUCTION_SECRET_LENGTH = 32
# What RFC 6749 allows in one scope token: printable ASCII but space, double quote, backslash.
_SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")
# The settings that only identity-provider tokens use; each needs NOTIFGQL_JWT_JWKS_URL.
PROVIDER_SETTINGS = (
    "jwt_issuer",
    "jwt_audience",
    "jwt_subject_claim",
    "jwt_organization_claim",
    "default_organization",
    "jwt_service_scope",
    "jwt_jwks_min_refresh",
    "jwt_jwks_timeout",
)


class Settings(BaseSettings):
    """Every setting of a notifgql process; see the README's settings table."""

    model_config = SettingsConfigDict(env_prefix="NOTIFGQL_", extra="ignore")

    env: Literal["development", "production"] = "development"
    database_url: str = "sqlite+aiosqlite:///notifgql.db"
    jwt_secret: str = DEV_JWT_SECRET
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    db_pool_size: int = Field(default=20, ge=1)
    db_timeout: float = Field(default=5.0, gt=0)
    auto_migrate: bool = True
    graphiql: bool = True
    introspection: bool = True
    rest_timezone: str = "UTC"
    log_level: str = "INFO"
    # Live delivery: None fans out through the database (LISTEN/NOTIFY on PostgreSQL, in
    # process on SQLite); a redis:// URL fans out through Redis pub/sub instead.
    broker_url: str | None = None
    broker_channel: str = Field(default="notifgql", pattern=r"^[A-Za-z0-9_.:-]{1,63}$")
    subscription_queue_size: int = Field(default=100, ge=1, le=100_000)
    # Live subscriptions one user may hold in one process, over all their connections.
    max_subscriptions_per_viewer: int = Field(default=100, ge=1)
    # Retention: read notifications are kept this many days after they were read (unread
    # ones are never purged for age). A century at most, so that "now - days" is a date.
    retention_days: int = Field(default=365, ge=1, le=36_500)
    # Seconds between two purges by a serving process; 0 leaves purging to `notifgql purge`.
    purge_interval_seconds: float = Field(default=3600, ge=0, le=366 * 86_400)
    # The change feed (inboxChanges) can tell what changed since a position this many days
    # old; an older one must sync from scratch (RESYNC_REQUIRED).
    change_history_days: int = Field(default=30, ge=1, le=36_500)

    # Request limits, checked before anything executes.
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    max_depth: int = Field(default=10, ge=1)
    max_aliases: int = Field(default=30, ge=0)
    max_fields: int = Field(default=2_000, ge=1)
    max_tokens: int = Field(default=5_000, ge=10)
    # Comments and whitespace are no tokens: the text's size is bounded on its own.
    max_query_bytes: int = Field(default=64 * 1024, ge=1024)
    # Estimated memory that parsed documents of authenticated callers may hold.
    document_cache_bytes: int = Field(default=32 * 1024 * 1024, ge=0)
    max_batch: int = Field(default=0, ge=0, le=100)
    # Automatic persisted queries: texts remembered by their SHA-256; 0 switches them off.
    persisted_queries: int = Field(default=1_000, ge=0, le=1_000_000)
    # Run the hot inbox queries from compiled plans instead of field by field.
    compiled_queries: bool = True
    # CORS: comma-separated origins allowed to call from a browser ("*" for any).
    cors_origins: str = ""
    cors_allow_credentials: bool = False
    # Where clients reach this server (scheme, host, optional path prefix): the base of the
    # links REST answers carry. Unset: the request's own Host, when it is a plain host name.
    public_url: str | None = None

    # Tokens of an OpenID Connect identity provider, verified with the keys it publishes.
    jwt_jwks_url: str | None = None
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    # Claim names; a name that the token lacks may be a dotted path into nested claims.
    jwt_subject_claim: str = Field(default="sub", min_length=1)
    jwt_organization_claim: str = Field(default="org", min_length=1)
    # The organization of provider tokens that name none (single-tenant apps).
    default_organization: str | None = None
    # A provider token whose scope (or scp) holds this scope is a service token.
    jwt_service_scope: str | None = None
    # An unknown kid fetches the key set again, at most once per this many seconds.
    jwt_jwks_min_refresh: float = Field(default=30.0, ge=0)
    jwt_jwks_timeout: float = Field(default=5.0, gt=0)

    @field_validator("database_url")
    @classmethod
    def _known_driver(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
        return value

    @field_validator("rest_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; use an IANA name") from None
        return value

    @field_validator("broker_url")
    @classmethod
    def _known_broker(cls, value: str | None) -> str | None:
        if not value:
            return None  # NOTIFGQL_BROKER_URL= (empty) means "unset", as for a shell default
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value

    @field_validator("public_url")
    @classmethod
    def _absolute_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        parsed = urlsplit(value)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValueError("must be an absolute http:// or https:// URL")
        if parsed.query or parsed.fragment:
            raise ValueError("must have no query or fragment")
        return value.rstrip("/")

    @field_validator("jwt_jwks_url")
    @classmethod
    def _jwks_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        parsed = urlsplit(value)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValueError("must be an absolute http:// or https:// URL")
        if parsed.fragment:
            raise ValueError("must have no fragment")
        return value

    @field_validator("jwt_issuer", "jwt_audience")
    @classmethod
    def _empty_is_unset(cls, value: str | None) -> str | None:
        return value or None

    @field_validator("jwt_service_scope")
    @classmethod
    def _one_scope(cls, value: str | None) -> str | None:
        if not value:
            return None
        if not _SCOPE_TOKEN.fullmatch(value):
            raise ValueError("must be one scope: printable ASCII, no space, quote or backslash")
        return value

    @field_validator("default_organization")
    @classmethod
    def _organization_id(cls, value: str | None) -> str | None:
        if not value:
            return None
        # Exactly as given, as the organization claims of tokens are.
        problem = opaque_id_problem(value)
        if problem is not None:
            raise ValueError(f"must be an organization id, and this one {problem}")
        return value

    @model_validator(mode="after")
    def _provider_settings_need_a_jwks_url(self) -> Self:
        # Otherwise an operator who sets an issuer or audience would believe it is checked.
        if self.jwt_jwks_url is None:
            for name in PROVIDER_SETTINGS:
                if name in self.model_fields_set and getattr(self, name) is not None:
                    raise PydanticCustomError(
                        "provider_setting",
                        f"NOTIFGQL_{name.upper()} applies to identity provider tokens only: "
                        "set NOTIFGQL_JWT_JWKS_URL as well",
                    )
        return self

    @property
    def is_sqlite(self) -> bool:
        """Whether the database is the embedded SQLite file."""
        return self.database_url.startswith("sqlite")

    def production_problems(self) -> list[str]:
        """Reasons this configuration must not serve production traffic."""
        problems = []
        if self.jwt_secret == DEV_JWT_SECRET:
            problems.append("NOTIFGQL_JWT_SECRET is not set (the development default is public)")
        elif len(self.jwt_secret) < MIN_PRODUCTION_SECRET_LENGTH:
            problems.append(
                f"NOTIFGQL_JWT_SECRET is shorter than {MIN_PRODUCTION_SECRET_LENGTH} characters"
            )
        if self.jwt_jwks_url is not None and not _private_transport(self.jwt_jwks_url):
            problems.append(
                "NOTIFGQL_JWT_JWKS_URL is not https:// (keys fetched in clear could be "
                "replaced on the way)"
            )
        return problems


def _private_transport(url: str) -> bool:
    """Whether fetching ``url`` cannot be read or changed on the network: https or loopback."""
    parsed = urlsplit(url)
    return parsed.scheme == "https" or is_loopback(parsed.hostname or "")
