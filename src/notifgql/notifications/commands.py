"""State changes of the viewer's inbox, each one SQL statement inside the caller's unit of work."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from sqlalchemy import ColumnElement, and_, case, func, insert, select, true, update

from notifgql.auth import Viewer
from notifgql.db.models import notifications as t
from notifgql.db.reader import EngineReader
from notifgql.errors import BadUserInput, NotFound
from notifgql.notifications import versions
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
from notifgql.notifications.events import Inbox, InboxEvent
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
from notifgql.notifications.filters import NotificationFilter, where
from notifgql.notifications.limits import (
    MAX_ACTIVITIES_COUNT,
    MAX_MARK_IDS,
    MAX_OPAQUE_ID_LENGTH,
    MAX_SNOOZE_DAYS,
    MAX_TEXT_LENGTH,
    MAX_TITLE_LENGTH,
)
from notifgql.notifications.queries import Record, as_record, get_notification
from notifgql.notifications.unit_of_work import UnitOfWork


def _now() -> datetime:
    return datetime.now(UTC)


def _inbox(viewer: Viewer) -> Inbox:
    return (viewer.organization_id, viewer.recipient_id)


def _by_id(viewer: Viewer, notification_id: int) -> ColumnElement[bool]:
    return where(viewer, NotificationFilter(ids=(notification_id,)))


async def _change_one(
    work: UnitOfWork,
    viewer: Viewer,
    notification_id: int,
    values: Mapping[str, Any],
    needed: ColumnElement[bool],
) -> Record:
    """Apply ``values`` where ``needed`` holds; return the row whether or not it changed.

    Only a real change writes and publishes, which makes every one of these idempotent.
    The notification is looked up by id, so a snoozed one is found too.
    """
    found = _by_id(viewer, notification_id)
    version = await versions.take(work, _inbox(viewer))
    values = {**values, "change_version": version}
    updated = (
        await work.conn.execute(update(t).where(found, needed).values(**values).returning(t))
    ).first()
    if updated is not None:
        changed = as_record(updated)
        work.record(InboxEvent("updated", viewer.organization_id, viewer.recipient_id, changed.id))
        work.record(InboxEvent("counts", viewer.organization_id, viewer.recipient_id))
        return changed
    current = await get_notification(EngineReader(work.conn), viewer, notification_id)
    if current is None:
        raise NotFound(f"Notification {notification_id} not found", parameter="id")
    return current


def _read(now: datetime) -> dict[str, Any]:
    """What reading changes: readAt, seenAt (reading implies seeing), and unread activities.

    Activity numbers are reset only where notifgql keeps them (publish); where the
    publisher set them itself (createNotification), they stay what it said.
    """
    ours = t.c.activity_count > 0
    return {
        "read_at": now,
        "seen_at": func.coalesce(t.c.seen_at, now),
        "new_activities_count": case((ours, 0), else_=t.c.new_activities_count),
        "first_unread_activity_id": case((ours, None), else_=t.c.first_unread_activity_id),
    }


async def mark_read(work: UnitOfWork, viewer: Viewer, notification_id: int) -> Record:
    """Set readAt (and seenAt) if unset; its activities are read then too."""
    values = _read(_now())
    return await _change_one(work, viewer, notification_id, values, t.c.read_at.is_(None))


async def mark_unread(work: UnitOfWork, viewer: Viewer, notification_id: int) -> Record:
    """Clear readAt; seenAt stays, the person has still seen it."""
    values = {"read_at": None}
    return await _change_one(work, viewer, notification_id, values, t.c.read_at.is_not(None))


async def dismiss(work: UnitOfWork, viewer: Viewer, notification_id: int) -> Record:
    """Set dismissedAt if unset."""
    values = {"dismissed_at": _now()}
    return await _change_one(work, viewer, notification_id, values, t.c.dismissed_at.is_(None))


async def undismiss(work: UnitOfWork, viewer: Viewer, notification_id: int) -> Record:
    """Clear dismissedAt."""
    values = {"dismissed_at": None}
    return await _change_one(work, viewer, notification_id, values, t.c.dismissed_at.is_not(None))


async def snooze(work: UnitOfWork, viewer: Viewer, notification_id: int, until: datetime) -> Record:
    """Hide the notification from every list and count until ``until``, snoozed or not.

    It comes back then as unread, at the top of the list (see ``snoozing``).
    """
    check_time(until, parameter="until")
    now = _now()
    if until.tzinfo is None:
        until = until.replace(tzinfo=UTC)
    if until <= now:
        raise BadUserInput.about("until", "must be in the future")
    if until > now + timedelta(days=MAX_SNOOZE_DAYS):
        raise BadUserInput.about("until", f"must be at most {MAX_SNOOZE_DAYS} days ahead")
    values = {"snoozed_until": until}
    return await _change_one(work, viewer, notification_id, values, true())


async def unsnooze(work: UnitOfWork, viewer: Viewer, notification_id: int) -> Record:
    """Show the notification again now, as it was; nothing changes if it is not snoozed."""
    values = {"snoozed_until": None}
    return await _change_one(work, viewer, notification_id, values, t.c.snoozed_until.is_not(None))


async def mark_seen(work: UnitOfWork, viewer: Viewer, ids: Sequence[int]) -> int:
    """Set seenAt on those of ``ids`` that are the viewer's and unseen; returns rows changed."""
    if len(ids) > MAX_MARK_IDS:
        raise BadUserInput.about("ids", f"may hold at most {MAX_MARK_IDS} ids")
    if not ids:
        return 0
    matches = _in_id_order(where(viewer, NotificationFilter(ids=tuple(ids))), t.c.seen_at.is_(None))
    version = await versions.take(work, _inbox(viewer))
    statement = (
        update(t).where(matches).values(seen_at=_now(), change_version=version).returning(t.c.id)
    )
    changed = (await work.conn.execute(statement)).scalars().all()
    for notification_id in changed:
        work.record(
            InboxEvent("updated", viewer.organization_id, viewer.recipient_id, notification_id)
        )
    if changed:
        work.record(InboxEvent("counts", viewer.organization_id, viewer.recipient_id))
    return len(changed)


async def mark_all_seen(work: UnitOfWork, viewer: Viewer, spec: NotificationFilter) -> int:
    """Set seenAt on every unseen match, in one UPDATE; one counts event, not one per row."""
    matches = _in_id_order(where(viewer, spec), t.c.seen_at.is_(None))
    version = await versions.take(work, _inbox(viewer))
    statement = update(t).where(matches).values(seen_at=_now(), change_version=version)
    return await _bulk(work, viewer, statement)


async def mark_all_read(work: UnitOfWork, viewer: Viewer, spec: NotificationFilter) -> int:
    """Set readAt (and seenAt) on every unread match, in one UPDATE."""
    matches = _in_id_order(where(viewer, spec), t.c.read_at.is_(None))
    version = await versions.take(work, _inbox(viewer))
    statement = update(t).where(matches).values(**_read(_now()), change_version=version)
    return await _bulk(work, viewer, statement)


def _in_id_order(*conditions: ColumnElement[bool]) -> ColumnElement[bool]:
    """Rows matching ``conditions``, locked in id order before the UPDATE touches them.

    A plain multi-row UPDATE locks rows in whatever order its plan visits them, so two bulk
    marks with different filters (one walking an index, the other the table) can each hold
    a row the other waits for: a deadlock. Locking them all in one global order, ids
    ascending, in a ``SELECT … ORDER BY id FOR UPDATE`` makes that wait a queue instead.
    The conditions are repeated outside so a row changed meanwhile is not counted twice.
    SQLite has one writer at a time and ignores FOR UPDATE.
    """
    locked = select(t.c.id).where(*conditions).order_by(t.c.id).with_for_update()
    return and_(t.c.id.in_(locked.scalar_subquery()), *conditions)


async def _bulk(work: UnitOfWork, viewer: Viewer, statement: Any) -> int:
    changed = int((await work.conn.execute(statement)).rowcount)
    if changed:
        work.record(InboxEvent("counts", viewer.organization_id, viewer.recipient_id))
    return changed


async def require_owned(work: UnitOfWork, viewer: Viewer, ids: Sequence[int]) -> None:
    """Raise NotFound unless every one of ``ids`` is the viewer's."""
    unique = tuple(set(ids))
    if not unique:
        return
    query = select(t.c.id).where(where(viewer, NotificationFilter(ids=unique)))
    found = set((await work.conn.execute(query)).scalars().all())
    missing = sorted(set(unique) - found)
    if missing:
        raise NotFound(f"Notification {missing[0]} not found", parameter="id")


@dataclass(frozen=True, slots=True)
class NewNotification:
    """What a service publishes into one recipient's inbox.

    These fields are the one declaration of what a publisher sends: the GraphQL input is
    generated from them.
    """

    # The new notification's name in errors: ``notification.<field>``.
    OWNER: ClassVar[str] = "notification"

    recipient_id: OpaqueId = field(
        metadata=described(
            f"Your own id for the recipient: 1 to {MAX_OPAQUE_ID_LENGTH} characters, no "
            "control characters, kept exactly as sent."
        )
    )
    title: str
    actor_id: OpaqueId | None = field(
        default=None, metadata=described("Your own id for who caused it; same rules.")
    )
    actor_name: str | None = None
    description: str | None = None
    excerpt: str = ""
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
    new_activities_count: int = 0
    first_unread_activity_id: Id | None = None
    changeset: Any = field(default_factory=list)
    last_action_at: datetime | None = None
    created_at: datetime | None = None
    category: str | None = field(default=None, metadata=described(CATEGORY))
    tags: tuple[str, ...] = field(default_factory=tuple, metadata=described(TAGS))
    actions: tuple[NewAction, ...] = field(default_factory=tuple, metadata=described(ACTIONS))

    @classmethod
    def from_client(cls, values: Mapping[str, Any]) -> NewNotification:
        """The notification a door's values describe, by field name; ids may still be text."""
        return from_client(cls, cls.OWNER, values)


def _shallow(new: NewNotification) -> dict[str, Any]:
    # Not dataclasses.asdict: it deep-copies the changeset recursively, and a client's
    # changeset may be nested a thousand levels deep before validation refuses it.
    return {item.name: getattr(new, item.name) for item in fields(new)}


def validate_new(new: NewNotification) -> None:
    """Refuse what the inbox could not show or store well."""

    def name(field: str) -> str:
        return f"{new.OWNER}.{field}"

    if not new.title.strip():
        raise BadUserInput.about(name("title"), "must not be empty")
    if len(new.title) > MAX_TITLE_LENGTH:
        raise BadUserInput.about(name("title"), f"is longer than {MAX_TITLE_LENGTH} characters")
    types = hints(NewNotification)
    for field_name, value in _shallow(new).items():
        if isinstance(marker(types[field_name]), OpaqueIdText) and value is not None:
            parse_opaque_id(value, parameter=name(field_name))
        elif isinstance(value, str):
            if len(value) > MAX_TEXT_LENGTH:
                raise BadUserInput.about(
                    name(field_name), f"is longer than {MAX_TEXT_LENGTH} characters"
                )
            check_text(value, parameter=name(field_name))
        elif isinstance(value, datetime):
            check_time(value, parameter=name(field_name))
    if not 0 <= new.new_activities_count <= MAX_ACTIVITIES_COUNT:
        raise BadUserInput.about(
            name("new_activities_count"), f"must be between 0 and {MAX_ACTIVITIES_COUNT}"
        )
    encode_changeset(new.changeset, parameter=name("changeset"))
    check_labels(new.OWNER, new.category, new.tags, new.actions)


async def create_notification(work: UnitOfWork, viewer: Viewer, new: NewNotification) -> Record:
    """Publish ``new`` into its recipient's inbox in the service's own organization."""
    viewer.require_service()
    validate_new(new)
    values = _shallow(new)
    values["created_at"] = new.created_at or _now()
    values["activity_at"] = new.last_action_at or values["created_at"]
    values["organization_id"] = viewer.organization_id
    values["tags"] = unique_tags(new.tags)
    values["actions"] = stored_actions(new.actions)
    values["action_required"] = action_required(new.action_required, values["actions"])
    values["change_version"] = await versions.take(work, (viewer.organization_id, new.recipient_id))
    row = as_record((await work.conn.execute(insert(t).values(**values).returning(t))).one())
    work.record(InboxEvent("created", row.organization_id, row.recipient_id, row.id))
    work.record(InboxEvent("counts", row.organization_id, row.recipient_id))
    return row
