"""The JSON:API dialect at ``/api/v2/notifications``, over the domain layer.

Documents keep the older API's exact shape: attribute names and order, string ids,
the ``organization`` / ``actor`` / ``owner`` relationships, ``links`` whose query strings are
sorted and percent-encoded as its Rails server wrote them, and its ``meta`` block,
including ``total_pages: 0`` and a last link to page 0 when nothing matches.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, NamedTuple
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import orjson
from aiohttp import web

from notifgql import appkeys
from notifgql.auth import Viewer
from notifgql.errors import BadUserInput, NotFound
from notifgql.ids import parse_id
from notifgql.notifications import commands, queries
from notifgql.notifications.filters import NotificationFilter
from notifgql.notifications.limits import DEFAULT_PAGE_SIZE, MAX_PAGE_NUMBER, MAX_PAGE_SIZE
from notifgql.notifications.numbered_pages import read_numbered_page
from notifgql.notifications.queries import Record
from notifgql.notifications.unit_of_work import UnitOfWork, in_transaction
from notifgql.rest.common import (
    IntParameter,
    Operation,
    Schema,
    closed,
    end_of_day,
    error_boundary,
    mount,
    nullable,
    parse_bool,
    parse_day,
    parse_instant,
    start_of_day,
    viewer,
    zone,
)

BASE = "/api/v2/notifications"
CONTENT_TYPE = "application/vnd.api+json; charset=utf-8"
# One reading of a query value, given the neutral name errors are to carry and the zone.
Reader = Callable[[str, str, ZoneInfo], Any]


def _boolean(value: str, parameter: str, _tz: ZoneInfo) -> bool:
    return parse_bool(value, parameter)


def _id_list(value: str, _parameter: str, _tz: ZoneInfo) -> list[str]:
    # Blank entries are skipped; the domain parses (and refuses) the rest.
    return [part for part in value.split(",") if part.strip()]


def _as_given(value: str, _parameter: str, _tz: ZoneInfo) -> str:
    return value


def _stripped(value: str, _parameter: str, _tz: ZoneInfo) -> str:
    return value.strip()


def _day_start(value: str, parameter: str, tz: ZoneInfo) -> datetime:
    return start_of_day(parse_day(value, parameter), tz)


def _day_end(value: str, parameter: str, tz: ZoneInfo) -> datetime:
    return end_of_day(parse_day(value, parameter), tz)


_BOOLEAN: Schema = {"type": "boolean", "description": "true or false (also 1 or 0)"}
_DAY: Schema = {"type": "string", "format": "date", "examples": ["2026-03-01"]}
_INSTANT: Schema = {
    "type": "string",
    "examples": ["2026-03-01T12:00:00Z", "2026-03-01"],
    "description": "an ISO 8601 date-time (one without an offset is in the dialect's time "
    "zone), or a date, meaning its first instant",
}


class Filter(NamedTuple):
    """One ``filter[...]`` parameter: the domain field it sets, how its value is read, and
    what the dialect's OpenAPI document says it accepts."""

    field: str
    read: Reader
    schema: Schema
    description: str


# This dialect's name of each filter field it offers, and how its value is read: the one
# place JSON:API's filter names live (errors are renamed through PARAMETERS below).
FILTERS: dict[str, Filter] = {
    "filter[id]": Filter(
        "ids",
        _id_list,
        {"type": "string", "examples": ["17,42"]},
        "Only these notification ids, comma-separated.",
    ),
    "filter[before]": Filter(
        "created_before", parse_instant, _INSTANT, "Only notifications created before this."
    ),
    "filter[after]": Filter(
        "created_after", parse_instant, _INSTANT, "Only notifications created after this."
    ),
    "filter[date_before]": Filter(
        "last_action_before", _day_start, _DAY, "Last action before this day, in the zone."
    ),
    "filter[date_after]": Filter(
        "last_action_after", _day_end, _DAY, "Last action after this day, in the zone."
    ),
    "filter[type]": Filter(
        "target_type",
        _stripped,
        {"type": "string", "examples": ["Task"]},
        "The target type, case-insensitive.",
    ),
    "filter[project_id]": Filter(
        "project_id",
        _as_given,
        {"type": "string", "examples": ["7"]},
        "Only notifications of this project.",
    ),
    "filter[dismissed]": Filter("dismissed", _boolean, _BOOLEAN, "Dismissed ones, or not."),
    "filter[important]": Filter("important", _boolean, _BOOLEAN, "Important ones, or not."),
    "filter[read]": Filter("read", _boolean, _BOOLEAN, "Read ones, or unread ones."),
    "filter[mention]": Filter("mention", _boolean, _BOOLEAN, "Mentions of the viewer, or not."),
    "filter[snoozed]": Filter(
        "snoozed", _boolean, _BOOLEAN, "Snoozed ones are listed only with true."
    ),
}
PAGE_NUMBER = "page[number]"
PAGE_SIZE = "page[size]"
PAGING: dict[str, IntParameter] = {
    PAGE_NUMBER: IntParameter("page", 1, MAX_PAGE_NUMBER, 1, "The page to answer."),
    PAGE_SIZE: IntParameter(
        "page_size", 1, MAX_PAGE_SIZE, DEFAULT_PAGE_SIZE, "Notifications per page."
    ),
}
# Neutral parameter name → this dialect's query parameter.
PARAMETERS: dict[str, str] = {
    **{f"{NotificationFilter.OWNER}.{spec.field}": key for key, spec in FILTERS.items()},
    **{spec.neutral: key for key, spec in PAGING.items()},
}


def add_routes(app: web.Application) -> None:
    """Mount the dialect and its error format."""
    app.middlewares.append(error_boundary((BASE,), render_error, PARAMETERS))
    mount(app, OPERATIONS)


async def list_notifications(request: web.Request) -> web.Response:
    """GET the viewer's notifications, filtered and page-numbered."""
    who = await viewer(request)
    spec = parse_filter(request)
    number = PAGING[PAGE_NUMBER].read(request, PAGE_NUMBER)
    size = PAGING[PAGE_SIZE].read(request, PAGE_SIZE)
    page = await read_numbered_page(request.app[appkeys.DATABASE], who, spec, number, size)
    tz = zone(request)
    document = {
        "data": [resource(row, tz) for row in page.rows],
        "links": links(request, number, size, page.pages),
        "meta": {
            "current_page": number,
            "total_pages": page.pages,
            "total_count": page.total,
            "page_size": size,
            "max_page_size": MAX_PAGE_SIZE,
        },
    }
    return respond(document)


async def show_notification(request: web.Request) -> web.Response:
    """GET one of the viewer's notifications."""
    who = await viewer(request)
    notification_id = _path_id(request)
    async with request.app[appkeys.DATABASE].reader() as conn:
        row = await queries.get_notification(conn, who, notification_id)
    if row is None:
        raise NotFound(f"Notification {request.match_info['id']} not found")
    return respond({"data": resource(row, zone(request)), "meta": {}})


Change = Callable[[UnitOfWork, Viewer, int], Awaitable[Record]]


def _change(change: Change) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handler(request: web.Request) -> web.Response:
        who = await viewer(request)
        notification_id = _path_id(request)
        app = request.app
        row = await in_transaction(
            app[appkeys.DATABASE],
            app[appkeys.BROKER],
            lambda work: change(work, who, notification_id),
        )
        return respond({"data": resource(row, zone(request)), "meta": {}})

    return handler


def _path_id(request: web.Request) -> int:
    notification_id = parse_id(request.match_info["id"])
    if notification_id is None:
        raise NotFound(f"Notification {request.match_info['id']} not found")
    return notification_id


def parse_filter(request: web.Request) -> NotificationFilter:
    """The domain filter the ``filter[...]`` parameters ask for."""
    tz = zone(request)
    values: dict[str, Any] = {}
    for key, value in request.query.items():
        if not key.startswith("filter["):
            continue
        if key not in FILTERS:
            # No domain field to name: the parameter is this dialect's alone.
            raise BadUserInput(f"Unknown filter {key}", parameter=key)
        field = FILTERS[key].field
        values[field] = FILTERS[key].read(value, f"{NotificationFilter.OWNER}.{field}", tz)
    return NotificationFilter.from_client(values)


class Attribute(NamedTuple):
    """One attribute of a notification resource: how it is read from the row, and its schema."""

    read: Callable[[Record, ZoneInfo], Any]
    schema: Schema


_TEXT: Schema = {"type": "string"}
_NUMBER: Schema = {"type": "integer"}
_FLAG: Schema = {"type": "boolean"}
_TIME: Schema = {"type": "string", "format": "date-time"}
# The older API's attributes, in its order: the one place they are named.
ATTRIBUTES: dict[str, Attribute] = {
    "target_id": Attribute(lambda row, _tz: row.target_id, nullable(_NUMBER)),
    "target_type": Attribute(lambda row, _tz: row.target_type, nullable(_TEXT)),
    "target_title": Attribute(lambda row, _tz: row.target_title, nullable(_TEXT)),
    "parent_id": Attribute(lambda row, _tz: row.parent_id, nullable(_NUMBER)),
    "parent_type": Attribute(lambda row, _tz: row.parent_type, nullable(_TEXT)),
    "parent_title": Attribute(lambda row, _tz: row.parent_title, nullable(_TEXT)),
    "title": Attribute(lambda row, _tz: row.title, _TEXT),
    "read": Attribute(lambda row, _tz: row.read_at is not None, _FLAG),
    "dismissed": Attribute(lambda row, _tz: row.dismissed_at is not None, _FLAG),
    "new_activities_count": Attribute(lambda row, _tz: row.new_activities_count, _NUMBER),
    "excerpt": Attribute(lambda row, _tz: row.excerpt, _TEXT),
    "last_action_at": Attribute(lambda row, tz: timestamp(row.last_action_at, tz), nullable(_TIME)),
    "first_unread_activity_id": Attribute(
        lambda row, _tz: row.first_unread_activity_id, nullable(_NUMBER)
    ),
    "changeset": Attribute(
        lambda row, _tz: row.changeset, {"description": "any JSON the publisher sent"}
    ),
    "important": Attribute(lambda row, _tz: row.important, _FLAG),
    "mention": Attribute(lambda row, _tz: row.mention, _FLAG),
    "target_label": Attribute(lambda row, _tz: row.target_label, nullable(_TEXT)),
    "made_by_automation": Attribute(lambda row, _tz: row.made_by_automation, _FLAG),
    "root_id": Attribute(lambda row, _tz: row.root_id, nullable(_NUMBER)),
    "root_type": Attribute(lambda row, _tz: row.root_type, nullable(_TEXT)),
}


def _linkage(kind: str) -> Schema:
    return closed({"data": closed({"type": {"const": kind}, "id": _TEXT})})


RESOURCE_SCHEMA: Schema = closed(
    {
        "id": _TEXT,
        "type": {"const": "notifications"},
        "attributes": closed({name: spec.schema for name, spec in ATTRIBUTES.items()}),
        "relationships": closed(
            {
                "organization": _linkage("organizations"),
                "actor": closed({"meta": closed({"included": {"const": False}})}),
                "owner": _linkage("organization_memberships"),
            }
        ),
    }
)


def resource(row: Record, tz: ZoneInfo) -> dict[str, Any]:
    """A notification as a JSON:API resource object (RESOURCE_SCHEMA describes it)."""
    return {
        "id": str(row.id),
        "type": "notifications",
        "attributes": {name: spec.read(row, tz) for name, spec in ATTRIBUTES.items()},
        "relationships": {
            "organization": {"data": {"type": "organizations", "id": row.organization_id}},
            "actor": {"meta": {"included": False}},
            "owner": {"data": {"type": "organization_memberships", "id": row.recipient_id}},
        },
    }


def timestamp(value: datetime | None, tz: ZoneInfo) -> str | None:
    """Milliseconds and the zone's offset, as Rails renders a time: ``…05:08:24.488+01:00``."""
    if value is None:
        return None
    try:
        local = value.astimezone(tz)
    except OverflowError:
        local = value.astimezone(UTC)  # year 1 or 9999 beyond the zone's reach: show it in UTC
    text = local.isoformat(timespec="milliseconds")
    return text[:-6] + "Z" if local.utcoffset() == UTC.utcoffset(None) else text


def links(request: web.Request, number: int, size: int, pages: int) -> dict[str, str]:
    """first / last (and prev / next where they exist) for this request."""
    kept = [(key, value) for key, value in request.query.items() if not key.startswith("page[")]
    base = public_base(request) + request.path

    def to(page: int) -> str:
        pairs = sorted([*kept, ("page[number]", str(page)), ("page[size]", str(size))])
        return f"{base}?{urlencode(pairs)}"

    result = {"first": to(1), "last": to(pages)}
    if number > 1:
        result["prev"] = to(min(number - 1, max(pages, 1)))
    if number < pages:
        result["next"] = to(number + 1)
    return result


# A Host header worth echoing: a DNS name or IP literal and an optional port, nothing else.
_HOST = re.compile(
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])"  # name or [IPv6]
    r"(?::\d{1,5})?"  # port
)


def public_base(request: web.Request) -> str:
    """Scheme and authority that links start with.

    NOTIFGQL_PUBLIC_URL when it is set: behind a proxy the request's Host is whatever the
    proxy or the client says. Otherwise the request's own Host if it is a plain host name,
    and no authority at all (links relative to the server) if it is anything else.
    """
    configured = request.app[appkeys.SETTINGS].public_url
    if configured:
        return configured
    host = request.headers.get("Host", "")
    if _HOST.fullmatch(host):
        return f"{request.scheme}://{host}"
    return ""


def respond(document: dict[str, Any], status: int = 200) -> web.Response:
    """A JSON:API response."""
    return web.Response(
        body=orjson.dumps(document), status=status, headers={"Content-Type": CONTENT_TYPE}
    )


_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Payload Too Large",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def render_error(status: int, code: str, detail: str, parameter: str | None) -> web.Response:
    """One JSON:API error object."""
    error: dict[str, Any] = {
        "status": str(status),
        "code": code,
        "title": _TITLES.get(status, "Error"),
        "detail": detail,
    }
    if parameter is not None and parameter.startswith(("filter[", "page[")):
        error["source"] = {"parameter": parameter}
    return respond({"errors": [error]}, status)


def error_schema(status: int) -> Schema:
    """The body of an error answered with ``status`` (render_error writes it)."""
    error = closed(
        {
            "status": {"const": str(status)},
            "code": _TEXT,
            "title": {"const": _TITLES.get(status, "Error")},
            "detail": _TEXT,
            "source": closed({"parameter": _TEXT}),
        },
        optional=("source",),
    )
    return closed({"errors": {"type": "array", "items": error, "minItems": 1, "maxItems": 1}})


_LINK: Schema = {"type": "string", "format": "uri-reference"}
# The component schemas of this dialect's documents, by name.
SCHEMAS: dict[str, Schema] = {
    "Notification": RESOURCE_SCHEMA,
    "NotificationList": closed(
        {
            "data": {"type": "array", "items": {"$ref": "#/components/schemas/Notification"}},
            "links": closed(
                {"first": _LINK, "last": _LINK, "prev": _LINK, "next": _LINK},
                optional=("prev", "next"),
            ),
            "meta": closed(
                {
                    "current_page": {"type": "integer", "minimum": 1},
                    "total_pages": {"type": "integer", "minimum": 0},
                    "total_count": {"type": "integer", "minimum": 0},
                    "page_size": {"type": "integer", "minimum": 1},
                    "max_page_size": {"const": MAX_PAGE_SIZE},
                }
            ),
        }
    ),
    "NotificationDocument": closed(
        {"data": {"$ref": "#/components/schemas/Notification"}, "meta": closed({})}
    ),
}
# Query parameters by name: the filters and the paging.
QUERY: dict[str, tuple[Schema, str]] = {
    **{key: (spec.schema, spec.description) for key, spec in FILTERS.items()},
    **{key: (spec.schema(), spec.description) for key, spec in PAGING.items()},
}
_ONE = BASE + "/{id}"
_UNAUTHORIZED = (401, 403, 503)
OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "GET",
        BASE,
        list_notifications,
        "listNotifications",
        "The viewer's notifications, filtered, newest activity first, by numbered pages.",
        200,
        "NotificationList",
        (400, *_UNAUTHORIZED),
        query=tuple(QUERY),
    ),
    Operation(
        "GET",
        _ONE,
        show_notification,
        "showNotification",
        "One of the viewer's notifications.",
        200,
        "NotificationDocument",
        (*_UNAUTHORIZED, 404),
    ),
    *(
        Operation(
            "PATCH",
            f"{_ONE}/{verb}",
            _change(change),
            f"{verb}Notification",
            summary,
            200,
            "NotificationDocument",
            (*_UNAUTHORIZED, 404),
        )
        for verb, change, summary in (
            ("read", commands.mark_read, "Mark one notification read; answers it."),
            ("dismiss", commands.dismiss, "Dismiss one notification; answers it."),
            ("undismiss", commands.undismiss, "Take a dismissal back; answers the notification."),
        )
    ),
)
