"""The notification filter, one value object for every door, and its SQL."""

from __future__ import annotations

import operator
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, ClassVar, Protocol

from sqlalchemy import (
    BigInteger,
    Boolean,
    ColumnElement,
    Text,
    and_,
    bindparam,
    func,
    literal,
    or_,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.visitors import InternalTraversal

from notifgql.auth import Viewer
from notifgql.db.models import notifications as t
from notifgql.errors import BadUserInput
from notifgql.notifications.fields import (
    FilterIds,
    Id,
    check_text,
    check_time,
    described,
    from_client,
)
from notifgql.notifications.limits import MAX_TAGS


@dataclass(frozen=True, slots=True)
class NotificationFilter:
    """Conditions combined with AND; None means "any". Time bounds are exclusive.

    These fields are the filter's one declaration: the GraphQL input is generated from
    them, the REST dialects name them in their tables, and ``bound`` below gives each its
    SQL. Adding a condition is a line here and its clause there.
    """

    # The filter's name in errors: ``filter.<field>``.
    OWNER: ClassVar[str] = "filter"

    ids: FilterIds | None = None
    read: bool | None = None
    seen: bool | None = None
    dismissed: bool | None = None
    important: bool | None = None
    mention: bool | None = None
    action_required: bool | None = None
    made_by_automation: bool | None = None
    target_type: str | None = field(
        default=None, metadata=described('Case-insensitive: "Task" matches "task".')
    )
    project_id: Id | None = None
    category: str | None = field(default=None, metadata=described("Exactly this category."))
    tags: tuple[str, ...] | None = field(
        default=None, metadata=described("Has every one of these tags.")
    )
    created_after: datetime | None = None
    created_before: datetime | None = None
    last_action_after: datetime | None = None
    last_action_before: datetime | None = None
    snoozed: bool | None = field(
        default=None,
        metadata=described(
            "true: only the snoozed ones, which are otherwise in no list or count; false: the"
            " others; null: the others too, but a filter naming ids finds them snoozed or not."
        ),
    )

    def __post_init__(self) -> None:
        # Refused here, as bad input, rather than by the driver as an internal error.
        for item in fields(self):
            value = getattr(self, item.name)
            if isinstance(value, str):
                check_text(value, parameter=f"{self.OWNER}.{item.name}")
            elif isinstance(value, datetime):
                check_time(value, parameter=f"{self.OWNER}.{item.name}")
        if self.tags is not None:
            if len(self.tags) > MAX_TAGS:
                raise BadUserInput.about(f"{self.OWNER}.tags", f"may hold at most {MAX_TAGS} tags")
            for tag in self.tags:
                check_text(tag, parameter=f"{self.OWNER}.tags")

    @classmethod
    def from_client(cls, values: Mapping[str, Any]) -> NotificationFilter:
        """The filter a door's values ask for, by field name; ids may still be text."""
        return from_client(cls, cls.OWNER, values)


EVERYTHING = NotificationFilter()


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


def bound(
    viewer: Viewer, spec: NotificationFilter, prefix: str = "w_"
) -> tuple[Shape, dict[str, Any]]:
    """The shape of ``spec`` inside the viewer's inbox, and the parameters it binds.

    The filter's own parameters are named with ``prefix``, so that several filters can
    share one statement; the inbox's (``w_org``, ``w_rcp``, ``w_now``) are always named so.
    """
    params: dict[str, Any] = {
        "w_org": viewer.organization_id,
        "w_rcp": viewer.recipient_id,
        "w_now": datetime.now(UTC),
    }
    shape: list[tuple[Any, ...]] = []
    if spec.ids is not None:
        shape.append(("ids", bool(spec.ids)))
        params[f"{prefix}ids"] = list(spec.ids)
    if spec.snoozed is not None:
        shape.append(("snoozed", spec.snoozed))
    for name in (*_STATES, *_FLAGS):
        wanted = getattr(spec, name)
        if wanted is not None:
            shape.append((name, wanted))
    if spec.tags:
        # How many tags is the shape; which ones, the parameters.
        shape.append(("tags", len(spec.tags)))
        params |= {f"{prefix}tag_{n}": tag for n, tag in enumerate(spec.tags)}
    for name in ("target_type", "project_id", "category", *(entry[0] for entry in _BOUNDS)):
        value = getattr(spec, name)
        if value is not None:
            shape.append((name,))
            params[f"{prefix}{name}"] = value
    return tuple(shape), params


def group_shown(organization_id: str, group_key: str, now: datetime) -> ColumnElement[bool]:
    """A group's notifications still shown, in every inbox of the organization: what a
    service changes when it acts on the whole group."""
    return and_(
        t.c.group_key == group_key,
        t.c.organization_id == organization_id,
        t.c.withdrawn_at.is_(None),
        or_(t.c.expires_at.is_(None), t.c.expires_at > now),
    )


def _unbound(name: str, type_: Any, *, expanding: bool = False) -> Any:
    return bindparam(name, type_=type_, expanding=expanding)


@lru_cache(maxsize=512)
def where_shape(shape: Shape) -> ColumnElement[bool]:
    """The WHERE clause of a shape, inside an inbox, its values left as parameters."""
    return and_(_inbox(_unbound), _narrowing(shape, _unbound, "w_"))


# The WHERE clause of a shape is these two parts: several shapes counted in one statement
# (tabs) restrict it to the inbox once and tell their rows apart by their narrowings.


@lru_cache(maxsize=1)
def where_inbox() -> ColumnElement[bool]:
    """The viewer's inbox, less what is shown nowhere; its values left as parameters."""
    return _inbox(_unbound)


@lru_cache(maxsize=512)
def narrowing(shape: Shape, prefix: str) -> ColumnElement[bool]:
    """What a shape asks of a row of the inbox; its own parameters named with ``prefix``."""
    return _narrowing(shape, _unbound, prefix)


def where(viewer: Viewer, spec: NotificationFilter) -> ColumnElement[bool]:
    """The WHERE clause for ``spec`` inside the viewer's inbox, its values bound in."""
    shape, params = bound(viewer, spec)

    def param(name: str, type_: Any, *, expanding: bool = False) -> Any:
        return bindparam(name, params[name], type_=type_, expanding=expanding)

    return and_(_inbox(param), _narrowing(shape, param, "w_"))


class Param(Protocol):
    def __call__(self, name: str, type_: Any, *, expanding: bool = False) -> Any: ...


def _inbox(param: Param) -> ColumnElement[bool]:
    # Plain text parameters: the comparison then takes the columns' own collation, the
    # one the inbox indexes are built with, so that they serve it.
    return and_(
        t.c.organization_id == param("w_org", Text()),
        t.c.recipient_id == param("w_rcp", Text()),
        # Withdrawn and expired notifications are shown nowhere, from the moment they are:
        # every read and every mark goes through this clause.
        t.c.withdrawn_at.is_(None),
        or_(t.c.expires_at.is_(None), t.c.expires_at > param("w_now", t.c.expires_at.type)),
    )


def _narrowing(shape: Shape, param: Param, prefix: str) -> ColumnElement[bool]:
    clauses: list[ColumnElement[bool]] = []
    # Snoozed ones are hidden from lists and counts until they wake up, unless the filter
    # asks for them. A lookup by id finds them (the person who snoozed one can still open
    # it and act on it) unless it says ``snoozed`` too. The time decides, not the waker: a
    # row it has not reached yet is shown already.
    snoozed = t.c.snoozed_until > param("w_now", t.c.snoozed_until.type)
    if ("snoozed", True) in shape:
        clauses.append(snoozed)
    elif ("snoozed", False) in shape or not any(name == "ids" for name, *_ in shape):
        clauses.append(or_(t.c.snoozed_until.is_(None), ~snoozed))
    bounds = {name: (column, compare) for name, column, compare in _BOUNDS}
    for name, *wanted in shape:
        if name == "snoozed":
            continue
        if name == "ids":
            clauses.append(
                t.c.id.in_(param(f"{prefix}ids", t.c.id.type, expanding=True))
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
            value = param(f"{prefix}target_type", Text())
            clauses.append(func.lower(t.c.target_type) == func.lower(value))
        elif name == "project_id":
            clauses.append(t.c.project_id == param(f"{prefix}project_id", BigInteger()))
        elif name == "category":
            clauses.append(t.c.category == param(f"{prefix}category", Text()))
        elif name == "tags":
            clauses.extend(
                HasTag(t.c.tags, param(f"{prefix}tag_{n}", Text())) for n in range(wanted[0])
            )
        else:
            column, compare = bounds[name]
            clauses.append(compare(column, param(f"{prefix}{name}", column.type)))
    return and_(*clauses)


class HasTag(ColumnElement[bool]):
    """Whether a JSON text list of strings holds a tag: ``json_each`` on SQLite,
    ``json_array_elements_text`` on PostgreSQL (the column is text, not jsonb)."""

    inherit_cache = True
    type = Boolean()
    _traverse_internals = [  # noqa: RUF012 (SQLAlchemy's own declaration)
        ("column", InternalTraversal.dp_clauseelement),
        ("tag", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, column: ColumnElement[Any], tag: ColumnElement[Any]) -> None:
        self.column = column
        self.tag = tag


@compiles(HasTag)
def _has_tag_sqlite(element: HasTag, compiler: Any, **kw: Any) -> str:
    column, tag = compiler.process(element.column, **kw), compiler.process(element.tag, **kw)
    # Both parts are SQL the compiler wrote: a column and a bound parameter.
    return f"EXISTS (SELECT 1 FROM json_each({column}) WHERE json_each.value = {tag})"  # noqa: S608


@compiles(HasTag, "postgresql")
def _has_tag_postgresql(element: HasTag, compiler: Any, **kw: Any) -> str:
    column, tag = compiler.process(element.column, **kw), compiler.process(element.tag, **kw)
    query = "SELECT 1 FROM json_array_elements_text(CAST({} AS json)) AS tag(value) WHERE"
    return f"EXISTS ({query.format(column)} tag.value = {tag})"
