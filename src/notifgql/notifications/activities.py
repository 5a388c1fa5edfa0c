"""The activities a notification shows: those published to its recipient, newest first."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, NamedTuple

from sqlalchemy import Integer, bindparam, select, tuple_

from notifgql.db.models import NotificationRow
from notifgql.db.models import activities as a
from notifgql.db.models import notification_activities as na
from notifgql.db.reader import AnySelect, Reader
from notifgql.notifications.pagination import Position


class ShownActivity(NamedTuple):
    """One activity as a notification shows it, with whether its reader has seen it yet."""

    id: int
    actor_id: str | None
    actor_name: str | None
    title: str
    excerpt: str
    changeset: Any
    occurred_at: datetime
    unread: bool


@dataclass(frozen=True, slots=True)
class ActivitySlice:
    """One window of a notification's activities, newest first."""

    items: Sequence[ShownActivity]
    has_next_page: bool


def position_of(item: ShownActivity) -> Position:
    """The activity's place in its notification's order (occurredAt, then id, descending)."""
    return Position(item.occurred_at, item.id)


def is_unread(activity_id: int, notification: NotificationRow) -> bool:
    """Whether the activity came after the notification was last read.

    Each publish makes its notification unread and its activity the first unread one
    unless an older one already is; reading clears it. So the unread activities are
    exactly those from the first unread one on.
    """
    first = notification.first_unread_activity_id
    return first is not None and activity_id >= first


async def activity_window(
    reader: Reader, notification: NotificationRow, limit: int, after: Position | None
) -> ActivitySlice:
    """Up to ``limit`` of the notification's activities after ``after``, newest first.

    ``notification`` must have been read under its viewer's scope: its id is what keeps
    another inbox's activities out.
    """
    params: dict[str, Any] = {"n_id": notification.id, "n_limit": limit + 1}
    if after is not None:
        params |= {"n_at": after.activity_at, "n_activity": after.id}
    rows = await reader.rows(_window(from_cursor=after is not None), params)
    items = [ShownActivity._make((*row, is_unread(row[0], notification))) for row in rows[:limit]]
    return ActivitySlice(items, has_next_page=len(rows) > limit)


@lru_cache(maxsize=2)
def _window(*, from_cursor: bool) -> AnySelect:
    # The link table's primary key is (notification, time, activity): the walk is its index.
    query = (
        select(
            a.c.id,
            a.c.actor_id,
            a.c.actor_name,
            a.c.title,
            a.c.excerpt,
            a.c.changeset,
            na.c.occurred_at,
        )
        .select_from(na.join(a, a.c.id == na.c.activity_id))
        .where(na.c.notification_id == bindparam("n_id", type_=na.c.notification_id.type))
        .order_by(na.c.occurred_at.desc(), na.c.activity_id.desc())
        .limit(bindparam("n_limit", type_=Integer()))
    )
    if from_cursor:
        mark = tuple_(
            bindparam("n_at", type_=na.c.occurred_at.type),
            bindparam("n_activity", type_=na.c.activity_id.type),
        )
        query = query.where(tuple_(na.c.occurred_at, na.c.activity_id) < mark)
    return query
