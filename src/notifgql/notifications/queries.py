"""Reads of the viewer's inbox."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, Integer, and_, bindparam, func, or_, select, tuple_

from notifgql.auth import Viewer
from notifgql.db.models import NotificationRow
from notifgql.db.models import notifications as t
from notifgql.db.reader import AnySelect, Reader
from notifgql.notifications.filters import (
    NotificationFilter,
    Shape,
    bound,
    narrowing,
    where_inbox,
    where_shape,
)
from notifgql.notifications.pagination import Position, Window

Record = NotificationRow


def as_record(row: Sequence[Any]) -> Record:
    """A selected ``notifications`` row as its typed tuple.

    Statements select whole rows in table order, which is the row class's order; reading a
    typed tuple's attribute costs what an index does, a tenth of SQLAlchemy's by-name access.
    """
    return tuple.__new__(NotificationRow, row)


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


async def get_notification(reader: Reader, viewer: Viewer, notification_id: int) -> Record | None:
    """The viewer's notification ``notification_id``, or None (absent and not-yours alike)."""
    shape, params = bound(viewer, NotificationFilter(ids=(notification_id,)))
    rows = await reader.rows(_rows(shape), params)
    return as_record(rows[0]) if rows else None


async def list_window(
    reader: Reader, viewer: Viewer, spec: NotificationFilter, window: Window
) -> Slice:
    """The rows of ``window`` in list order, and whether more lie beyond each end.

    One row past the limit is fetched to learn whether the window's far end has more. For
    the near end, a cursor we issued always points at a row that exists (rows are never
    deleted), so a window that starts from a cursor has a page on that side.
    """
    shape, params = bound(viewer, spec)
    from_cursor = window.position is not None
    params["w_limit"] = window.limit + 1
    if window.position is not None:
        params["w_at"], params["w_id"] = window.position.activity_at, window.position.id
    statement = _window(shape, backward=window.backward, from_cursor=from_cursor)
    rows = [as_record(row) for row in await reader.rows(statement, params)]
    beyond = len(rows) > window.limit
    del rows[window.limit :]
    if window.backward:
        rows.reverse()
        return Slice(rows, has_next_page=from_cursor, has_previous_page=beyond)
    return Slice(rows, has_next_page=beyond, has_previous_page=from_cursor)


async def list_page(
    reader: Reader, viewer: Viewer, spec: NotificationFilter, offset: int, limit: int
) -> Sequence[Record]:
    """One page of the list by offset."""
    shape, params = bound(viewer, spec)
    params |= {"w_offset": offset, "w_limit": limit}
    return [as_record(row) for row in await reader.rows(_page(shape), params)]


async def count(reader: Reader, viewer: Viewer, spec: NotificationFilter) -> int:
    """How many notifications ``spec`` matches."""
    shape, params = bound(viewer, spec)
    ((total,),) = await reader.rows(_count(shape), params)
    return int(total)


async def counts(reader: Reader, viewer: Viewer, spec: NotificationFilter) -> Counts:
    """Badge numbers in one scan: each counts the matching notifications in that state."""
    shape, params = bound(viewer, spec)
    (row,) = await reader.rows(_counts(shape), params)
    return Counts(*(int(value) for value in row))


# Tabs with a badge each ask for many counts in one request; more than this many filters
# are counted in several statements rather than one ever wider one.
MAX_COUNTS_PER_STATEMENT = 16


async def counts_of(
    reader: Reader, viewer: Viewer, specs: Sequence[NotificationFilter]
) -> list[Counts]:
    """Badge numbers for each of several filters, in one scan of the inbox per (up to)
    ``MAX_COUNTS_PER_STATEMENT`` filters rather than one statement each: a tabbed inbox
    asks for five badges on every load."""
    found: list[Counts] = []
    for start in range(0, len(specs), MAX_COUNTS_PER_STATEMENT):
        chunk = specs[start : start + MAX_COUNTS_PER_STATEMENT]
        if len(chunk) == 1:
            found.append(await counts(reader, viewer, chunk[0]))
            continue
        shapes: list[Shape] = []
        params: dict[str, Any] = {}
        for n, spec in enumerate(chunk):
            shape, bound_params = bound(viewer, spec, f"w{n}_")
            shapes.append(shape)
            # The inbox's parameters are shared: one time for every filter, too.
            params = bound_params | params
        (row,) = await reader.rows(_counts_of(tuple(shapes)), params)
        width = len(_COUNTED)
        found.extend(
            Counts(*(int(value) for value in row[n * width : (n + 1) * width]))
            for n in range(len(chunk))
        )
    return found


async def counts_until(
    reader: Reader, viewer: Viewer, spec: NotificationFilter
) -> tuple[Counts, datetime | None]:
    """The badge numbers, and when the first matching notification expires: they change
    then with no event, so a live badge must be read again at that time."""
    shape, params = bound(viewer, spec)
    (row,) = await reader.rows(_counts_until(shape), params)
    *numbers, expires = row
    return Counts(*(int(value) for value in numbers)), expires


# Statements are built once per filter shape and reused: building one costs ~100 µs of
# Python (and its cache key as much again), more than the rest of a badge request.
_Int = Integer()


@lru_cache(maxsize=512)
def _rows(shape: Shape) -> AnySelect:
    return select(t).where(where_shape(shape))


@lru_cache(maxsize=512)
def _window(shape: Shape, *, backward: bool, from_cursor: bool) -> AnySelect:
    query = select(t).where(where_shape(shape)).limit(bindparam("w_limit", type_=_Int))
    if from_cursor:
        key = tuple_(t.c.activity_at, t.c.id)
        mark = tuple_(
            bindparam("w_at", type_=t.c.activity_at.type), bindparam("w_id", type_=t.c.id.type)
        )
        query = query.where(key > mark if backward else key < mark)
    return query.order_by(*(REVERSE_ORDER if backward else ORDER))


@lru_cache(maxsize=512)
def _page(shape: Shape) -> AnySelect:
    return (
        select(t)
        .where(where_shape(shape))
        .order_by(*ORDER)
        .offset(bindparam("w_offset", type_=_Int))
        .limit(bindparam("w_limit", type_=_Int))
    )


@lru_cache(maxsize=512)
def _count(shape: Shape) -> AnySelect:
    return select(func.count()).select_from(t).where(where_shape(shape))


# What each badge number counts among the matches, in the order of ``Counts``' fields.
_COUNTED: tuple[ColumnElement[bool] | None, ...] = (
    None,
    t.c.read_at.is_(None),
    t.c.seen_at.is_(None),
    t.c.important.is_(True),
    t.c.mention.is_(True),
    t.c.action_required.is_(True),
)


def _badge_numbers() -> tuple[Any, ...]:
    return tuple(
        func.count() if state is None else func.count().filter(state) for state in _COUNTED
    )


@lru_cache(maxsize=256)
def _counts_of(shapes: tuple[Shape, ...]) -> AnySelect:
    # One pass over the inbox, its index used as for one filter; each filter's numbers
    # count the rows its narrowing matches.
    narrowings = [narrowing(shape, f"w{n}_") for n, shape in enumerate(shapes)]
    numbers = [
        func.count().filter(narrow if state is None else and_(narrow, state))
        for narrow in narrowings
        for state in _COUNTED
    ]
    return select(*numbers).select_from(t).where(and_(where_inbox(), or_(*narrowings)))


@lru_cache(maxsize=512)
def _counts(shape: Shape) -> AnySelect:
    return select(*_badge_numbers()).where(where_shape(shape))


@lru_cache(maxsize=512)
def _counts_until(shape: Shape) -> AnySelect:
    # Only rows still shown match the shape, so the earliest expiry is in the future.
    return select(*_badge_numbers(), func.min(t.c.expires_at)).where(where_shape(shape))
