"""The CRM dialect at ``/notifications``, over the domain layer."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, NamedTuple

import orjson
from aiohttp import web

from notifgql import appkeys
from notifgql.bodies import read_body
from notifgql.errors import BadUserInput
from notifgql.ids import parse_id
from notifgql.notifications import commands
from notifgql.notifications.filters import EVERYTHING, NotificationFilter
from notifgql.notifications.limits import (
    DEFAULT_CRM_PAGE_SIZE,
    MAX_CRM_OPERATIONS,
    MAX_PAGE_NUMBER,
    MAX_PAGE_SIZE,
)
from notifgql.notifications.numbered_pages import read_numbered_page
from notifgql.notifications.queries import Record
from notifgql.notifications.unit_of_work import UnitOfWork, in_transaction
from notifgql.rest.common import (
    IntParameter,
    Operation,
    Schema,
    closed,
    error_boundary,
    mount,
    nullable,
    parse_bool,
    viewer,
)

PATH = "/notifications"
_ZERO_ONE = ({"1"}, {"0"})
# This dialect's query parameter for each filter field it offers (all 0/1 flags), and
# what its OpenAPI document says of it.
FILTERS: dict[str, tuple[str, str]] = {
    "seen": ("seen", "1: only seen notifications; 0: only unseen ones."),
    "action_required": (
        "action_required",
        "1: only notifications that ask for an action; 0: only the others.",
    ),
}
PAGING: dict[str, IntParameter] = {
    "page": IntParameter("page", 1, MAX_PAGE_NUMBER, 1, "The page to answer."),
    "per_page": IntParameter(
        "page_size", 1, MAX_PAGE_SIZE, DEFAULT_CRM_PAGE_SIZE, "Notifications per page."
    ),
}
# Neutral parameter name → this dialect's: the one place CRM's names live.
PARAMETERS: dict[str, str] = {
    **{f"{NotificationFilter.OWNER}.{field}": key for key, (field, _) in FILTERS.items()},
    **{spec.neutral: key for key, spec in PAGING.items()},
    "ids": "operations",
}
_SEEN_PATH = re.compile(r"/(\*|[0-9]+)/seen")


def add_routes(app: web.Application) -> None:
    """Mount the dialect and its error format."""
    app.middlewares.append(error_boundary((PATH,), render_error, PARAMETERS))
    mount(app, OPERATIONS)


async def list_notifications(request: web.Request) -> web.Response:
    """GET ``{count, page, per_page, notifications}``; count is every match, not the page."""
    who = await viewer(request)
    query = request.query
    spec = NotificationFilter.from_client(
        {
            field: parse_bool(query[key], f"{NotificationFilter.OWNER}.{field}", _ZERO_ONE)
            for key, (field, _) in FILTERS.items()
            if key in query
        }
    )
    page = PAGING["page"].read(request, "page")
    per_page = PAGING["per_page"].read(request, "per_page")
    found = await read_numbered_page(request.app[appkeys.DATABASE], who, spec, page, per_page)
    body = {
        "count": found.total,
        "page": page,
        "per_page": per_page,
        "notifications": [item(row) for row in found.rows],
    }
    return web.Response(body=orjson.dumps(body), content_type="application/json")


async def patch_notifications(request: web.Request) -> web.Response:
    """Apply ``operations`` atomically: all of them, or (on any bad one) none."""
    who = await viewer(request)
    wildcard, ids = parse_operations(await _json_body(request))
    app = request.app

    async def apply(work: UnitOfWork) -> None:
        await commands.require_owned(work, who, ids)
        if wildcard:
            await commands.mark_all_seen(work, who, EVERYTHING)
        else:
            await commands.mark_seen(work, who, ids)

    await in_transaction(app[appkeys.DATABASE], app[appkeys.BROKER], apply)
    return web.Response(status=204)


async def _json_body(request: web.Request) -> Any:
    raw = await read_body(request)
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise BadUserInput("The body must be JSON", parameter="body") from None


def parse_operations(body: Any) -> tuple[bool, list[int]]:
    """Validate every operation before any is applied; returns (wildcard?, ids)."""
    if not isinstance(body, dict) or not isinstance(body.get("operations"), list):
        raise BadUserInput('The body must be {"operations": [...]}', parameter="operations")
    operations = body["operations"]
    if not operations:
        raise BadUserInput("operations must not be empty", parameter="operations")
    if len(operations) > MAX_CRM_OPERATIONS:
        raise BadUserInput(
            f"At most {MAX_CRM_OPERATIONS} operations at once", parameter="operations"
        )
    wildcard = False
    ids: list[int] = []
    for index, operation in enumerate(operations):
        where = f"operations[{index}]"
        if not isinstance(operation, dict):
            raise BadUserInput(f"{where} must be an object", parameter=where)
        if operation.get("op") != "add":
            raise BadUserInput(f'{where}.op must be "add"', parameter=f"{where}.op")
        path = operation.get("path")
        match = _SEEN_PATH.fullmatch(path) if isinstance(path, str) else None
        if match is None:
            raise BadUserInput(
                f'{where}.path must be "/*/seen" or "/<id>/seen"', parameter=f"{where}.path"
            )
        if "value" not in operation or operation["value"] is not None:
            raise BadUserInput(f"{where}.value must be null", parameter=f"{where}.value")
        target = match.group(1)
        if target == "*":
            wildcard = True
            continue
        notification_id = parse_id(target)
        if notification_id is None:
            raise BadUserInput(f"{where}.path names no notification", parameter=f"{where}.path")
        ids.append(notification_id)
    return wildcard, ids


class Field(NamedTuple):
    """One field of a CRM notification: how it is read from the row, and its schema."""

    read: Callable[[Record], Any]
    schema: Schema


_TEXT: Schema = {"type": "string"}
_TIME: Schema = {"type": "string", "format": "date-time"}
# A number when it reads back exactly in every JSON client, else the id's text.
_PERSON: Schema = closed({"id": {"type": ["integer", "string"]}})
# The older API's fields, in its order: the one place they are named.
FIELDS: dict[str, Field] = {
    "id": Field(lambda row: row.id, {"type": "integer"}),
    "title": Field(lambda row: row.title, _TEXT),
    "description": Field(lambda row: row.description, nullable(_TEXT)),
    "sender": Field(
        lambda row: None if row.actor_id is None else {"id": person_id(row.actor_id)},
        nullable(_PERSON),
    ),
    "receiver": Field(lambda row: {"id": person_id(row.recipient_id)}, _PERSON),
    "resource": Field(lambda row: row.resource, nullable(_TEXT)),
    "seen_at": Field(lambda row: w3c(row.seen_at), nullable(_TIME)),
    "created_at": Field(lambda row: w3c(row.created_at), _TIME),
    "reason": Field(lambda row: row.reason, nullable(_TEXT)),
}


def item(row: Record) -> dict[str, Any]:
    """A notification as the CRM dialect renders it."""
    return {name: spec.read(row) for name, spec in FIELDS.items()}


# The largest integer every JSON client reads back exactly: IEEE doubles (JavaScript's
# numbers) hold every integer up to 2**53 - 1 and no longer all of them beyond it.
MAX_SAFE_INTEGER = 2**53 - 1


def person_id(value: str) -> int | str:
    """A recipient's or actor's id as this dialect renders it.

    Its reference document shows ids as JSON numbers, so an id that is a number written
    the one canonical way (ASCII digits, no leading zero, at most 2**53 - 1) is rendered as
    that number: a client reads it back as exactly the same id. Any other id ("auth0|x",
    "007", a UUID, a larger number) is rendered as the string it is.
    """
    if (
        value.isascii()
        and value.isdigit()
        and len(value) <= 16
        and (value == "0" or not value.startswith("0"))
    ):
        number = int(value)
        if number <= MAX_SAFE_INTEGER:
            return number
    return value


def w3c(value: datetime | None) -> str | None:
    """W3C UTC at second precision: ``2014-07-20T22:55:29Z``."""
    if value is None:
        return None
    # Not strftime: its %Y writes year 1 as "1", not "0001", on glibc.
    return value.astimezone(UTC).replace(tzinfo=None, microsecond=0).isoformat() + "Z"


def render_error(status: int, code: str, message: str, parameter: str | None) -> web.Response:
    """The CRM's error body."""
    error: dict[str, Any] = {"status": status, "code": code, "message": message}
    if parameter is not None:
        error["parameter"] = parameter
    return web.Response(
        body=orjson.dumps({"error": error}), status=status, content_type="application/json"
    )


def error_schema(status: int) -> Schema:
    """The body of an error answered with ``status`` (render_error writes it)."""
    error = closed(
        {"status": {"const": status}, "code": _TEXT, "message": _TEXT, "parameter": _TEXT},
        optional=("parameter",),
    )
    return closed({"error": error})


# The component schemas of this dialect's documents, by name.
SCHEMAS: dict[str, Schema] = {
    "Notification": closed({name: spec.schema for name, spec in FIELDS.items()}),
    "NotificationList": closed(
        {
            "count": {"type": "integer", "minimum": 0, "description": "every match, not the page"},
            "page": {"type": "integer", "minimum": 1},
            "per_page": {"type": "integer", "minimum": 1},
            "notifications": {
                "type": "array",
                "items": {"$ref": "#/components/schemas/Notification"},
            },
        }
    ),
    # What parse_operations accepts (other members of the objects are ignored).
    "Operations": {
        "type": "object",
        "properties": {
            "operations": {
                "type": "array",
                "minItems": 1,
                "maxItems": MAX_CRM_OPERATIONS,
                "items": {
                    "type": "object",
                    "properties": {
                        "op": {"const": "add"},
                        "path": {
                            "type": "string",
                            "pattern": f"^{_SEEN_PATH.pattern}$",
                            "description": '"/*/seen" (every notification) or "/<id>/seen"',
                        },
                        "value": {"type": "null"},
                    },
                    "required": ["op", "path", "value"],
                },
            }
        },
        "required": ["operations"],
    },
}
# Query parameters by name: the filters and the paging.
QUERY: dict[str, tuple[Schema, str]] = {
    **{key: ({"type": "integer", "enum": [0, 1]}, text) for key, (_, text) in FILTERS.items()},
    **{key: (spec.schema(), spec.description) for key, spec in PAGING.items()},
}
OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "GET",
        PATH,
        list_notifications,
        "listNotifications",
        "The viewer's notifications, newest activity first, by numbered pages.",
        200,
        "NotificationList",
        (400, 401, 403, 503),
        query=tuple(QUERY),
    ),
    Operation(
        "PATCH",
        PATH,
        patch_notifications,
        "markSeen",
        "Mark notifications seen: all of the operations in one transaction, or none.",
        204,
        None,
        (400, 401, 403, 404, 413, 503),
        body="Operations",
    ),
)
