"""The ceiling: the least a server on this stack must do to answer notifgql's requests.

aiohttp + asyncpg + orjson, one process, no framework on top. Each route verifies the same
HS256 bearer token, sends the same SQL text notifgql sends (prepared by asyncpg, as
SQLAlchemy's asyncpg dialect does) and writes the same JSON bytes notifgql writes; bench/run
checks that byte for byte before it measures anything. Whatever notifgql needs beyond this
is the cost of its layers (Strawberry, graphql-core, SQLAlchemy, its own code).

Routes (POST bodies are the GraphQL requests bench/run sends to notifgql's ``/graphql``):

- ``POST /graphql/list``: ``notifications(first, after)`` with every Notification field;
- ``POST /graphql/counts``: ``notificationCounts``;
- ``POST /graphql/create``: ``createNotification(input) { id createdAt }``, one statement
  that takes the inbox's next version, INSERTs the row stamped with it and sends the NOTIFY;
- ``POST /graphql/publish``: ``publish(input) { created updated activityId }``: the
  activity's INSERT, then per 1,000 recipients the inboxes' version bump and the one
  upsert-and-link statement (the recipients bound as one array each), in one transaction,
  as notifgql's PostgreSQL path sends them;
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
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
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
    "notifications.activity_at, notifications.group_key, notifications.expires_at, "
    "notifications.withdrawn_at, notifications.activity_count, notifications.snoozed_until, "
    "notifications.category, notifications.tags, notifications.actions, "
    "notifications.change_version, notifications.expired_at"
)
# The viewer's inbox as every read of notifgql's sees it: withdrawn, expired and snoozed
# notifications left out ($3: now).
_INBOX = (
    "notifications.organization_id = $1::VARCHAR AND notifications.recipient_id = $2::VARCHAR "
    "AND notifications.withdrawn_at IS NULL AND (notifications.expires_at IS NULL OR "
    "notifications.expires_at > $3::TIMESTAMP WITH TIME ZONE) AND "
    "(notifications.snoozed_until IS NULL OR "
    "notifications.snoozed_until <= $3::TIMESTAMP WITH TIME ZONE)"
)
_ORDER = "ORDER BY notifications.activity_at DESC, notifications.id DESC"
# The statements notifgql's SQLAlchemy queries compile to (bench/run compares their
# pg_stat_statements query ids with notifgql's).
LIST_SQL = f"SELECT {_COLUMNS} \nFROM notifications \nWHERE {_INBOX} {_ORDER} \n LIMIT $4::INTEGER"
LIST_AFTER_SQL = (
    f"SELECT {_COLUMNS} \nFROM notifications \nWHERE {_INBOX} AND "
    "(notifications.activity_at, notifications.id) < ($4::TIMESTAMP WITH TIME ZONE, $5::BIGINT) "
    f"{_ORDER} \n LIMIT $6::INTEGER"
)
PAGE_SQL = (
    f"SELECT {_COLUMNS} \nFROM notifications \nWHERE {_INBOX} {_ORDER} \n"
    " LIMIT $4::INTEGER OFFSET $5::INTEGER"
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
# The inbox's next version, made at 1 by its first change: notifgql's statement, which every
# write of notifgql's sends first in its transaction, and which holds the inbox's row locked
# until the commit ($1: organization, $3: the recipients, sorted; $2 and $4: 1).
BUMP_SQL = (
    "INSERT INTO inboxes (organization_id, recipient_id, version) SELECT $1::VARCHAR AS anon_1, "
    "anon_2.value, $2::INTEGER AS anon_3 \nFROM unnest($3::TEXT[]) AS anon_2(value) \n"
    "WHERE anon_2.value IS NOT NULL ORDER BY anon_2.value ON CONFLICT (organization_id, "
    "recipient_id) DO UPDATE SET version = (inboxes.version + $4::BIGINT) "
    "RETURNING inboxes.recipient_id, inboxes.version"
)


# One round trip: the inbox's next version, the row stamped with it, and the NOTIFY live
# subscribers would need. The version is taken as BUMP_SQL takes it (the same upsert, whose
# lock on the inbox's row lasts until the statement commits), in the same statement.
CREATE_SQL = (
    "WITH bumped AS (INSERT INTO inboxes (organization_id, recipient_id, version) "
    "VALUES ($1, $2, 1) ON CONFLICT (organization_id, recipient_id) DO UPDATE "
    "SET version = inboxes.version + 1 RETURNING version), "
    "created AS (INSERT INTO notifications (organization_id, recipient_id, actor_id, "
    "actor_name, title, description, excerpt, target_type, target_id, important, changeset, "
    "created_at, activity_at, group_key, change_version) VALUES ($1, $2, $3, $4, $5, $6, $7, "
    "$8, $9, $10, $11, $12, $12, 'notification:' || gen_random_uuid(), "
    "(SELECT version FROM bumped)) RETURNING id, created_at, organization_id, recipient_id) "
    "SELECT created.id, created.created_at, pg_notify('notifgql_bench_ceiling', "
    "json_build_array('created', created.organization_id, created.recipient_id, created.id)"
    "::text) FROM created"
)

# publish: the statements notifgql's SQLAlchemy constructs compile to on PostgreSQL
# (tests/test_bench_publish.py compiles them and compares text and arguments).
ACTIVITY_SQL = (
    "INSERT INTO activities (organization_id, group_key, actor_id, actor_name, title, excerpt, "
    'changeset, occurred_at, created_at) VALUES ($1::VARCHAR COLLATE "C", $2::VARCHAR, '
    '$3::VARCHAR COLLATE "C", $4::VARCHAR, $5::VARCHAR, $6::VARCHAR, $7::VARCHAR, '
    "$8::TIMESTAMP WITH TIME ZONE, $9::TIMESTAMP WITH TIME ZONE) RETURNING activities.id"
)
# What a publish writes into each recipient's notification, one parameter each, in the order
# of notifgql's statement: (column, its bind cast). recipient_id comes last, from the array.
_WRITTEN = (
    ("title", "VARCHAR"),
    ("description", "VARCHAR"),
    ("excerpt", "VARCHAR"),
    ("target_type", "VARCHAR"),
    ("target_id", "BIGINT"),
    ("target_title", "VARCHAR"),
    ("target_label", "VARCHAR"),
    ("parent_type", "VARCHAR"),
    ("parent_id", "BIGINT"),
    ("parent_title", "VARCHAR"),
    ("root_type", "VARCHAR"),
    ("root_id", "BIGINT"),
    ("project_id", "BIGINT"),
    ("resource", "VARCHAR"),
    ("reason", "VARCHAR"),
    ("important", "BOOLEAN"),
    ("mention", "BOOLEAN"),
    ("action_required", "BOOLEAN"),
    ("made_by_automation", "BOOLEAN"),
    ("category", "VARCHAR"),
    ("tags", "VARCHAR"),
    ("actions", "VARCHAR"),
    ("expires_at", "TIMESTAMP WITH TIME ZONE"),
    ("actor_id", 'VARCHAR COLLATE "C"'),
    ("actor_name", "VARCHAR"),
    ("changeset", "VARCHAR"),
    ("organization_id", 'VARCHAR COLLATE "C"'),
    ("group_key", "VARCHAR"),
    ("new_activities_count", "INTEGER"),
    ("activity_count", "INTEGER"),
    ("first_unread_activity_id", "BIGINT"),
    ("last_action_at", "TIMESTAMP WITH TIME ZONE"),
    ("activity_at", "TIMESTAMP WITH TIME ZONE"),
    ("created_at", "TIMESTAMP WITH TIME ZONE"),
)
# The two values the activity's link reuses ($1, $2), then the others ($3 on), then the
# recipients ($35), then the SET clause's own constants. Each row's change_version is the
# version BUMP_SQL took for its inbox just before, in the same transaction.
_LINK = ("last_action_at", "first_unread_activity_id")
_BOUND = _LINK + tuple(name for name, _ in _WRITTEN if name not in _LINK)
_NUMBER = {name: n for n, name in enumerate(_BOUND, 1)}
# The notification fields a publish's input sets, by GraphQL name: (column, is an id).
_CONTENT = {
    "description": ("description", False),
    "targetType": ("target_type", False),
    "targetId": ("target_id", True),
    "targetTitle": ("target_title", False),
    "targetLabel": ("target_label", False),
    "parentType": ("parent_type", False),
    "parentId": ("parent_id", True),
    "parentTitle": ("parent_title", False),
    "rootType": ("root_type", False),
    "rootId": ("root_id", True),
    "projectId": ("project_id", True),
    "resource": ("resource", False),
    "reason": ("reason", False),
    "important": ("important", False),
    "mention": ("mention", False),
    "actionRequired": ("action_required", False),
    "madeByAutomation": ("made_by_automation", False),
    "category": ("category", False),
}
_UPDATED = (
    "actor_id", "actor_name", "title", "description", "excerpt", "target_type", "target_id",
    "target_title", "target_label", "parent_type", "parent_id", "parent_title", "root_type",
    "root_id", "project_id", "resource", "reason", "important", "mention", "action_required",
    "made_by_automation",
)  # fmt: skip
PUBLISH_BATCH = 1_000  # recipients per statement, as notifgql batches them
MAX_ACTIVITIES_COUNT = 2**31 - 1


def _publish_sql() -> str:
    """notifgql's upsert-and-link statement: one text for every batch, whatever its size."""
    values = ", ".join(
        f"${_NUMBER[name]}::{cast} AS anon_{n}" for n, (name, cast) in enumerate(_WRITTEN, 3)
    )
    k = len(_BOUND) + 1  # the recipients' array; the SET clause's own parameters follow it
    updates = ", ".join(f"{name} = excluded.{name}" for name in _UPDATED)
    label = f"anon_{len(_WRITTEN) + 3}"
    return (
        "WITH appended AS \n(INSERT INTO notifications ("
        + ", ".join(name for name, _ in _WRITTEN)
        + f", recipient_id, change_version) SELECT {values}, {label}.value AS value, "
        f"(SELECT inboxes.version \nFROM inboxes \nWHERE inboxes.organization_id = "
        f'${_NUMBER["organization_id"]}::VARCHAR COLLATE "C" AND inboxes.recipient_id = '
        f"{label}.value) AS anon_{len(_WRITTEN) + 4} \nFROM unnest(${k}::TEXT[]) "
        f"AS {label}(value) \nWHERE NOT (EXISTS (SELECT * \nFROM mute_rules \nWHERE "
        f'mute_rules.organization_id = ${_NUMBER["organization_id"]}::VARCHAR COLLATE "C" AND '
        f"mute_rules.recipient_id = {label}.value AND (mute_rules.target_type IS NULL OR "
        f"lower(mute_rules.target_type) = lower(${_NUMBER['target_type']}::VARCHAR)) AND "
        f"(mute_rules.group_key IS NULL OR mute_rules.group_key = ${_NUMBER['group_key']}::VARCHAR)"
        f" AND (mute_rules.project_id IS NULL OR mute_rules.project_id = "
        f"${_NUMBER['project_id']}::BIGINT) AND (mute_rules.category IS NULL OR "
        f"mute_rules.category = ${_NUMBER['category']}::VARCHAR))) ON CONFLICT "
        "(group_key, organization_id, recipient_id) DO UPDATE "
        f"SET {updates}, new_activities_count = CASE WHEN (notifications.new_activities_count "
        f"< ${k + 1}::INTEGER) THEN notifications.new_activities_count + ${k + 2}::INTEGER "
        "ELSE notifications.new_activities_count END, first_unread_activity_id = CASE WHEN "
        "(notifications.first_unread_activity_id IS NULL OR excluded.first_unread_activity_id "
        "< notifications.first_unread_activity_id) THEN excluded.first_unread_activity_id "
        "ELSE notifications.first_unread_activity_id END, changeset = excluded.changeset, "
        f"read_at = ${k + 3}::TIMESTAMP WITH TIME ZONE, seen_at = ${k + 4}::TIMESTAMP WITH TIME "
        f"ZONE, dismissed_at = ${k + 5}::TIMESTAMP WITH TIME ZONE, last_action_at = "
        "excluded.last_action_at, activity_at = excluded.activity_at, expires_at = "
        f"excluded.expires_at, withdrawn_at = ${k + 6}::TIMESTAMP WITH TIME ZONE, activity_count "
        f"= (notifications.activity_count + ${k + 7}::INTEGER), category = excluded.category, "
        "tags = excluded.tags, actions = excluded.actions, change_version = "
        f"excluded.change_version, expired_at = ${k + 8}::TIMESTAMP WITH TIME ZONE "
        "RETURNING notifications.id, "
        "notifications.recipient_id, (xmax = 0) AS created), \nshown AS \n(INSERT INTO "
        "notification_activities (notification_id, occurred_at, activity_id) SELECT appended.id "
        "AS id, $1::TIMESTAMP WITH TIME ZONE AS anon_1, $2::BIGINT AS anon_2 \nFROM appended)\n "
        "SELECT appended.id, appended.recipient_id, appended.created \nFROM appended"
    )


PUBLISH_SQL = _publish_sql()


def _time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value).astimezone(UTC)


@dataclass(frozen=True, slots=True)
class PublishPlan:
    """One publish's statements and their arguments, from its GraphQL input."""

    activity_args: list[Any]
    group_key: str
    recipients: list[str]
    # The notification's values but first_unread_activity_id (the activity's id).
    row: dict[str, Any]

    @property
    def organization_id(self) -> str:
        """The publisher's organization."""
        return str(self.row["organization_id"])

    def bump_args(self, recipients: Sequence[str]) -> list[Any]:
        """BUMP_SQL's arguments for one batch of recipients (sorted and distinct already)."""
        return [self.organization_id, 1, list(recipients), 1]

    @staticmethod
    def make(organization_id: str, given: Mapping[str, Any], now: datetime) -> PublishPlan:
        """What notifgql would write for ``given`` (PublishInput as JSON)."""
        activity = given["activity"]
        content = given.get("notification") or {}
        group_key = given.get("groupKey")
        if group_key is None:
            target = content.get("targetType"), content.get("targetId")
            if target[0] is not None and target[1] is not None:
                group_key = f"{target[0]}:{int(target[1])}"
            else:
                group_key = f"notification:{uuid.uuid4()}"
        occurred_at = _time(activity.get("occurredAt")) or now
        excerpt = activity.get("excerpt", "")
        changeset = orjson.dumps(activity.get("changeset", [])).decode()
        row: dict[str, Any] = {name: None for name, _ in _WRITTEN}
        row |= {"important": False, "mention": False, "action_required": False}
        row["made_by_automation"] = False
        for name, (column, is_id) in _CONTENT.items():
            value = content.get(name)
            if value is not None:
                row[column] = int(value) if is_id else value
        row |= {
            "organization_id": organization_id,
            "actor_id": activity.get("actorId"),
            "actor_name": activity.get("actorName"),
            "title": content.get("title") or activity["title"],
            "excerpt": excerpt if content.get("excerpt") is None else content["excerpt"],
            "new_activities_count": 1,
            "changeset": changeset,
            "last_action_at": occurred_at,
            "created_at": now,
            "activity_at": occurred_at,
            "group_key": group_key,
            "expires_at": _time(content.get("expiresAt")),
            "activity_count": 1,
        }
        # Tags once each; actions all pending, and then an action is required.
        tags = list(dict.fromkeys(content.get("tags") or []))
        actions = [
            {
                "id": action["id"],
                "label": action["label"],
                "url": action.get("url"),
                "primary": action.get("primary", False),
                "status": "PENDING",
                "completed_at": None,
            }
            for action in content.get("actions") or []
        ]
        row["tags"] = orjson.dumps(tags).decode()
        row["actions"] = orjson.dumps(actions).decode()
        if actions:
            row["action_required"] = True
        activity_args = [
            organization_id,
            group_key,
            activity.get("actorId"),
            activity.get("actorName"),
            activity["title"],
            excerpt,
            changeset,
            occurred_at,
            now,
        ]
        recipients = sorted(set(given["recipientIds"]))
        return PublishPlan(activity_args, group_key, recipients, row)

    def batch_args(self, recipients: Sequence[str], activity_id: int) -> list[Any]:
        """The upsert-and-link statement's arguments for one batch of recipients."""
        row = self.row | {"first_unread_activity_id": activity_id}
        return [
            *(row[name] for name in _BOUND),
            list(recipients),
            *(MAX_ACTIVITIES_COUNT, 1, None, None, None, None, 1, None),
        ]


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
    inbox = organization_id, recipient_id, datetime.now(UTC)
    async with request.app[POOL].acquire() as conn:
        if after is None:
            rows = await conn.fetch(LIST_SQL, *inbox, first + 1)
        else:
            activity_at, row_id = keys.decode_cursor(after)
            rows = await conn.fetch(LIST_AFTER_SQL, *inbox, activity_at, row_id, first + 1)
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
        row = await conn.fetchrow(COUNTS_SQL, organization_id, recipient_id, datetime.now(UTC))
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


async def graphql_publish(request: web.Request) -> web.Response:
    """``publish(input) { created updated activityId }`` for a service token."""
    claims = request.app[KEYS].claims(request)
    if claims.get("role") != "service":
        raise web.HTTPForbidden()
    given = (orjson.loads(await request.read()).get("variables") or {})["input"]
    plan = PublishPlan.make(str(claims["org"]), given, datetime.now(UTC))
    created = updated = 0
    async with request.app[POOL].acquire() as conn, conn.transaction():
        activity_id = await conn.fetchval(ACTIVITY_SQL, *plan.activity_args)
        for start in range(0, len(plan.recipients), PUBLISH_BATCH):
            chunk = plan.recipients[start : start + PUBLISH_BATCH]
            # The inboxes' versions first, in recipient order, as notifgql takes them.
            await conn.fetch(BUMP_SQL, *plan.bump_args(chunk))
            rows = await conn.fetch(PUBLISH_SQL, *plan.batch_args(chunk, activity_id))
            made = sum(1 for row in rows if row[2])
            created, updated = created + made, updated + len(rows) - made
    result = {"created": created, "updated": updated, "activityId": str(activity_id)}
    return web.Response(body=orjson.dumps({"data": {"publish": result}}), content_type=_JSON)


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
    inbox = organization_id, recipient_id, datetime.now(UTC)
    async with request.app[POOL].acquire() as conn:
        rows = await conn.fetch(PAGE_SQL, *inbox, size, (number - 1) * size)
        total = await conn.fetchval(COUNT_SQL, *inbox)
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
    app.router.add_post("/graphql/publish", graphql_publish)
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
