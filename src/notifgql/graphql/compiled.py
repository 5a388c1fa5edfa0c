"""Compiled plans for the hot read queries: validated once, then run without per-field work.

graphql-core completes every leaf of every object through a resolver call, so a list of 30
notifications with 30 fields costs about a thousand Python calls before a byte is written.
For the documents single-page apps send all day (the inbox list, the badge counts, one
notification) that work is the same on every request, so it is done once here: the first
time a query text arrives it is parsed, limit-checked and validated exactly as the regular
path does, then turned into a plan: the root field's own function (``roots``) and a
projection of its result built from the output types' declared readers (``declared``).
A plan adds no logic of its own, only the choice of fields, so it answers as the executor
does by construction; a property test checks it on generated selections.

Sibling ``notificationCounts`` (a tabbed inbox's badges, one alias per tab) are counted
together in one statement, one scan of the inbox, instead of one statement each.

A plan covers only plain selections of Query's inbox fields (and the change feed): no directives, no
mutations or subscriptions, no repeated response keys. An error a root function raises
on purpose (bad arguments, a missing token) makes the regular Strawberry execution produce
the response, errors included; anything unexpected does too, but is logged and counted
first (``notifgql_plan_fallbacks_total``), so a bug in a plan is never merely hidden. A
database that is unavailable is answered at once: falling back would wait for it again.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    is_non_null_type,
    specified_rules,
)
from graphql.execution.values import get_argument_values, get_variable_values
from strawberry.utils.str_converters import to_camel_case

from notifgql.auth import Viewer
from notifgql.errors import NotifGqlError, ServiceUnavailable
from notifgql.graphql import roots
from notifgql.graphql.context import Context
from notifgql.graphql.declared import Declared, Field, fields_of
from notifgql.graphql.documents import Checked, Documents
from notifgql.graphql.inputs import NotificationFilterInput as FilterInput
from notifgql.graphql.inputs import to_domain_filter
from notifgql.graphql.types import (
    InboxChanges,
    Notification,
    NotificationConnection,
    NotificationCounts,
    NotificationPage,
)
from notifgql.notifications.changes import ChangeTokens
from notifgql.notifications.filters import NotificationFilter
from notifgql.notifications.pagination import CursorCodec

Json = Any
Project = Callable[[Any], Json]
Selection = list[tuple[str, FieldNode]]
log = logging.getLogger(__name__)


class NotCompilable(Exception):
    """The document needs the general executor."""


Compute = Callable[["Runtime", dict[str, Any]], Awaitable[Any]]
Finish = Callable[[Any], Awaitable[Json]]


@dataclass(frozen=True, slots=True)
class Runtime:
    """What a running plan may use: one connection, the viewer and the token codecs."""

    connect: roots.Connect
    viewer: Viewer
    cursors: CursorCodec
    change_tokens: ChangeTokens


@dataclass(frozen=True, slots=True)
class Root:
    """One root response key of a plan: how its source is computed, and how it is answered."""

    key: str
    node: FieldNode
    field: GraphQLField
    compute: Compute
    finish: Finish  # the projection of the source, deferred fields awaited


@dataclass(frozen=True, slots=True)
class Plan:
    """A compiled query: its variable definitions and its root fields."""

    schema: GraphQLSchema
    operation: OperationDefinitionNode
    roots: tuple[Root, ...]


def _filter(args: Mapping[str, Any]) -> NotificationFilter:
    given = args.get("filter")
    if given is None:
        return to_domain_filter(None)
    # Building the domain filter through its Strawberry input costs ~40 µs, and the same
    # filters come again and again (a tabbed inbox sends five on every load): filters are
    # immutable values, so each is built once per argument value.
    key = _frozen(given)
    found = _FILTERS.get(key)
    if found is None:
        named = {_FILTER_NAMES[name]: value for name, value in given.items()}
        found = FilterInput(**named).to_domain()
        if len(_FILTERS) >= _MAX_FILTERS:
            _FILTERS.popitem(last=False)
        _FILTERS[key] = found
    else:
        _FILTERS.move_to_end(key)
    return found


_MAX_FILTERS = 1024
_FILTERS: OrderedDict[Hashable, NotificationFilter] = OrderedDict()


def _frozen(value: Any) -> Hashable:
    """A hashable key for a coerced argument value; lists and objects stay apart."""
    if isinstance(value, dict):
        return ("{", *sorted((name, _frozen(item)) for name, item in value.items()))
    if isinstance(value, list):
        return ("[", *(_frozen(item) for item in value))
    # Scalars as coerced: text, booleans, numbers, datetimes (which compare by instant,
    # so the type and offset are part of the key: the filter keeps the one it was given).
    if isinstance(value, datetime):
        return (datetime, value, value.utcoffset())
    return (type(value), value)


# Strawberry leaves graphql_name unset where it derives the camelCase name itself.
_FILTER_NAMES = {
    field.graphql_name or to_camel_case(field.python_name): field.python_name
    for field in FilterInput.__strawberry_definition__.fields  # type: ignore[attr-defined]
}


async def _notification(runtime: Runtime, args: dict[str, Any]) -> Any:
    return await roots.notification(runtime.connect, runtime.viewer, args["id"])


async def _notifications(runtime: Runtime, args: dict[str, Any]) -> Any:
    return await roots.notifications(
        runtime.connect,
        runtime.viewer,
        runtime.cursors,
        _filter(args),
        first=args.get("first"),
        after=args.get("after"),
        last=args.get("last"),
        before=args.get("before"),
    )


async def _notifications_page(runtime: Runtime, args: dict[str, Any]) -> Any:
    return await roots.notifications_page(
        runtime.connect,
        runtime.viewer,
        _filter(args),
        page=args.get("page"),
        page_size=args.get("pageSize"),
    )


async def _notification_counts(runtime: Runtime, args: dict[str, Any]) -> Any:
    return await roots.notification_counts(runtime.connect, runtime.viewer, _filter(args))


async def _inbox_changes(runtime: Runtime, args: dict[str, Any]) -> Any:
    return await roots.inbox_changes(
        runtime.connect, runtime.viewer, runtime.change_tokens, args.get("since"), args.get("first")
    )


# Each root field: its declared output type and the root function both paths call.
_ROOTS: dict[str, tuple[type[Declared], Callable[[Runtime, dict[str, Any]], Awaitable[Any]]]] = {
    "notification": (Notification, _notification),
    "notifications": (NotificationConnection, _notifications),
    "notificationsPage": (NotificationPage, _notifications_page),
    "notificationCounts": (NotificationCounts, _notification_counts),
    "inboxChanges": (InboxChanges, _inbox_changes),
}


class _Compiler:
    def __init__(self, document: DocumentNode) -> None:
        self.fragments = {
            node.name.value: node
            for node in document.definitions
            if isinstance(node, FragmentDefinitionNode)
        }

    def fields(self, selection_set: SelectionSetNode | None) -> Selection:
        """The selection flattened through fragments; refuses anything a plan cannot do."""
        if selection_set is None:
            raise NotCompilable("a composite field without selections")
        flat: Selection = []
        for node in selection_set.selections:
            if node.directives:
                raise NotCompilable("directives")
            if isinstance(node, FieldNode):
                flat.append(((node.alias or node.name).value, node))
            elif isinstance(node, FragmentSpreadNode):
                flat.extend(self.fields(self.fragments[node.name.value].selection_set))
            elif isinstance(node, InlineFragmentNode):
                flat.extend(self.fields(node.selection_set))
        keys = [key for key, _ in flat]
        if len(keys) != len(set(keys)):
            raise NotCompilable("a response key selected twice")
        return flat

    def project(
        self, type_: type[Declared], selection_set: SelectionSetNode | None, later: list[str]
    ) -> Project:
        """A function from the type's source to the selected fields, in selection order.

        ``later`` collects the response keys whose values are awaitables to be resolved
        by the root runner; only a root type may have them.
        """
        declared = fields_of(type_)
        parts: list[tuple[str, Project]] = []
        for key, node in self.fields(selection_set):
            name = node.name.value
            if name == "__typename":
                parts.append((key, _constant(type_.__typename__)))
                continue
            field = declared.get(name)
            if field is None or node.arguments:
                raise NotCompilable(name)
            parts.append((key, self._part(field, node, later, key)))
        return lambda source: {key: read(source) for key, read in parts}

    def _part(self, field: Field, node: FieldNode, later: list[str], key: str) -> Project:
        read = field.read
        if field.kind == "value":
            return read
        if field.kind == "later":
            # The reader is called only when the runner awaits it: a deferred field whose
            # sibling failed first never starts a query of its own.
            later.append(key)
            return lambda source: lambda: read(source)
        assert field.of is not None
        nested = self.project(field.of, node.selection_set, _NO_LATER)
        if field.kind == "later_one":
            later.append(key)

            async def computed(source: Any) -> Json:
                inner = await read(source)
                return None if inner is None else nested(inner)

            return lambda source: lambda: computed(source)
        if field.kind == "one":

            def one(source: Any) -> Json:
                inner = read(source)
                return None if inner is None else nested(inner)

            return one
        return lambda source: [nested(item) for item in read(source)]

    def root(self, key: str, node: FieldNode, field: GraphQLField) -> Root:
        entry = _ROOTS.get(node.name.value)
        if entry is None:
            raise NotCompilable(node.name.value)
        type_, compute = entry
        later: list[str] = []
        project = self.project(type_, node.selection_set, later)

        async def finish(source: Any) -> Json:
            if source is None:
                return None
            result = project(source)
            for key in later:
                result[key] = await result[key]()
            return result

        return Root(key, node, field, compute, finish)


def _constant(value: Json) -> Project:
    return lambda _source: value


class _NoLater(list[str]):
    """Nested types have no deferred fields: a plan that would need one is not compiled."""

    def append(self, key: str) -> None:
        raise NotCompilable(f"deferred field {key} below the root")


_NO_LATER = _NoLater()


def compile_plan(schema: GraphQLSchema, document: DocumentNode, operation_name: str | None) -> Plan:
    """The plan for ``document``'s selected operation, or NotCompilable."""
    operations = [
        node for node in document.definitions if isinstance(node, OperationDefinitionNode)
    ]
    if operation_name is None:
        if len(operations) != 1:
            raise NotCompilable("no single operation")
        operation = operations[0]
    else:
        named = [node for node in operations if node.name and node.name.value == operation_name]
        if len(named) != 1:
            raise NotCompilable("unknown operation name")
        operation = named[0]
    if operation.operation is not OperationType.QUERY or operation.directives:
        raise NotCompilable("not a plain query")
    compiler = _Compiler(document)
    query_type = schema.query_type
    assert query_type is not None
    found = []
    for key, node in compiler.fields(operation.selection_set):
        if node.name.value == "__typename":
            raise NotCompilable("root __typename")  # rare; the executor handles it
        found.append(compiler.root(key, node, query_type.fields[node.name.value]))
    return Plan(schema=schema, operation=operation, roots=tuple(found))


async def _sources(runtime: Runtime, plan: Plan, args: list[dict[str, Any]]) -> list[Any]:
    """Each root's source, in order; sibling ``notificationCounts`` (a tabbed inbox's
    badges) counted together, in one statement rather than one each."""
    tabs = [n for n, root in enumerate(plan.roots) if root.compute is _notification_counts]
    counted: dict[int, Any] = {}
    if len(tabs) > 1:
        specs = [_filter(args[n]) for n in tabs]
        found = await roots.notification_counts_of(runtime.connect, runtime.viewer, specs)
        counted = dict(zip(tabs, found, strict=True))
    return [
        counted[n] if n in counted else await root.compute(runtime, args[n])
        for n, root in enumerate(plan.roots)
    ]


def _names_an_operation(checked: Checked, name: str) -> bool:
    document = checked.document
    return document is not None and any(
        isinstance(node, OperationDefinitionNode)
        and node.name is not None
        and node.name.value == name
        for node in document.definitions
    )


# Plans never cover introspection, so the specified rules are the whole validation they need.
_RULES = tuple(specified_rules)

Fallback = Literal["variables", "refused", "unexpected"]


class Plans:
    """Plans per (query text, operation name), kept with the checked document they use.

    ``on_fallback`` hears every time a plan hands a request back to the executor, with why:
    ``variables`` (they do not coerce: the executor words the error), ``refused`` (a root
    function refused the arguments on purpose, the same) or ``unexpected`` (a bug, logged).
    """

    def __init__(
        self,
        schema: GraphQLSchema,
        documents: Documents,
        on_fallback: Callable[[Fallback], None] | None = None,
    ) -> None:
        self._schema = schema
        self._documents = documents
        self._on_fallback = on_fallback or (lambda _reason: None)

    async def get(self, query: str, operation_name: str | None) -> Plan | None:
        """The plan for an authenticated caller's query, or None for the executor."""
        checked = await self._documents.check(query, _RULES, remember=True)
        if operation_name in checked.plans:
            plan: Plan | None = checked.plans[operation_name]
            return plan
        plan = None
        if checked.document is not None and not checked.errors(self._schema, _RULES):
            try:
                plan = compile_plan(self._schema, checked.document, operation_name)
            except (NotCompilable, KeyError):
                plan = None
        if operation_name is None or _names_an_operation(checked, operation_name):
            # Only names the document holds are remembered: any other is client-chosen
            # text that would grow the entry without bound.
            checked.plans[operation_name] = plan
        return plan

    async def run(
        self, plan: Plan, context: Context, variables: dict[str, Any] | None
    ) -> dict[str, Any] | None:
        """The response body, or None when the regular executor must answer instead."""
        viewer = context.viewer_or_none
        if viewer is None or not viewer.has_inbox:
            return None
        definitions = plan.operation.variable_definitions or ()
        coerced = get_variable_values(plan.schema, definitions, variables or {})
        if isinstance(coerced, list):
            self._on_fallback("variables")
            return None
        try:
            async with context.database.reader() as reader:
                runtime = Runtime(
                    roots.holding(reader), viewer, context.cursors, context.change_tokens
                )
                args = [get_argument_values(r.field, r.node, coerced) for r in plan.roots]
                sources = await _sources(runtime, plan, args)
                data = {
                    root.key: await root.finish(source)
                    for root, source in zip(plan.roots, sources, strict=True)
                }
        except ServiceUnavailable as error:
            # Falling back would wait for the database all over again, doubling the time an
            # outage takes to answer: answer as the executor would, every root field failing.
            return _unavailable(plan, error)
        except NotifGqlError:
            self._on_fallback("refused")
            return None
        except Exception:
            log.exception("a compiled plan failed; the executor answers instead")
            self._on_fallback("unexpected")
            return None
        return {"data": data}


def _unavailable(plan: Plan, error: ServiceUnavailable) -> dict[str, Any]:
    """What the executor answers when every root field fails: the first non-null root's
    error nulls the whole data (the executor then stops the others); nullable roots fail
    one by one."""

    def located(key: str, node: FieldNode) -> dict[str, Any]:
        coded = GraphQLError(
            error.message, nodes=[node], path=[key], extensions={"code": error.code}
        )
        return dict(coded.formatted)

    for root in plan.roots:
        if is_non_null_type(root.field.type):
            return {"data": None, "errors": [located(root.key, root.node)]}
    return {
        "data": {root.key: None for root in plan.roots},
        "errors": [located(root.key, root.node) for root in plan.roots],
    }
