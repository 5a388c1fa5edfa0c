"""The notification filter, one value object for every door, and its SQL."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, and_, func, literal

from notifgql.auth import Viewer
from notifgql.db.models import notifications as t
from notifgql.errors import BadUserInput
from notifgql.ids import parse_id

MAX_FILTER_IDS = 1000


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


def where(viewer: Viewer, spec: NotificationFilter) -> ColumnElement[bool]:
    """The WHERE clause for ``spec`` inside the viewer's inbox."""
    clauses: list[ColumnElement[bool]] = [inbox(viewer)]
    if spec.ids is not None:
        clauses.append(t.c.id.in_(spec.ids) if spec.ids else literal(False))
    for column, wanted in (
        (t.c.read_at, spec.read),
        (t.c.seen_at, spec.seen),
        (t.c.dismissed_at, spec.dismissed),
    ):
        if wanted is not None:
            clauses.append(column.is_not(None) if wanted else column.is_(None))
    for flag, wanted in (
        (t.c.important, spec.important),
        (t.c.mention, spec.mention),
        (t.c.action_required, spec.action_required),
        (t.c.made_by_automation, spec.made_by_automation),
    ):
        if wanted is not None:
            clauses.append(flag.is_(wanted))
    if spec.target_type is not None:
        # Both sides lowered by the database: Python's lower() folds non-ASCII letters
        # that SQLite's does not, and then a stored "TÂCHE" would not match itself.
        clauses.append(func.lower(t.c.target_type) == func.lower(spec.target_type))
    if spec.project_id is not None:
        clauses.append(t.c.project_id == spec.project_id)
    clauses.extend(_time_bounds(t.c.created_at, spec.created_after, spec.created_before))
    clauses.extend(
        _time_bounds(t.c.last_action_at, spec.last_action_after, spec.last_action_before)
    )
    return and_(*clauses)


def _time_bounds(
    column: ColumnElement[datetime], after: datetime | None, before: datetime | None
) -> Sequence[ColumnElement[bool]]:
    bounds = []
    if after is not None:
        bounds.append(column > after)
    if before is not None:
        bounds.append(column < before)
    return bounds
