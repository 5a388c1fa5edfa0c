"""Reads of the viewer's inbox."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from notifgql.auth import Viewer
from notifgql.db.models import notifications as t
from notifgql.notifications.filters import NotificationFilter, where
from notifgql.notifications.pagination import Position, Window

Record = Row[Any]
ORDER = (t.c.activity_at.desc(), t.c.id.desc())
REVERSE_ORDER = (t.c.activity_at.asc(), t.c.id.asc())


@dataclass(frozen=True, slots=True)
class Slice:
    """One window of the list, in list order."""

    rows: Sequence[Record]
    has_next_page: bool
    has_previous_page: bool


@dataclass(frozen=True, slots=True)
class Counts:
    """Badge numbers over the notifications a filter matches."""

    total: int
    unread: int
    unseen: int
    important: int
    mentions: int
    action_required: int


def position_of(row: Record) -> Position:
    """The row's place in the list order."""
    return Position(row.activity_at, row.id)


async def get_notification(
    conn: AsyncConnection, viewer: Viewer, notification_id: int
) -> Record | None:
    """The viewer's notification ``notification_id``, or None (absent and not-yours alike)."""
    query = select(t).where(where(viewer, NotificationFilter()), t.c.id == notification_id)
    return (await conn.execute(query)).first()


async def list_window(
    conn: AsyncConnection, viewer: Viewer, spec: NotificationFilter, window: Window
) -> Slice:
    """The rows of ``window`` in list order, and whether more lie beyond each end.

    One row past the limit is fetched to learn whether the window's far end has more. For
    the near end, a cursor we issued always points at a row that exists (rows are never
    deleted), so a window that starts from a cursor has a page on that side.
    """
    query = select(t).where(where(viewer, spec)).limit(window.limit + 1)
    key = tuple_(t.c.activity_at, t.c.id)
    if window.position is not None:
        mark = tuple_(window.position.activity_at, window.position.id)
        query = query.where(key > mark if window.backward else key < mark)
    query = query.order_by(*(REVERSE_ORDER if window.backward else ORDER))
    rows = list((await conn.execute(query)).all())
    beyond = len(rows) > window.limit
    del rows[window.limit :]
    from_cursor = window.position is not None
    if window.backward:
        rows.reverse()
        return Slice(rows, has_next_page=from_cursor, has_previous_page=beyond)
    return Slice(rows, has_next_page=beyond, has_previous_page=from_cursor)


async def list_page(
    conn: AsyncConnection, viewer: Viewer, spec: NotificationFilter, offset: int, limit: int
) -> Sequence[Record]:
    """One page of the list by offset."""
    query = select(t).where(where(viewer, spec)).order_by(*ORDER).offset(offset).limit(limit)
    return (await conn.execute(query)).all()


async def count(conn: AsyncConnection, viewer: Viewer, spec: NotificationFilter) -> int:
    """How many notifications ``spec`` matches."""
    query = select(func.count()).select_from(t).where(where(viewer, spec))
    return int((await conn.execute(query)).scalar_one())


async def counts(conn: AsyncConnection, viewer: Viewer, spec: NotificationFilter) -> Counts:
    """Badge numbers in one scan: each counts the matching notifications in that state."""
    n = func.count
    query = select(
        n(),
        n().filter(t.c.read_at.is_(None)),
        n().filter(t.c.seen_at.is_(None)),
        n().filter(t.c.important.is_(True)),
        n().filter(t.c.mention.is_(True)),
        n().filter(t.c.action_required.is_(True)),
    ).where(where(viewer, spec))
    row = (await conn.execute(query)).one()
    return Counts(*(int(value) for value in row))
