"""How the domain declares the values clients send, so that every door reads them alike.

The value objects (the filter, a new notification) are dataclasses; their fields are the
one list of what a client may send. A field's type says how a door's raw value becomes
the domain's: ``Id`` and ``IdList`` fields (notification ids and other numbers of ours)
arrive as text (or numbers) and are parsed here; ``OpaqueId`` fields (the clients' own
recipient and actor ids) arrive as text and are checked here, kept exactly as sent; the
rest arrive already typed. Errors name the field in neutral terms,
``<object>.<field>`` (``filter.project_id``), which each door renders in its own.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar, get_args, get_origin, get_type_hints

from notifgql.errors import BadUserInput
from notifgql.ids import opaque_id_problem, parse_id
from notifgql.notifications.limits import MAX_FILTER_IDS


@dataclass(frozen=True, slots=True)
class IdText:
    """Marks an ``int`` field that a client sends as an id."""


@dataclass(frozen=True, slots=True)
class IdList:
    """Marks a ``tuple[int, ...]`` field that a client sends as a list of at most ``most`` ids."""

    most: int


@dataclass(frozen=True, slots=True)
class OpaqueIdText:
    """Marks a ``str`` field that holds a client's own id (see ``notifgql.ids``)."""


Id = Annotated[int, IdText()]
OpaqueId = Annotated[str, OpaqueIdText()]
FilterIds = Annotated[tuple[int, ...], IdList(MAX_FILTER_IDS)]
T = TypeVar("T")


def described(text: str) -> dict[str, str]:
    """Field metadata holding the description clients are shown."""
    return {"description": text}


def description(field: dataclasses.Field[Any]) -> str | None:
    """The description a field was declared with, if any."""
    text = field.metadata.get("description")
    return None if text is None else str(text)


Marker = IdText | IdList | OpaqueIdText


def marker(hint: Any) -> Marker | None:
    """How a field's values are parsed: its id marker, under any ``| None``."""
    if get_origin(hint) is Annotated:
        for extra in hint.__metadata__:
            if isinstance(extra, Marker):
                return extra
        return None
    for argument in get_args(hint):
        found = marker(argument)
        if found is not None:
            return found
    return None


_HINTS: dict[type[Any], dict[str, Any]] = {}


def hints(kind: type[Any]) -> dict[str, Any]:
    """The field types of a value object, with their markers (resolved once per class)."""
    found = _HINTS.get(kind)
    if found is None:
        found = _HINTS[kind] = get_type_hints(kind, include_extras=True)
    return found


def from_client(kind: type[T], owner: str, values: Mapping[str, Any]) -> T:
    """``kind`` built from a door's values by field name, parsing its ids.

    ``owner`` is the neutral name of the object in errors (``filter``, ``notification``).
    A None for a field whose default is built (a list) means that default.
    """
    types = hints(kind)
    built: dict[str, Any] = {}
    for field in dataclasses.fields(kind):  # type: ignore[arg-type]
        if field.name not in values:
            continue
        value = values[field.name]
        parameter = f"{owner}.{field.name}"
        how = marker(types[field.name])
        if value is None:
            if field.default_factory is not dataclasses.MISSING:
                continue
        elif isinstance(how, IdText):
            value = parse_single_id(value, parameter=parameter)
        elif isinstance(how, IdList):
            value = parse_ids(value, parameter=parameter, most=how.most)
        elif isinstance(how, OpaqueIdText):
            value = parse_opaque_id(value, parameter=parameter)
        elif (item := element(types[field.name])) is not None:
            value = tuple(_built(item, one) for one in value)
        built[field.name] = value
    return kind(**built)


def element(hint: Any) -> Any | None:
    """The ``X`` of a ``tuple[X, ...]`` field (under any ``| None``), or None."""
    if get_origin(hint) is tuple:
        return get_args(hint)[0]
    for argument in get_args(hint) if get_origin(hint) is not Annotated else ():
        if get_origin(argument) is tuple:
            return get_args(argument)[0]
    return None


def _built(kind: Any, value: Any) -> Any:
    # A nested value object (an action) arrives as a mapping of its fields.
    if dataclasses.is_dataclass(kind) and isinstance(value, Mapping):
        return kind.from_client(value)  # type: ignore[union-attr]
    return value


def parse_ids(values: Iterable[str | int], *, parameter: str, most: int) -> tuple[int, ...]:
    """Parse a list of at most ``most`` ids given by a client; a malformed one is bad input."""
    ids = []
    for value in values:
        number = parse_id(value)
        if number is None:
            raise BadUserInput.about(parameter, f"holds {value!r}, which is not an id")
        ids.append(number)
        if len(ids) > most:
            raise BadUserInput.about(parameter, f"may hold at most {most} ids")
    return tuple(ids)


def parse_single_id(value: str | int, *, parameter: str) -> int:
    """Parse one id given by a client."""
    number = parse_id(value)
    if number is None:
        raise BadUserInput.about(parameter, f"is {value!r}, which is not an id")
    return number


def parse_opaque_id(value: object, *, parameter: str) -> str:
    """A client's own id, exactly as given; bad input unless it is a usable one."""
    if not isinstance(value, str):
        raise BadUserInput.about(parameter, "must be a string")
    problem = opaque_id_problem(value)
    if problem is not None:
        raise BadUserInput.about(parameter, problem)
    return value


def check_text(value: str | None, *, parameter: str) -> None:
    """Refuse text no database stores: NUL characters (PostgreSQL) and lone surrogates."""
    if value is None:
        return
    if "\x00" in value:
        raise BadUserInput.about(parameter, "contains a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise BadUserInput.about(parameter, "is not valid Unicode text") from None


def check_time(value: datetime | None, *, parameter: str) -> None:
    """Refuse a time whose UTC equivalent lies outside years 1..9999 (naive means UTC)."""
    if value is None or value.tzinfo is None:
        return
    try:
        value.astimezone(UTC)
    except OverflowError:
        raise BadUserInput.about(parameter, "is out of range") from None
