"""Output types declared once: each field's GraphQL type, description and reader together.

An output type is a class whose attributes are readers over a source value (a row, the
counts, a page of results)::

    on = Reads[NotificationRow]()

    @output_type("One notification in the viewer's inbox.")
    class Notification(Declared):
        id: strawberry.ID = on.value(lambda row: str(row.id))
        title: str = on.column(NotificationRow.title)
        actor: Actor | None = on.one(Actor, lambda row: row if row.actor_id else None)

From that one declaration come both ways of answering: the Strawberry type the executor
runs (``from_model`` builds its objects through the readers) and the compiled plans
(``fields_of`` hands them the same readers, which they apply straight to the rows). A field
therefore cannot render differently in the two paths, and mypy checks every reader against
the source type it is declared over.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, ClassVar, Generic, Literal, Self, TypeVar

import strawberry
from strawberry.utils.str_converters import to_camel_case

S = TypeVar("S")
T = TypeVar("T")

Kind = Literal["value", "one", "many", "later", "later_one"]


@dataclass(frozen=True, slots=True)
class Field:
    """One declared field: how to read it from its type's source."""

    python_name: str
    graphql_name: str
    kind: Kind
    # value: source → JSON-ready value; one: source → nested source or None;
    # many: source → nested sources; later: source → awaitable value.
    read: Callable[[Any], Any]
    of: type[Declared] | None
    description: str | None


@dataclass(frozen=True, slots=True)
class _Marker:
    kind: Kind
    read: Callable[[Any], Any]
    of: type[Declared] | None
    description: str | None


class Reads(Generic[S]):
    """Declares fields over sources of type ``S``; the readers are type-checked against it."""

    def value(self, read: Callable[[S], Any], description: str | None = None) -> Any:
        """A leaf field: ``read(source)`` is its value as the response carries it."""
        return _Marker("value", read, None, description)

    def column(self, attribute: Any, description: str | None = None) -> Any:
        """A leaf that is a field of a named-tuple source as it is, e.g. ``Row.title``.

        Written as the class attribute, so mypy still checks the name; read by position,
        which costs half of what a lambda reading the attribute does, on every row.
        """
        position = _position(attribute)
        return _Marker("value", itemgetter(position), None, description)

    def one(
        self, of: type[Declared], read: Callable[[S], Any], description: str | None = None
    ) -> Any:
        """A nested object read from ``read(source)`` (None for a null field)."""
        return _Marker("one", read, of, description)

    def many(
        self, of: type[Declared], read: Callable[[S], Iterable[Any]], description: str | None = None
    ) -> Any:
        """A list of nested objects, one per item of ``read(source)``."""
        return _Marker("many", read, of, description)

    def later(self, read: Callable[[S], Awaitable[Any]], description: str | None = None) -> Any:
        """A leaf computed only when selected (e.g. a count): ``read`` returns an awaitable."""
        return _Marker("later", read, None, description)

    def later_one(
        self,
        of: type[Declared],
        read: Callable[[S], Awaitable[Any]],
        description: str | None = None,
    ) -> Any:
        """A nested object computed only when selected: ``read`` returns an awaitable."""
        return _Marker("later_one", read, of, description)


def _position(attribute: Any) -> int:
    """The index behind a named tuple's field accessor (``Row.title`` → 5)."""
    try:
        _getter, (position, _doc) = attribute.__reduce__()
    except (TypeError, ValueError):
        raise TypeError(f"{attribute!r} is not a field of a named tuple") from None
    if not isinstance(position, int):
        raise TypeError(f"{attribute!r} is not a field of a named tuple")
    return position


class Declared:
    """Base of declared output types: objects built from a source through the readers."""

    __fields__: ClassVar[tuple[Field, ...]] = ()
    __typename__: ClassVar[str] = ""
    # What the object was built from: the on-demand fields read it.
    __source__: Any = None

    @classmethod
    def from_model(cls, source: Any) -> Self:
        """The Strawberry object for ``source``."""
        values = {
            field.python_name: field.read(source)
            for field in cls.__fields__
            if field.kind == "value"
        }
        obj = cls(**values)
        obj.__source__ = source
        return obj


def fields_of(type_: type[Declared]) -> dict[str, Field]:
    """The declared fields of ``type_`` by GraphQL name."""
    return {field.graphql_name: field for field in type_.__fields__}


def output_type(description: str, *, name: str | None = None) -> Callable[[type[T]], type[T]]:
    """Make a class of reader declarations a Strawberry type that remembers its readers."""

    def decorate(cls: type[T]) -> type[T]:
        declared: list[Field] = []
        for python_name, marker in list(vars(cls).items()):
            if not isinstance(marker, _Marker):
                continue
            graphql_name = to_camel_case(python_name)
            declared.append(
                Field(
                    python_name,
                    graphql_name,
                    marker.kind,
                    marker.read,
                    marker.of,
                    marker.description,
                )
            )
            if marker.kind == "value":
                setattr(cls, python_name, strawberry.field(description=marker.description))
            else:
                annotation = cls.__annotations__[python_name]
                setattr(cls, python_name, _resolved_field(marker, annotation, cls.__module__))
        cls.__fields__ = tuple(declared)  # type: ignore[attr-defined]
        cls.__typename__ = name or cls.__name__  # type: ignore[attr-defined]
        return strawberry.type(cls, name=name, description=description)

    return decorate


def _resolved_field(marker: _Marker, annotation: Any, module: str) -> Any:
    """A field the executor resolves on demand: nested objects are built only if selected."""
    read, of = marker.read, marker.of
    resolve: Callable[..., Any]
    if marker.kind == "later":

        async def resolve(root: Any) -> Any:
            return await read(root.__source__)

    elif marker.kind == "later_one":

        async def resolve(root: Any) -> Any:
            nested = await read(root.__source__)
            return None if nested is None or of is None else of.from_model(nested)

    elif marker.kind == "one":

        def resolve(root: Any) -> Any:
            nested = read(root.__source__)
            return None if nested is None or of is None else of.from_model(nested)

    else:

        def resolve(root: Any) -> Any:
            assert of is not None
            return [of.from_model(item) for item in read(root.__source__)]

    # The declaration's own annotation, resolved where the type is declared.
    resolve.__annotations__ = {"root": Any, "return": annotation}
    resolve.__module__ = module
    return strawberry.field(resolver=resolve, description=marker.description)
