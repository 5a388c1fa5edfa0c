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
from typing import Any
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
    end_of_day,
    error_boundary,
    parse_bool,
    parse_day,
    parse_instant,
    parse_int,
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


# This dialect's name of each filter field it offers, and how its value is read: the one
# place JSON:API's filter names live (errors are renamed through PARAMETERS below).
FILTERS: dict[str, tuple[str, Reader]] = {
    "filter[id]": ("ids", _id_list),
    "filter[before]": ("created_before", parse_instant),
    "filter[after]": ("created_after", parse_instant),
    "filter[date_before]": ("last_action_before", _day_start),
    "filter[date_after]": ("last_action_after", _day_end),
    "filter[type]": ("target_type", _stripped),
    "filter[project_id]": ("project_id", _as_given),
    "filter[dismissed]": ("dismissed", _boolean),
    "filter[important]": ("important", _boolean),
    "filter[read]": ("read", _boolean),
    "filter[mention]": ("mention", _boolean),
    "filter[snoozed]": ("snoozed", _boolean),
}
PAGE_NUMBER = "page[number]"
PAGE_SIZE = "page[size]"
# Neutral parameter name → this dialect's query parameter.
PARAMETERS: dict[str, str] = {
    **{f"{NotificationFilter.OWNER}.{field}": key for key, (field, _) in FILTERS.items()},
    "page": PAGE_NUMBER,
    "page_size": PAGE_SIZE,
}


def add_routes(app: web.Application) -> None:
    """Mount the dialect and its error format."""
    app.middlewares.append(error_boundary((BASE,), render_error, PARAMETERS))
    app.router.add_get(BASE, list_notifications)
    app.router.add_get(BASE + "/{id}", show_notification)
    app.router.add_patch(BASE + "/{id}/read", _change(commands.mark_read))
    app.router.add_patch(BASE + "/{id}/dismiss", _change(commands.dismiss))
    app.router.add_patch(BASE + "/{id}/undismiss", _change(commands.undismiss))


async def list_notifications(request: web.Request) -> web.Response:
    """GET the viewer's notifications, filtered and page-numbered."""
    who = await viewer(request)
    spec = parse_filter(request)
    number = parse_int(request.query.get(PAGE_NUMBER, "1"), "page", low=1, high=MAX_PAGE_NUMBER)
    size = parse_int(
        request.query.get(PAGE_SIZE, str(DEFAULT_PAGE_SIZE)), "page_size", low=1, high=MAX_PAGE_SIZE
    )
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
        field, read = FILTERS[key]
        values[field] = read(value, f"{NotificationFilter.OWNER}.{field}", tz)
    return NotificationFilter.from_client(values)


def resource(row: Record, tz: ZoneInfo) -> dict[str, Any]:
    """A notification as a JSON:API resource object."""
    return {
        "id": str(row.id),
        "type": "notifications",
        "attributes": {
            "target_id": row.target_id,
            "target_type": row.target_type,
            "target_title": row.target_title,
            "parent_id": row.parent_id,
            "parent_type": row.parent_type,
            "parent_title": row.parent_title,
            "title": row.title,
            "read": row.read_at is not None,
            "dismissed": row.dismissed_at is not None,
            "new_activities_count": row.new_activities_count,
            "excerpt": row.excerpt,
            "last_action_at": timestamp(row.last_action_at, tz),
            "first_unread_activity_id": row.first_unread_activity_id,
            "changeset": row.changeset,
            "important": row.important,
            "mention": row.mention,
            "target_label": row.target_label,
            "made_by_automation": row.made_by_automation,
            "root_id": row.root_id,
            "root_type": row.root_type,
        },
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
