"""The notification filter, one value object for every door, and its SQL."""

from __future__ import annotations

import operator
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Text, and_, bindparam, func, literal

from notifgql.auth import Viewer
from notifgql.db.models import notifications as t
from notifgql.errors import BadUserInput
from notifgql.ids import parse_id
from notifgql.notifications.limits import MAX_FILTER_IDS


def check_text(value: str | None, *, parameter: str) -> None:
    """Refuse text no database stores: NUL characters (PostgreSQL) and lone surrogates."""
    if value is None:
        return
    if "\x00" in value:
        raise BadUserInput(f"{parameter} contains a NUL character", parameter=parameter)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise BadUserInput(f"{parameter} is not valid Unicode text", parameter=parameter) from None


def check_time(value: datetime | None, *, parameter: str) -> None:
    """Refuse a time whose UTC equivalent lies outside years 1..9999 (naive means UTC)."""
    if value is None or value.tzinfo is None:
        return
    try:
        value.astimezone(UTC)
    except OverflowError:
        raise BadUserInput(f"{parameter} is out of range", parameter=parameter) from None


@dataclass(frozen=True, slots=True)
class NotificationFilter:
    """Conditions combined with AND; None means "any". Time bounds are exclusive."""

    ids: tuple[int, ...] | None = None
    read: bool | None = None
    seen: bool | None = None
    dismissed: bool | None = None
    important: bool | None = None
    mention: bool | None = None
    action_required: bool | None = None
    made_by_automation: bool | None = None
    target_type: str | None = None
    project_id: int | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    last_action_after: datetime | None = None
    last_action_before: datetime | None = None

    def __post_init__(self) -> None:
        # Refused here, as bad input, rather than by the driver as an internal error.
        check_text(self.target_type, parameter="target_type")
        for name in ("created_after", "created_before", "last_action_after", "last_action_before"):
            check_time(getattr(self, name), parameter=name)


EVERYTHING = NotificationFilter()


def parse_ids(values: Iterable[str | int], *, parameter: str) -> tuple[int, ...]:
    """Parse a list of ids given by a client; any malformed one is a bad input."""
    ids = []
    for value in values:
        number = parse_id(value)
        if number is None:
            raise BadUserInput(f"{value!r} is not a notification id", parameter=parameter)
        ids.append(number)
        if len(ids) > MAX_FILTER_IDS:
            raise BadUserInput(f"At most {MAX_FILTER_IDS} ids at once", parameter=parameter)
    return tuple(ids)


def parse_single_id(value: str | int, *, parameter: str) -> int:
    """Parse one id given by a client in a filter."""
    number = parse_id(value)
    if number is None:
        raise BadUserInput(f"{value!r} is not an id", parameter=parameter)
    return number


def inbox(viewer: Viewer) -> ColumnElement[bool]:
    """The viewer's inbox: their recipient id within their organization."""
    return and_(
        t.c.organization_id == viewer.organization_id,
        t.c.recipient_id == viewer.recipient_id,
    )


# A filter's shape is what it compares, not with which values: statements are built and
# compiled once per shape (see queries.py) and executed with the values as parameters.
Shape = tuple[tuple[Any, ...], ...]
_STATES = {"read": t.c.read_at, "seen": t.c.seen_at, "dismissed": t.c.dismissed_at}
_FLAGS = {
    "important": t.c.important,
    "mention": t.c.mention,
    "action_required": t.c.action_required,
    "made_by_automation": t.c.made_by_automation,
}
# (filter field, column, operator): the time bounds are exclusive.
_BOUNDS = (
    ("created_after", t.c.created_at, operator.gt),
    ("created_before", t.c.created_at, operator.lt),
    ("last_action_after", t.c.last_action_at, operator.gt),
    ("last_action_before", t.c.last_action_at, operator.lt),
)


def bound(viewer: Viewer, spec: NotificationFilter) -> tuple[Shape, dict[str, Any]]:
    """The shape of ``spec`` inside the viewer's inbox, and the parameters it binds."""
    params: dict[str, Any] = {"w_org": viewer.organization_id, "w_rcp": viewer.recipient_id}
    shape: list[tuple[Any, ...]] = []
    if spec.ids is not None:
        shape.append(("ids", bool(spec.ids)))
        params["w_ids"] = list(spec.ids)
    for name in (*_STATES, *_FLAGS):
        wanted = getattr(spec, name)
        if wanted is not None:
            shape.append((name, wanted))
    for name in ("target_type", "project_id", *(entry[0] for entry in _BOUNDS)):
        value = getattr(spec, name)
        if value is not None:
            shape.append((name,))
            params[f"w_{name}"] = value
    return tuple(shape), params


@lru_cache(maxsize=512)
def where_shape(shape: Shape) -> ColumnElement[bool]:
    """The WHERE clause of a shape, inside an inbox, its values left as parameters."""
    return _clause(shape, None)


def where(viewer: Viewer, spec: NotificationFilter) -> ColumnElement[bool]:
    """The WHERE clause for ``spec`` inside the viewer's inbox, its values bound in."""
    shape, params = bound(viewer, spec)
    return _clause(shape, params)


def _clause(shape: Shape, values: dict[str, Any] | None) -> ColumnElement[bool]:
    def param(name: str, type_: Any, *, expanding: bool = False) -> Any:
        if values is None:
            return bindparam(name, type_=type_, expanding=expanding)
        return bindparam(name, values[name], type_=type_, expanding=expanding)

    clauses: list[ColumnElement[bool]] = [
        t.c.organization_id == param("w_org", t.c.organization_id.type),
        t.c.recipient_id == param("w_rcp", t.c.recipient_id.type),
    ]
    bounds = {name: (column, compare) for name, column, compare in _BOUNDS}
    for name, *wanted in shape:
        if name == "ids":
            clauses.append(
                t.c.id.in_(param("w_ids", t.c.id.type, expanding=True))
                if wanted[0]
                else literal(False)
            )
        elif name in _STATES:
            column = _STATES[name]
            clauses.append(column.is_not(None) if wanted[0] else column.is_(None))
        elif name in _FLAGS:
            clauses.append(_FLAGS[name].is_(wanted[0]))
        elif name == "target_type":
            # Both sides lowered by the database: Python's lower() folds non-ASCII letters
            # that SQLite's does not, and then a stored "TÂCHE" would not match itself.
            value = param("w_target_type", Text())
            clauses.append(func.lower(t.c.target_type) == func.lower(value))
        elif name == "project_id":
            clauses.append(t.c.project_id == param("w_project_id", BigInteger()))
        else:
            column, compare = bounds[name]
            clauses.append(compare(column, param(f"w_{name}", column.type)))
    return and_(*clauses)
