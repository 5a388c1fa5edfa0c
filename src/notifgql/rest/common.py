"""What both REST dialects share: the viewer, query-value parsing, and the error boundary."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from aiohttp import web
from aiohttp.typedefs import Middleware

from notifgql import appkeys
from notifgql.auth import Viewer
from notifgql.errors import (
    RETRY_AFTER_SECONDS,
    BadUserInput,
    ClientGone,
    NotifGqlError,
    ServiceUnavailable,
    Unauthenticated,
)

log = logging.getLogger("notifgql.rest")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
ErrorRenderer = Callable[[int, str, str, str | None], web.Response]

_TRUE = {"true", "1"}
_FALSE = {"false", "0"}


async def viewer(request: web.Request) -> Viewer:
    """The caller, from ``Authorization: Bearer`` or the older ``X-Auth-Token`` header."""
    authenticator = request.app[appkeys.AUTHENTICATOR]
    if "Authorization" not in request.headers and (token := request.headers.get("X-Auth-Token")):
        return await authenticator.viewer(token.strip())
    return await authenticator.viewer_from_header(request.headers.get("Authorization"))


def zone(request: web.Request) -> ZoneInfo:
    """The time zone REST timestamps and day filters use."""
    return ZoneInfo(request.app[appkeys.SETTINGS].rest_timezone)


def parse_bool(
    value: str, parameter: str, accepted: tuple[set[str], set[str]] = (_TRUE, _FALSE)
) -> bool:
    """A boolean query value; anything else is a 400 naming the (neutral) parameter."""
    truthy, falsy = accepted
    lowered = value.strip().lower()
    if lowered in truthy:
        return True
    if lowered in falsy:
        return False
    allowed = "/".join(sorted(truthy | falsy))
    raise BadUserInput.about(parameter, f"must be one of {allowed}, not {value!r}")


def parse_int(value: str, parameter: str, *, low: int, high: int) -> int:
    """An integer query value within [low, high]."""
    text = value.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 12 or not low <= int(text) <= high:
        raise BadUserInput.about(
            parameter, f"must be an integer from {low} to {high}, not {value!r}"
        )
    return int(text)


def parse_day(value: str, parameter: str) -> date:
    """A calendar day, YYYY-MM-DD."""
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise BadUserInput.about(parameter, f"must be a date (YYYY-MM-DD), not {value!r}") from None


def parse_instant(value: str, parameter: str, tz: ZoneInfo) -> datetime:
    """A date-time (ISO 8601), or a day meaning its first instant in ``tz``."""
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise BadUserInput.about(
            parameter, f"must be an ISO 8601 date or date-time, not {value!r}"
        ) from None
    if len(text) == 10:
        return start_of_day(parsed.date(), tz)
    return within_range(parsed if parsed.tzinfo else parsed.replace(tzinfo=tz))


def start_of_day(day: date, tz: ZoneInfo) -> datetime:
    """The first instant of ``day`` in ``tz``, within the range of representable times."""
    return within_range(datetime.combine(day, time.min, tzinfo=tz))


def end_of_day(day: date, tz: ZoneInfo) -> datetime:
    """The last representable instant of ``day`` in ``tz`` (filters' bounds are exclusive)."""
    if day == date.max:
        return within_range(datetime.combine(day, time.max, tzinfo=tz))
    return within_range(start_of_day(day + timedelta(days=1), tz) - timedelta(microseconds=1))


_EARLIEST = datetime.min.replace(tzinfo=UTC)
_LATEST = datetime.max.replace(tzinfo=UTC)


def within_range(value: datetime) -> datetime:
    """``value`` in UTC, or the first or last representable instant where it lies beyond.

    Day 1 of year 1 in a zone east of UTC begins before the first instant Python can
    represent in UTC, and 9999-12-31 west of UTC ends after the last: as filter bounds,
    the nearest representable instant selects exactly the same notifications.
    """
    try:
        return value.astimezone(UTC)
    except OverflowError:
        return _EARLIEST if value.year == 1 else _LATEST


def error_boundary(
    prefixes: tuple[str, ...], render: ErrorRenderer, names: Mapping[str, str]
) -> Middleware:
    """A middleware that renders every failure under ``prefixes`` in one dialect's format,
    naming parameters as ``names`` (neutral name → the dialect's) says."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith(prefixes):
            return await handler(request)
        try:
            return await handler(request)
        except Unauthenticated as error:
            response = render(error.status, error.code, *error.named(names))
            # RFC 9110 §15.5.2: a 401 carries the challenge the client should answer.
            response.headers["WWW-Authenticate"] = 'Bearer realm="notifgql"'
            return response
        except NotifGqlError as error:
            response = render(error.status, error.code, *error.named(names))
            if error.status == ServiceUnavailable.status:
                response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
            return response
        except web.HTTPException as error:
            if error.status < 400:
                raise
            response = render(
                error.status, error.reason.upper().replace(" ", "_"), error.reason, None
            )
            # A 405's Allow (RFC 9110 §15.5.6) and any other header the error carries.
            for name in ("Allow", "Retry-After"):
                if name in error.headers:
                    response.headers[name] = error.headers[name]
            return response
        except ClientGone:
            raise  # nobody to render an error for; the request middleware records it
        except Exception:
            log.exception("unexpected error in %s %s", request.method, request.path)
            return render(500, "INTERNAL_SERVER_ERROR", "Internal server error", None)

    return middleware


# A JSON Schema (2020-12, as OpenAPI 3.1 uses it).
Schema = dict[str, Any]


def nullable(schema: Schema) -> Schema:
    """``schema`` or null."""
    return {"anyOf": [schema, {"type": "null"}]}


def closed(properties: Mapping[str, Schema], *, optional: tuple[str, ...] = ()) -> Schema:
    """An object with exactly these properties: each one required unless ``optional``."""
    return {
        "type": "object",
        "properties": dict(properties),
        "required": [name for name in properties if name not in optional],
        "additionalProperties": False,
    }


class IntParameter(NamedTuple):
    """An integer query parameter: its neutral name (errors), bounds and default."""

    neutral: str
    low: int
    high: int
    default: int
    description: str

    def read(self, request: web.Request, key: str) -> int:
        """The value ``key`` carries in ``request``, or the default."""
        return parse_int(
            request.query.get(key, str(self.default)), self.neutral, low=self.low, high=self.high
        )

    def schema(self) -> Schema:
        """What the parameter accepts."""
        return {
            "type": "integer",
            "minimum": self.low,
            "maximum": self.high,
            "default": self.default,
        }


def mount(app: web.Application, operations: tuple[Operation, ...]) -> None:
    """Route each operation to its handler (a GET answers HEAD too, as aiohttp's add_get)."""
    for operation in operations:
        if operation.method == "GET":
            app.router.add_get(operation.path, operation.handler)
        else:
            app.router.add_route(operation.method, operation.path, operation.handler)


class Operation(NamedTuple):
    """One route of a dialect: what it mounts, and what its OpenAPI document says of it.

    ``query`` names the query parameters it reads (described by the dialect's tables),
    ``answer`` the component schema of its success body (None: no body), ``body`` the
    component schema of its request body, ``errors`` the error statuses it answers.
    """

    method: str
    path: str
    handler: Handler
    operation_id: str
    summary: str
    status: int
    answer: str | None
    errors: tuple[int, ...]
    query: tuple[str, ...] = ()
    body: str | None = None
