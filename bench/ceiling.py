"""The ceiling: the least a server on this stack must do to answer notifgql's requests.

aiohttp + asyncpg + orjson, one process, no framework on top. Each route verifies the same
HS256 bearer token, sends the same SQL text notifgql sends (prepared by asyncpg, as
SQLAlchemy's asyncpg dialect does) and writes the same JSON bytes notifgql writes; bench/run
checks that byte for byte before it measures anything. Whatever notifgql needs beyond this
is the cost of its layers (Strawberry, graphql-core, SQLAlchemy, its own code).

Routes (POST bodies are the GraphQL requests bench/run sends to notifgql's ``/graphql``):

- ``POST /graphql/list``: ``notifications(first, after)`` with every Notification field;
- ``POST /graphql/counts``: ``notificationCounts``;
- ``POST /graphql/create``: ``createNotification(input) { id createdAt }``, one INSERT
  whose NOTIFY goes out in the same statement;
- ``GET /api/v2/notifications``: the JSON:API list (``page[number]``, ``page[size]``).

Run: ``NOTIFGQL_JWT_SECRET=S python -m bench.ceiling --port P --dsn postgresql://...``
(or ``--secret=S``).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import hmac
import os
import struct
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import asyncpg
import orjson
from aiohttp import web

_COLUMNS = (
    "notifications.id, notifications.organization_id, notifications.recipient_id, "
    "notifications.actor_id, notifications.actor_name, notifications.title, "
    "notifications.description, notifications.excerpt, notifications.target_type, "
    "notifications.target_id, notifications.target_title, notifications.target_label, "
    "notifications.parent_type, notifications.parent_id, notifications.parent_title, "
    "notifications.root_type, notifications.root_id, notifications.project_id, "
    "notifications.resource, notifications.reason, notifications.important, "
    "notifications.mention, notifications.action_required, notifications.made_by_automation, "
    "notifications.new_activities_count, notifications.first_unread_activity_id, "
    "notifications.changeset, notifications.read_at, notifications.seen_at, "
    "notifications.dismissed_at, notifications.last_action_at, notifications.created_at, "
    "notifications.activity_at"
)
_INBOX = "notifications.organization_id = $1::VARCHAR AND notifications.recipient_id = $2::VARCHAR"
_ORDER = "ORDER BY notifications.activity_at DESC, notifications.id DESC"
# The statements notifgql's SQLAlchemy queries compile to (bench/run compares their
# pg_stat_statements query ids with notifgql's).
LIST_SQL = f"SELECT {_COLUMNS} \nFROM notifications \nWHERE {_INBOX} {_ORDER} \n LIMIT $3::INTEGER"
LIST_AFTER_SQL = (
    f"SELECT {_COLUMNS} \nFROM notifications \nWHERE {_INBOX} AND "
    "(notifications.activity_at, notifications.id) < ($3::TIMESTAMP WITH TIME ZONE, $4::BIGINT) "
    f"{_ORDER} \n LIMIT $5::INTEGER"
)
PAGE_SQL = (
    f"SELECT {_COLUMNS} \nFROM notifications \nWHERE {_INBOX} {_ORDER} \n"
    " LIMIT $3::INTEGER OFFSET $4::INTEGER"
)
COUNT_SQL = f"SELECT count(*) AS count_1 \nFROM notifications \nWHERE {_INBOX}"
COUNTS_SQL = (
    "SELECT count(*) AS count_1, "
    "count(*) FILTER (WHERE notifications.read_at IS NULL) AS anon_1, "
    "count(*) FILTER (WHERE notifications.seen_at IS NULL) AS anon_2, "
    "count(*) FILTER (WHERE notifications.important IS true) AS anon_3, "
    "count(*) FILTER (WHERE notifications.mention IS true) AS anon_4, "
    "count(*) FILTER (WHERE notifications.action_required IS true) AS anon_5 \n"
    f"FROM notifications \nWHERE {_INBOX}"
)
# One round trip: the row and the NOTIFY live subscribers would need.
CREATE_SQL = (
    "WITH created AS (INSERT INTO notifications (organization_id, recipient_id, actor_id, "
    "actor_name, title, description, excerpt, target_type, target_id, important, changeset, "
    "created_at, activity_at, group_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, "
    "$12, $12, 'notification:' || gen_random_uuid()) "
    "RETURNING id, created_at, organization_id, recipient_id) "
    "SELECT created.id, created.created_at, pg_notify('notifgql_bench_ceiling', "
    "json_build_array('created', created.organization_id, created.recipient_id, created.id)"
    "::text) FROM created"
)

DEFAULT_PAGE_SIZE = 30
MAX_PAGE_SIZE = 200
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CURSOR = struct.Struct(">Bqq")
_JSON = "application/json"
_JSONAPI = "application/vnd.api+json; charset=utf-8"


class Unauthorized(web.HTTPUnauthorized):
    """A bad or missing bearer token."""


def _unpadded_b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Keys:
    """The token key and the cursor key (derived as notifgql derives it)."""

    def __init__(self, secret: str) -> None:
        self.jwt = secret.encode()
        cursor_key = hashlib.sha256(b"notifgql cursor\x00" + secret.encode()).digest()
        # As notifgql does: a keyed HMAC copied per cursor costs half of keying a new one.
        self.cursor = hmac.new(cursor_key, digestmod=hashlib.sha256)

    def claims(self, request: web.Request) -> dict[str, Any]:
        """The verified claims of the request's ``Authorization: Bearer`` HS256 token."""
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            raise Unauthorized()
        token = header[7:]
        try:
            head, payload, signature = token.split(".")
            if orjson.loads(_unpadded_b64decode(head)).get("alg") != "HS256":
                raise Unauthorized()
            signed = hmac.new(self.jwt, f"{head}.{payload}".encode(), hashlib.sha256).digest()
            if not hmac.compare_digest(signed, _unpadded_b64decode(signature)):
                raise Unauthorized()
            claims: dict[str, Any] = orjson.loads(_unpadded_b64decode(payload))
        except (ValueError, binascii.Error, orjson.JSONDecodeError):
            raise Unauthorized() from None
        if "exp" in claims and claims["exp"] < time.time():
            raise Unauthorized()
        return claims

    def inbox(self, request: web.Request) -> tuple[str, str]:
        """(organization id, recipient id) of a user token: strings, as notifgql keeps them."""
        claims = self.claims(request)
        if claims.get("role", "user") != "user":
            raise web.HTTPForbidden()
        return str(claims["org"]), str(claims["sub"])

    def encode_cursor(self, activity_at: datetime, row_id: int) -> str:
        """notifgql's cursor for a position."""
        delta = activity_at - _EPOCH
        micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
        payload = _CURSOR.pack(1, micros, row_id)
        signer = self.cursor.copy()
        signer.update(payload)
        mac = signer.digest()[:10]
        return base64.urlsafe_b64encode(payload + mac).rstrip(b"=").decode("ascii")

    def decode_cursor(self, cursor: str) -> tuple[datetime, int]:
        """The position a cursor names."""
        raw = _unpadded_b64decode(cursor)
        payload, mac = raw[: _CURSOR.size], raw[_CURSOR.size :]
        signer = self.cursor.copy()
        signer.update(payload)
        expected = signer.digest()[:10]
        if len(payload) != _CURSOR.size or not hmac.compare_digest(mac, expected):
            raise web.HTTPBadRequest()
        _version, micros, row_id = _CURSOR.unpack(payload)
        return _EPOCH + timedelta(microseconds=micros), row_id


POOL = web.AppKey("pool", asyncpg.Pool)
KEYS = web.AppKey("keys", Keys)


def _id(value: int | None) -> str | None:
    return None if value is None else str(value)


def _node(row: asyncpg.Record) -> dict[str, Any]:
    actor_id = row[3]
    return {
        "id": str(row[0]),
        "title": row[5],
        "description": row[6],
        "excerpt": row[7],
        "targetType": row[8],
        "targetId": _id(row[9]),
        "targetTitle": row[10],
        "targetLabel": row[11],
        "parentType": row[12],
        "parentId": _id(row[13]),
        "parentTitle": row[14],
        "rootType": row[15],
        "rootId": _id(row[16]),
        "projectId": _id(row[17]),
        "resource": row[18],
        "reason": row[19],
        "read": row[27] is not None,
        "readAt": row[27],
        "seen": row[28] is not None,
        "seenAt": row[28],
        "dismissed": row[29] is not None,
        "dismissedAt": row[29],
        "important": row[20],
        "mention": row[21],
        "actionRequired": row[22],
        "madeByAutomation": row[23],
        "newActivitiesCount": row[24],
        "firstUnreadActivityId": _id(row[25]),
        "changeset": orjson.loads(row[26]),
        "lastActionAt": row[30],
        "createdAt": row[31],
        "organizationId": row[1],
        "recipientId": row[2],
        "actor": None if actor_id is None else {"id": actor_id, "name": row[4]},
    }


async def graphql_list(request: web.Request) -> web.Response:
    """``notifications(first, after)`` with edges, every node field and pageInfo."""
    keys = request.app[KEYS]
    organization_id, recipient_id = keys.inbox(request)
    variables = orjson.loads(await request.read()).get("variables") or {}
    first = variables.get("first") or DEFAULT_PAGE_SIZE
    if not 1 <= first <= MAX_PAGE_SIZE:
        raise web.HTTPBadRequest()
    after = variables.get("after")
    async with request.app[POOL].acquire() as conn:
        if after is None:
            rows = await conn.fetch(LIST_SQL, organization_id, recipient_id, first + 1)
        else:
            activity_at, row_id = keys.decode_cursor(after)
            rows = await conn.fetch(
                LIST_AFTER_SQL, organization_id, recipient_id, activity_at, row_id, first + 1
            )
    more = len(rows) > first
    edges = [
        {"cursor": keys.encode_cursor(row[32], row[0]), "node": _node(row)} for row in rows[:first]
    ]
    page_info = {
        "hasNextPage": more,
        "hasPreviousPage": after is not None,
        "startCursor": edges[0]["cursor"] if edges else None,
        "endCursor": edges[-1]["cursor"] if edges else None,
    }
    document = {"data": {"notifications": {"edges": edges, "pageInfo": page_info}}}
    return web.Response(body=orjson.dumps(document), content_type=_JSON)


async def graphql_counts(request: web.Request) -> web.Response:
    """``notificationCounts`` with its six numbers."""
    organization_id, recipient_id = request.app[KEYS].inbox(request)
    await request.read()
    async with request.app[POOL].acquire() as conn:
        row = await conn.fetchrow(COUNTS_SQL, organization_id, recipient_id)
    counts = {
        "total": row[0],
        "unread": row[1],
        "unseen": row[2],
        "important": row[3],
        "mentions": row[4],
        "actionRequired": row[5],
    }
    return web.Response(
        body=orjson.dumps({"data": {"notificationCounts": counts}}), content_type=_JSON
    )


async def graphql_create(request: web.Request) -> web.Response:
    """``createNotification(input) { id createdAt }`` for a service token."""
    claims = request.app[KEYS].claims(request)
    if claims.get("role") != "service":
        raise web.HTTPForbidden()
    given = (orjson.loads(await request.read()).get("variables") or {})["input"]
    now = datetime.now(UTC)
    target_id = given.get("targetId")
    async with request.app[POOL].acquire() as conn:
        row = await conn.fetchrow(
            CREATE_SQL,
            str(claims["org"]),
            given["recipientId"],
            given.get("actorId"),
            given.get("actorName"),
            given["title"],
            given.get("description"),
            given.get("excerpt", ""),
            given.get("targetType"),
            int(target_id) if target_id else None,
            bool(given.get("important", False)),
            orjson.dumps(given.get("changeset", [])).decode(),
            now,
        )
    created = {"id": str(row[0]), "createdAt": row[1]}
    return web.Response(
        body=orjson.dumps({"data": {"createNotification": created}}), content_type=_JSON
    )


def _rest_time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec="milliseconds")[:-6] + "Z"


def _resource(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "id": str(row[0]),
        "type": "notifications",
        "attributes": {
            "target_id": row[9],
            "target_type": row[8],
            "target_title": row[10],
            "parent_id": row[13],
            "parent_type": row[12],
            "parent_title": row[14],
            "title": row[5],
            "read": row[27] is not None,
            "dismissed": row[29] is not None,
            "new_activities_count": row[24],
            "excerpt": row[7],
            "last_action_at": _rest_time(row[30]),
            "first_unread_activity_id": row[25],
            "changeset": orjson.loads(row[26]),
            "important": row[20],
            "mention": row[21],
            "target_label": row[11],
            "made_by_automation": row[23],
            "root_id": row[16],
            "root_type": row[15],
        },
        "relationships": {
            "organization": {"data": {"type": "organizations", "id": row[1]}},
            "actor": {"meta": {"included": False}},
            "owner": {"data": {"type": "organization_memberships", "id": row[2]}},
        },
    }


async def jsonapi_list(request: web.Request) -> web.Response:
    """The JSON:API list without filters: one page and the total."""
    organization_id, recipient_id = request.app[KEYS].inbox(request)
    number = int(request.query.get("page[number]", "1"))
    size = int(request.query.get("page[size]", str(DEFAULT_PAGE_SIZE)))
    if not (1 <= size <= MAX_PAGE_SIZE and 1 <= number <= 10_000_000):
        raise web.HTTPBadRequest()
    async with request.app[POOL].acquire() as conn:
        rows = await conn.fetch(PAGE_SQL, organization_id, recipient_id, size, (number - 1) * size)
        total = await conn.fetchval(COUNT_SQL, organization_id, recipient_id)
    pages = -(-total // size)
    base = f"{request.scheme}://{request.host}{request.path}"

    def to(page: int) -> str:
        return f"{base}?{urlencode([('page[number]', str(page)), ('page[size]', str(size))])}"

    links = {"first": to(1), "last": to(pages)}
    if number > 1:
        links["prev"] = to(min(number - 1, max(pages, 1)))
    if number < pages:
        links["next"] = to(number + 1)
    document = {
        "data": [_resource(row) for row in rows],
        "links": links,
        "meta": {
            "current_page": number,
            "total_pages": pages,
            "total_count": total,
            "page_size": size,
            "max_page_size": MAX_PAGE_SIZE,
        },
    }
    return web.Response(body=orjson.dumps(document), headers={"Content-Type": _JSONAPI})


async def healthz(_request: web.Request) -> web.Response:
    """200 while the process runs."""
    return web.Response(body=b'{"status":"ok"}', content_type=_JSON)


async def _no_reset(_conn: asyncpg.Connection) -> None:
    """Skip asyncpg's reset query on release: these handlers leave no session state."""


def create_app(dsn: str, secret: str, pool_size: int) -> web.Application:
    """The ceiling application."""
    app = web.Application()
    app[KEYS] = Keys(secret)

    async def pool(app: web.Application) -> AsyncIterator[None]:
        created = await asyncpg.create_pool(
            dsn,
            min_size=pool_size,
            max_size=pool_size,
            reset=_no_reset,
        )
        assert created is not None
        app[POOL] = created
        yield
        await created.close()

    app.cleanup_ctx.append(pool)
    app.router.add_post("/graphql/list", graphql_list)
    app.router.add_post("/graphql/counts", graphql_counts)
    app.router.add_post("/graphql/create", graphql_create)
    app.router.add_get("/api/v2/notifications", jsonapi_list)
    app.router.add_get("/healthz", healthz)
    return app


SECRET_ENV = "NOTIFGQL_JWT_SECRET"  # noqa: S105 (the name of a variable)


def parse_args(
    argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None
) -> argparse.Namespace:
    """The command line; the secret comes from ``--secret=S`` or else NOTIFGQL_JWT_SECRET.

    bench/run passes it through the environment (the variable notifgql reads too): a random
    secret may start with ``-``, which argparse takes for an option when it is a separate
    argument, and the environment keeps it out of ``ps`` as well.
    """
    parser = argparse.ArgumentParser(
        prog="python -m bench.ceiling", description=(__doc__ or "").splitlines()[0]
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dsn", required=True, help="postgresql://user@host:port/db")
    parser.add_argument(
        "--secret",
        help=f"the JWT secret notifgql uses (default: ${SECRET_ENV}); write --secret=S "
        "when S may start with '-'",
    )
    parser.add_argument("--pool-size", type=int, default=32)
    args = parser.parse_args(argv)
    if args.secret is None:
        args.secret = (os.environ if environ is None else environ).get(SECRET_ENV)
    if not args.secret:
        parser.error(f"no secret: give --secret=S or set {SECRET_ENV}")
    return args


def main() -> None:
    """``python -m bench.ceiling``."""
    args = parse_args()
    web.run_app(
        create_app(args.dsn, args.secret, args.pool_size),
        host=args.host,
        port=args.port,
        print=None,
        access_log=None,
    )


if __name__ == "__main__":
    main()
