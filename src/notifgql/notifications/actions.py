"""Categories, tags and actions: what a publisher declares, and completing an action.

Actions are stored with the notification, as a JSON list of objects that each carry their
status. ``action_required`` is kept as the effective flag: true while an action is
pending, else (when there are no actions) what the publisher said. Completing the last
pending action clears it in the same UPDATE, so lists, counts and every REST dialect's
filter follow without knowing about actions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import bindparam, select, update

from notifgql.auth import Viewer
from notifgql.db.models import notifications as t
from notifgql.errors import BadUserInput, NotFound
from notifgql.notifications import versions
from notifgql.notifications.events import InboxEvent
from notifgql.notifications.fields import check_text, described, from_client
from notifgql.notifications.filters import NotificationFilter, group_shown, where
from notifgql.notifications.limits import (
    MAX_ACTION_ID_LENGTH,
    MAX_ACTION_LABEL_LENGTH,
    MAX_ACTION_URL_LENGTH,
    MAX_ACTIONS,
    MAX_CATEGORY_LENGTH,
    MAX_KEY_LENGTH,
    MAX_TAG_LENGTH,
    MAX_TAGS,
)
from notifgql.notifications.queries import Record, as_record
from notifgql.notifications.unit_of_work import UnitOfWork

# What clients are told of these fields, wherever a publisher sends them.
CATEGORY = f"The inbox tab it belongs in: 1 to {MAX_CATEGORY_LENGTH} characters."
TAGS = f"Labels to filter by: at most {MAX_TAGS}, each 1 to {MAX_TAG_LENGTH} characters."
ACTIONS = (
    f"At most {MAX_ACTIONS} things the recipient may do, each with an id unique within the"
    " notification; while one is pending, actionRequired is true (else it is as sent)."
)

PENDING = "PENDING"
DONE = "DONE"


@dataclass(frozen=True, slots=True)
class NewAction:
    """Something the recipient may do about a notification, as its publisher declares it."""

    OWNER: ClassVar[str] = "action"

    id: str = field(
        metadata=described(
            "Your own id for it, unique within the notification: the actionId that completes it."
        )
    )
    label: str
    url: str | None = None
    primary: bool = False

    @classmethod
    def from_client(cls, values: Mapping[str, Any]) -> NewAction:
        """The action a door's values describe, by field name."""
        return from_client(cls, cls.OWNER, values)


def _check_length(value: str, most: int, *, parameter: str, empty: str, long: str) -> None:
    if not value.strip():
        raise BadUserInput.about(parameter, empty)
    if len(value) > most:
        raise BadUserInput.about(parameter, f"{long} longer than {most} characters")
    check_text(value, parameter=parameter)


def check_labels(
    owner: str, category: str | None, tags: Sequence[str], actions: Sequence[NewAction]
) -> None:
    """Refuse a category, tags or actions the inbox could not show or tell apart."""
    if category is not None:
        parameter = f"{owner}.category"
        _check_length(
            category, MAX_CATEGORY_LENGTH, parameter=parameter, empty="must not be empty", long="is"
        )
    parameter = f"{owner}.tags"
    if len(tags) > MAX_TAGS:
        raise BadUserInput.about(parameter, f"may hold at most {MAX_TAGS} tags")
    for tag in tags:
        _check_length(
            tag,
            MAX_TAG_LENGTH,
            parameter=parameter,
            empty="may not hold an empty tag",
            long="may not hold a tag",
        )
    parameter = f"{owner}.actions"
    if len(actions) > MAX_ACTIONS:
        raise BadUserInput.about(parameter, f"may hold at most {MAX_ACTIONS} actions")
    seen: set[str] = set()
    for action in actions:
        texts = [("id", action.id, MAX_ACTION_ID_LENGTH)]
        texts.append(("label", action.label, MAX_ACTION_LABEL_LENGTH))
        if action.url is not None:
            texts.append(("url", action.url, MAX_ACTION_URL_LENGTH))
        for name, value, most in texts:
            _check_length(
                value,
                most,
                parameter=parameter,
                empty=f"may not hold an action with an empty {name}",
                long=f"may not hold an action whose {name} is",
            )
        if action.id in seen:
            raise BadUserInput.about(parameter, f"holds two actions with id {action.id!r}")
        seen.add(action.id)


def unique_tags(tags: Sequence[str]) -> list[str]:
    """The tags in the order first given, each once."""
    return list(dict.fromkeys(tags))


def stored_actions(actions: Sequence[NewAction]) -> list[dict[str, Any]]:
    """The actions as the ``actions`` column holds them: all pending."""
    return [
        {
            "id": action.id,
            "label": action.label,
            "url": action.url,
            "primary": action.primary,
            "status": PENDING,
            "completed_at": None,
        }
        for action in actions
    ]


def action_required(flag: bool, actions: Sequence[Mapping[str, Any]]) -> bool:
    """The effective flag: a pending action, or else the publisher's flag when none."""
    if actions:
        return any(action["status"] == PENDING for action in actions)
    return flag


def _completed(
    actions: Sequence[Mapping[str, Any]], action_id: str, now: datetime
) -> list[dict[str, Any]] | None:
    """The actions with ``action_id`` done, or None when it already was."""
    changed = None
    result = []
    for action in actions:
        item = dict(action)
        if item["id"] == action_id and item["status"] != DONE:
            item["status"], item["completed_at"] = DONE, now.isoformat()
            changed = True
        result.append(item)
    return result if changed else None


def _names(actions: Sequence[Mapping[str, Any]], action_id: str) -> bool:
    return any(action["id"] == action_id for action in actions)


def _check_action_id(action_id: str, *, parameter: str) -> None:
    check_text(action_id, parameter=parameter)


# One row's new actions and flag, by id: one statement run for every row a call changes.
_SET_ACTIONS = (
    update(t)
    .where(t.c.id == bindparam("b_id", type_=t.c.id.type))
    .values(
        actions=bindparam("b_actions", type_=t.c.actions.type),
        action_required=bindparam("b_required", type_=t.c.action_required.type),
        change_version=versions.of_row(),
    )
)


async def complete_action(
    work: UnitOfWork, viewer: Viewer, notification_id: int, action_id: str
) -> Record:
    """Mark one action of the viewer's notification done; done already changes nothing.

    The row is locked while its actions are rewritten (PostgreSQL: FOR UPDATE; SQLite's
    transactions already hold the one write lock), so no concurrent completion is lost.
    """
    _check_action_id(action_id, parameter="action_id")
    mine = where(viewer, NotificationFilter(ids=(notification_id,)))
    await versions.take(work, (viewer.organization_id, viewer.recipient_id))
    found = (await work.conn.execute(select(t).where(mine).with_for_update())).first()
    if found is None:
        raise NotFound(f"Notification {notification_id} not found", parameter="id")
    row = as_record(found)
    if not _names(row.actions, action_id):
        raise BadUserInput.about("action_id", f"names no action of notification {notification_id}")
    actions = _completed(row.actions, action_id, datetime.now(UTC))
    if actions is None:
        return row
    required = action_required(row.action_required, actions)
    await work.conn.execute(
        _SET_ACTIONS, {"b_id": row.id, "b_actions": actions, "b_required": required}
    )
    work.record(InboxEvent("updated", row.organization_id, row.recipient_id, row.id))
    work.record(InboxEvent("counts", row.organization_id, row.recipient_id))
    return row._replace(actions=actions, action_required=required)


async def complete_actions(work: UnitOfWork, viewer: Viewer, group_key: str, action_id: str) -> int:
    """Mark the action done on the group's notification in every inbox of the service's
    organization; returns how many changed. Rows are locked in id order, as bulk marks do,
    so concurrent calls queue instead of deadlocking or losing a completion."""
    viewer.require_service()
    if not group_key.strip() or len(group_key) > MAX_KEY_LENGTH:
        raise BadUserInput.about(
            "complete_actions.group_key", f"must be 1 to {MAX_KEY_LENGTH} characters"
        )
    check_text(group_key, parameter="complete_actions.group_key")
    _check_action_id(action_id, parameter="action_id")
    now = datetime.now(UTC)
    of_group = group_shown(viewer.organization_id, group_key, now)
    # The inboxes' versions first, then their rows: the one lock order of every writer.
    taken = await versions.take_where(work, viewer.organization_id, of_group)
    shown = (
        select(t.c.id, t.c.recipient_id, t.c.action_required, t.c.actions)
        .where(of_group, t.c.recipient_id.in_(taken))
        .order_by(t.c.id)
        .with_for_update()
    )
    rows = (await work.conn.execute(shown)).all() if taken else []
    if rows and not any(_names(row.actions, action_id) for row in rows):
        raise BadUserInput.about("action_id", f"names no action of group {group_key!r}")
    changes = []
    for row in rows:
        actions = _completed(row.actions, action_id, now)
        if actions is not None:
            required = action_required(row.action_required, actions)
            changes.append({"b_id": row.id, "b_actions": actions, "b_required": required})
            work.record(InboxEvent("updated", viewer.organization_id, row.recipient_id, row.id))
            work.record(InboxEvent("counts", viewer.organization_id, row.recipient_id))
    if changes:
        await work.conn.execute(_SET_ACTIONS, changes)
    return len(changes)
