"""Publishing an activity: stored once, and grouped in place in every recipient's inbox.

Each recipient has at most one notification per group key (a unique index says so). A
publish appends to it with one ``INSERT … ON CONFLICT DO UPDATE`` over all recipients of a
batch, so concurrent publishes to one group queue on the index instead of racing a
read-then-write: the first creates the line, each later one bumps it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, ClassVar

import orjson
from sqlalchemy import (
    ColumnElement,
    Integer,
    and_,
    bindparam,
    case,
    exists,
    func,
    insert,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from notifgql.auth import Viewer
from notifgql.db.models import SINGLE_GROUP_PREFIX, new_group_key
from notifgql.db.models import activities as a
from notifgql.db.models import inboxes as i
from notifgql.db.models import mute_rules as m
from notifgql.db.models import notification_activities as na
from notifgql.db.models import notifications as t
from notifgql.errors import BadUserInput
from notifgql.notifications import idempotency, versions
from notifgql.notifications.actions import (
    ACTIONS,
    CATEGORY,
    TAGS,
    NewAction,
    action_required,
    check_labels,
    stored_actions,
    unique_tags,
)
from notifgql.notifications.changeset import encode as encode_changeset
from notifgql.notifications.events import EventKind, InboxEvent
from notifgql.notifications.fields import (
    Id,
    OpaqueId,
    OpaqueIdText,
    check_text,
    check_time,
    described,
    from_client,
    hints,
    marker,
    parse_opaque_id,
)
from notifgql.notifications.filters import group_shown
from notifgql.notifications.limits import (
    MAX_ACTIVITIES_COUNT,
    MAX_KEY_LENGTH,
    MAX_PUBLISH_RECIPIENTS,
    MAX_TEXT_LENGTH,
    MAX_TITLE_LENGTH,
    PUBLISH_BATCH_SIZE,
)
from notifgql.notifications.unit_of_work import UnitOfWork


@dataclass(frozen=True, slots=True)
class NewActivity:
    """What happened: stored once per publish, shown under the notification."""

    OWNER: ClassVar[str] = "publish.activity"

    title: str
    actor_id: OpaqueId | None = field(
        default=None, metadata=described("Your own id for who did it; 1 to 255 characters.")
    )
    actor_name: str | None = None
    excerpt: str = ""
    changeset: Any = field(default_factory=list)
    occurred_at: datetime | None = field(
        default=None, metadata=described("When it happened; now when not given.")
    )

    @classmethod
    def from_client(cls, values: Mapping[str, Any]) -> NewActivity:
        """The activity a door's values describe, by field name."""
        return from_client(cls, cls.OWNER, values)


@dataclass(frozen=True, slots=True)
class NotificationContent:
    """The notification's own fields; each publish to a group sets them anew."""

    OWNER: ClassVar[str] = "publish.notification"

    title: str | None = field(
        default=None, metadata=described("The line's title; the activity's title when not given.")
    )
    description: str | None = None
    excerpt: str | None = field(
        default=None, metadata=described("The activity's excerpt when not given.")
    )
    target_type: str | None = None
    target_id: Id | None = None
    target_title: str | None = None
    target_label: str | None = None
    parent_type: str | None = None
    parent_id: Id | None = None
    parent_title: str | None = None
    root_type: str | None = None
    root_id: Id | None = None
    project_id: Id | None = None
    resource: str | None = None
    reason: str | None = None
    important: bool = False
    mention: bool = False
    action_required: bool = False
    made_by_automation: bool = False
    category: str | None = field(default=None, metadata=described(CATEGORY))
    tags: tuple[str, ...] = field(default_factory=tuple, metadata=described(TAGS))
    actions: tuple[NewAction, ...] = field(default_factory=tuple, metadata=described(ACTIONS))
    expires_at: datetime | None = field(
        default=None, metadata=described("After this time the notification is shown nowhere.")
    )

    @classmethod
    def from_client(cls, values: Mapping[str, Any]) -> NotificationContent:
        """The content a door's values describe, by field name."""
        return from_client(cls, cls.OWNER, values)


@dataclass(frozen=True, slots=True)
class Publish:
    """One publish: an activity, the notification it groups under, and who receives it."""

    recipient_ids: tuple[str, ...]
    activity: NewActivity
    content: NotificationContent = NotificationContent()
    group_key: str | None = None
    idempotency_key: str | None = None

    def chosen_group_key(self) -> str:
        """The group key this publish appends to; a new one on each call when none applies."""
        if self.group_key is not None:
            return self.group_key
        target = self.content.target_type, self.content.target_id
        if target[0] is not None and target[1] is not None:
            return f"{target[0]}:{target[1]}"
        return new_group_key()

    def canonical(self) -> dict[str, Any]:
        """The request as a plain value, the same for every way of sending it."""
        return {
            "recipient_ids": sorted(set(self.recipient_ids)),
            "group_key": self.group_key,
            "activity": _as_dict(self.activity),
            "notification": _as_dict(self.content),
        }


@dataclass(frozen=True, slots=True)
class PublishResult:
    """How many notifications a publish created and updated, and its activity's id."""

    created: int
    updated: int
    activity_id: int

    def stored(self) -> dict[str, int]:
        """The result as kept for retries with the same idempotency key."""
        return dataclasses.asdict(self)


def _as_dict(value: Any) -> dict[str, Any]:
    # Shallow on purpose: a changeset may be nested deep (see commands._shallow).
    return {item.name: getattr(value, item.name) for item in dataclasses.fields(value)}


def parse_recipients(values: Sequence[object]) -> tuple[str, ...]:
    """The distinct recipient ids, in the order first given; 1 to the maximum."""
    parameter = "publish.recipient_ids"
    unique = dict.fromkeys(parse_opaque_id(value, parameter=parameter) for value in values)
    if not unique:
        raise BadUserInput.about(parameter, "must name at least one recipient")
    if len(unique) > MAX_PUBLISH_RECIPIENTS:
        raise BadUserInput.about(
            parameter, f"may name at most {MAX_PUBLISH_RECIPIENTS} distinct recipients"
        )
    return tuple(unique)


def check_key(key: str, *, parameter: str) -> None:
    """Refuse a group or idempotency key that is empty, too long or not plain text."""
    if not key.strip():
        raise BadUserInput.about(parameter, "must not be empty")
    if len(key) > MAX_KEY_LENGTH:
        raise BadUserInput.about(parameter, f"is longer than {MAX_KEY_LENGTH} characters")
    check_text(key, parameter=parameter)


def validate(request: Publish) -> None:
    """Refuse what the inbox could not show or store well, before anything is written."""
    for name, key in (
        ("group_key", request.group_key),
        ("idempotency_key", request.idempotency_key),
    ):
        if key is not None:
            check_key(key, parameter=f"publish.{name}")
    if request.group_key is not None and request.group_key.startswith(SINGLE_GROUP_PREFIX):
        raise BadUserInput.about(
            "publish.group_key",
            f'must not start with "{SINGLE_GROUP_PREFIX}": those groups hold one notification',
        )
    for title, owner in (
        (request.activity.title, NewActivity.OWNER),
        (request.content.title, NotificationContent.OWNER),
    ):
        if title is None:
            continue
        if not title.strip():
            raise BadUserInput.about(f"{owner}.title", "must not be empty")
        if len(title) > MAX_TITLE_LENGTH:
            raise BadUserInput.about(
                f"{owner}.title", f"is longer than {MAX_TITLE_LENGTH} characters"
            )
    for value in (request.activity, request.content):
        _check_fields(value)
    content = request.content
    check_labels(content.OWNER, content.category, content.tags, content.actions)
    encode_changeset(request.activity.changeset, parameter=f"{NewActivity.OWNER}.changeset")


def _check_fields(value: Any) -> None:
    owner = value.OWNER
    types = hints(type(value))
    for name, item in _as_dict(value).items():
        parameter = f"{owner}.{name}"
        if isinstance(marker(types[name]), OpaqueIdText) and item is not None:
            parse_opaque_id(item, parameter=parameter)
        elif isinstance(item, str):
            if len(item) > MAX_TEXT_LENGTH:
                raise BadUserInput.about(parameter, f"is longer than {MAX_TEXT_LENGTH} characters")
            check_text(item, parameter=parameter)
        elif isinstance(item, datetime):
            check_time(item, parameter=parameter)


async def publish(work: UnitOfWork, viewer: Viewer, request: Publish) -> PublishResult:
    """Store the activity once and group it into each recipient's notification."""
    viewer.require_service()
    validate(request)
    organization_id = viewer.organization_id
    now = datetime.now(UTC)
    key = request.idempotency_key
    if key is not None:
        print_ = idempotency.fingerprint(request.canonical())
        first = await idempotency.claim(work, organization_id, key, print_, now)
        if first is not None:
            return PublishResult(**first)
    group_key = request.chosen_group_key()
    occurred_at = request.activity.occurred_at or now
    activity_id = await _store_activity(work, organization_id, group_key, request.activity, now)
    values = _notification_values(
        request, organization_id, group_key, activity_id, occurred_at, now
    )
    newest = await _newest_id(work)
    created = updated = 0
    # Sorted, so that concurrent publishes lock their rows in one order and never deadlock.
    recipients = sorted(request.recipient_ids)
    for start in range(0, len(recipients), PUBLISH_BATCH_SIZE):
        chunk = recipients[start : start + PUBLISH_BATCH_SIZE]
        # The inboxes' versions first, in recipient order: the one lock order of writers.
        await versions.take_all(work, organization_id, chunk)
        for notification_id, recipient_id, is_new in await _append(work, values, chunk, newest):
            kind: EventKind = "created" if is_new else "updated"
            work.record(InboxEvent(kind, organization_id, recipient_id, notification_id))
            work.record(InboxEvent("counts", organization_id, recipient_id))
            created, updated = created + bool(is_new), updated + (not is_new)
    result = PublishResult(created=created, updated=updated, activity_id=activity_id)
    if key is not None:
        await idempotency.remember(work, organization_id, key, result.stored())
    return result


async def withdraw(work: UnitOfWork, viewer: Viewer, group_key: str) -> int:
    """Remove the group's notifications from every inbox of the organization; how many.

    They are hidden at once (every read skips withdrawn rows) and deleted later by the
    purge. A later publish to the group brings its line back, as a new activity would.
    """
    viewer.require_service()
    check_key(group_key, parameter="withdraw.group_key")
    now = datetime.now(UTC)
    shown = group_shown(viewer.organization_id, group_key, now)
    # The inboxes' versions first, then their rows: the one lock order of every writer.
    taken = await versions.take_where(work, viewer.organization_id, shown)
    if not taken:
        return 0
    statement = (
        update(t)
        .where(shown, t.c.recipient_id.in_(taken))
        .values(withdrawn_at=now, change_version=versions.of_row())
        .returning(t.c.recipient_id)
    )
    withdrawn = (await work.conn.execute(statement)).scalars().all()
    for recipient_id in withdrawn:
        work.record(InboxEvent("counts", viewer.organization_id, recipient_id))
    return len(withdrawn)


async def _store_activity(
    work: UnitOfWork, organization_id: str, group_key: str, new: NewActivity, now: datetime
) -> int:
    values = _as_dict(new) | {
        "organization_id": organization_id,
        "group_key": group_key,
        "occurred_at": new.occurred_at or now,
        "created_at": now,
    }
    return int((await work.conn.execute(_STORE_ACTIVITY, values)).scalar_one())


_STORE_ACTIVITY = insert(a).returning(a.c.id)


def _notification_values(
    request: Publish,
    organization_id: str,
    group_key: str,
    activity_id: int,
    occurred_at: datetime,
    now: datetime,
) -> dict[str, Any]:
    content, activity = request.content, request.activity
    actions = stored_actions(content.actions)
    return _as_dict(content) | {
        "tags": unique_tags(content.tags),
        "actions": actions,
        "action_required": action_required(content.action_required, actions),
        "organization_id": organization_id,
        "group_key": group_key,
        "title": content.title or activity.title,
        "excerpt": activity.excerpt if content.excerpt is None else content.excerpt,
        "actor_id": activity.actor_id,
        "actor_name": activity.actor_name,
        "changeset": activity.changeset,
        "new_activities_count": 1,
        "activity_count": 1,
        "first_unread_activity_id": activity_id,
        "last_action_at": occurred_at,
        "activity_at": occurred_at,
        "created_at": now,
    }


# What a new activity changes on an existing notification besides its content.
def _appended(excluded: Any) -> dict[str, Any]:
    return {
        "new_activities_count": case(
            (t.c.new_activities_count < MAX_ACTIVITIES_COUNT, t.c.new_activities_count + 1),
            else_=t.c.new_activities_count,
        ),
        # The oldest unread activity: publishes may commit out of their ids' order.
        "first_unread_activity_id": case(
            (
                or_(
                    t.c.first_unread_activity_id.is_(None),
                    excluded.first_unread_activity_id < t.c.first_unread_activity_id,
                ),
                excluded.first_unread_activity_id,
            ),
            else_=t.c.first_unread_activity_id,
        ),
        "activity_count": t.c.activity_count + 1,
        "last_action_at": excluded.last_action_at,
        "activity_at": excluded.activity_at,
        "read_at": None,
        "seen_at": None,
        "dismissed_at": None,
        "withdrawn_at": None,
        "expired_at": None,
    }


# Set from the publish on every append: the line shows the thing as it is now.
_CONTENT = (
    *(item.name for item in dataclasses.fields(NotificationContent)),
    "actor_id",
    "actor_name",
    "changeset",
)


def _is_postgresql(work: UnitOfWork) -> bool:
    return work.conn.dialect.name == "postgresql"


async def _newest_id(work: UnitOfWork) -> int | None:
    """The highest notification id, where only it can tell created rows from updated ones.

    SQLite cannot say whether ON CONFLICT inserted or updated a row. The transaction holds
    its one write lock (BEGIN IMMEDIATE), so every row above this id is one it made.
    """
    if _is_postgresql(work):
        return None
    return int((await work.conn.execute(select(func.coalesce(func.max(t.c.id), 0)))).scalar_one())


async def _append(
    work: UnitOfWork, values: dict[str, Any], recipients: Sequence[str], newest: int | None
) -> Sequence[Any]:
    """Group the activity into each recipient's notification and show it there.

    Returns (notification id, recipient id, created) per recipient. PostgreSQL does both
    writes in one statement; SQLite, in process, links the returned ids in a second one.
    """
    if newest is None:
        params = values | {"recipients": list(recipients)}
        return (await work.conn.execute(_append_statement("postgresql"), params)).all()
    params = values | {"recipients": orjson.dumps(list(recipients)).decode(), "newest": newest}
    result = (await work.conn.execute(_append_statement("sqlite"), params)).all()
    link = {
        "occurred_at": values["last_action_at"],
        "activity_id": values["first_unread_activity_id"],
    }
    if result:  # every recipient of the batch may have muted it
        rows = [{"notification_id": found[0]} | link for found in result]
        await work.conn.execute(insert(na), rows)
    return result


# The values a publish writes into each recipient's notification, one parameter each.
_WRITTEN = (
    *_CONTENT,
    "organization_id",
    "group_key",
    "new_activities_count",
    "activity_count",
    "first_unread_activity_id",
    "last_action_at",
    "activity_at",
    "created_at",
)


def _not_muted(recipient: Any) -> ColumnElement[bool]:
    """No rule of the recipient's matches this publish: a criterion left null matches all."""

    def value(name: str) -> Any:
        return bindparam(name, type_=t.c[name].type)

    matches = [
        m.c.organization_id == value("organization_id"),
        m.c.recipient_id == recipient,
        or_(
            m.c.target_type.is_(None),
            func.lower(m.c.target_type) == func.lower(value("target_type")),
        ),
        or_(m.c.group_key.is_(None), m.c.group_key == value("group_key")),
        or_(m.c.project_id.is_(None), m.c.project_id == value("project_id")),
    ]
    # The category criterion, matched once publishes carry a category. Until then a
    # publish has none, so a rule that names one matches no publish.
    if "category" in _CONTENT:
        matches.append(or_(m.c.category.is_(None), m.c.category == value("category")))
    else:
        matches.append(m.c.category.is_(None))
    return ~exists().where(and_(*matches))


@lru_cache(maxsize=2)
def _append_statement(dialect: str) -> Any:
    """The one statement shape of every publish batch, whatever its size: built once.

    The recipients arrive as one array (PostgreSQL) or JSON text (SQLite) parameter and
    every other value once, so a batch of 1,000 binds 30 parameters rather than 30,000,
    and SQLAlchemy compiles the statement once rather than on every call.
    """
    is_pg = dialect == "postgresql"
    recipients = versions.recipients_table(dialect)
    # The WHERE also keeps SQLite from reading ON CONFLICT as the ON of a join.
    # The version the publish took for the recipient's inbox (``versions.take_all``).
    version = (
        select(i.c.version)
        .where(
            i.c.organization_id == bindparam("organization_id", type_=i.c.organization_id.type),
            i.c.recipient_id == recipients.c.value,
        )
        .scalar_subquery()
    )
    source = (
        select(
            *(bindparam(name, type_=t.c[name].type) for name in _WRITTEN),
            recipients.c.value,
            version,
        )
        .select_from(recipients)
        .where(_not_muted(recipients.c.value))
    )
    insert_ = (postgresql.insert if is_pg else sqlite.insert)(t)
    statement = insert_.from_select([*_WRITTEN, "recipient_id", "change_version"], source)
    excluded = statement.excluded
    changes = {name: excluded[name] for name in _CONTENT} | _appended(excluded)
    changes["change_version"] = excluded.change_version
    # PostgreSQL: a row this statement inserted has no deleting or locking transaction yet.
    is_new: ColumnElement[Any] = (
        literal_column("(xmax = 0)") if is_pg else t.c.id > bindparam("newest", type_=Integer())
    )
    upsert = statement.on_conflict_do_update(
        index_elements=[t.c.group_key, t.c.organization_id, t.c.recipient_id], set_=changes
    ).returning(t.c.id, t.c.recipient_id, is_new.label("created"))
    if not is_pg:
        return upsert
    appended = upsert.cte("appended")
    shown = insert(na).from_select(
        ["notification_id", "occurred_at", "activity_id"],
        select(
            appended.c.id,
            bindparam("last_action_at", type_=na.c.occurred_at.type),
            bindparam("first_unread_activity_id", type_=na.c.activity_id.type),
        ),
    )
    return select(appended).add_cte(shown.cte("shown"))
