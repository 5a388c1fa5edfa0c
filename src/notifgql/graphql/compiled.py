"""Compiled plans for the hot read queries: validated once, then run without per-field work.

graphql-core completes every leaf of every object through a resolver call, so a list of 30
notifications with 30 fields costs about a thousand Python calls before a byte is written.
For the documents single-page apps send all day (the inbox list, the badge counts, one
notification) that work is the same on every request, so it is done once here: the first
time a query text arrives it is parsed, limit-checked and validated exactly as the regular
path does, then turned into a plan, a tree of small functions that read the domain's rows
and build the response in selection order.

A plan covers only plain selections of Query's four inbox fields: no directives, no
mutations or subscriptions, no repeated response keys. Anything else, and anything that
goes wrong while a plan runs (bad arguments, a missing token, a database error), falls back
to the regular Strawberry execution, which then produces the response, errors included.
The one exception is a database that is unavailable: falling back would wait for it a
second time, so every root field answers SERVICE_UNAVAILABLE at once, as the executor would.
Reads are side-effect free, so running them twice in that rare case is harmless. A test
runs a corpus of documents both ways and requires identical responses.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

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
from sqlalchemy.ext.asyncio import AsyncConnection

from notifgql.auth import Viewer
from notifgql.db.models import notifications
from notifgql.errors import ServiceUnavailable
from notifgql.graphql.context import Context
from notifgql.graphql.documents import Documents
from notifgql.graphql.inputs import NotificationFilterInput, to_domain_filter
from notifgql.ids import parse_id
from notifgql.notifications import pagination, queries
from notifgql.notifications.pagination import CursorCodec
from notifgql.notifications.queries import Counts, Record

Json = Any
RowField = Callable[[Record], Json]
Selection = list[tuple[str, FieldNode]]


class NotCompilable(Exception):
    """The document needs the general executor."""


@dataclass(frozen=True, slots=True)
class Runtime:
    """What a running plan may use: one connection, the viewer and the cursor codec."""

    conn: AsyncConnection
    viewer: Viewer
    cursors: CursorCodec


RootRunner = Callable[[Runtime, dict[str, Any]], Any]


@dataclass(frozen=True, slots=True)
class Plan:
    """A compiled query: its variable definitions and one runner per root response key."""

    schema: GraphQLSchema
    operation: OperationDefinitionNode
    roots: tuple[tuple[str, FieldNode, GraphQLField, RootRunner], ...]


def _id(value: Any) -> Json:
    return None if value is None else str(value)


# The domain's list queries select whole rows in table order; reading by position is
# some twenty times faster than by name, which matters at a thousand reads per response.
_POSITION = {column.name: position for position, column in enumerate(notifications.c)}


def _column(name: str, convert: Callable[[Any], Json] | None = None) -> RowField:
    position = _POSITION[name]
    if convert is None:
        return itemgetter(position)
    return lambda row: convert(row[position])


def _is_set(name: str) -> RowField:
    position = _POSITION[name]
    return lambda row: row[position] is not None


# Each Notification field as the regular resolvers render it (types.Notification.from_model
# plus Strawberry's scalar serializers: ID → str, JSON as is). DateTimes stay datetimes:
# orjson writes an aware datetime exactly as isoformat() does, only faster.
_NOTIFICATION_FIELDS: dict[str, RowField] = {
    "id": _column("id", str),
    "title": _column("title"),
    "description": _column("description"),
    "excerpt": _column("excerpt"),
    "targetType": _column("target_type"),
    "targetId": _column("target_id", _id),
    "targetTitle": _column("target_title"),
    "targetLabel": _column("target_label"),
    "parentType": _column("parent_type"),
    "parentId": _column("parent_id", _id),
    "parentTitle": _column("parent_title"),
    "rootType": _column("root_type"),
    "rootId": _column("root_id", _id),
    "projectId": _column("project_id", _id),
    "resource": _column("resource"),
    "reason": _column("reason"),
    "read": _is_set("read_at"),
    "readAt": _column("read_at"),
    "seen": _is_set("seen_at"),
    "seenAt": _column("seen_at"),
    "dismissed": _is_set("dismissed_at"),
    "dismissedAt": _column("dismissed_at"),
    "important": _column("important"),
    "mention": _column("mention"),
    "actionRequired": _column("action_required"),
    "madeByAutomation": _column("made_by_automation"),
    "newActivitiesCount": _column("new_activities_count"),
    "firstUnreadActivityId": _column("first_unread_activity_id", _id),
    "changeset": _column("changeset"),
    "lastActionAt": _column("last_action_at"),
    "createdAt": _column("created_at"),
    "organizationId": _column("organization_id", str),
    "recipientId": _column("recipient_id", str),
    "__typename": lambda _row: "Notification",
}
_ACTOR_FIELDS: dict[str, RowField] = {
    "id": _column("actor_id", str),
    "name": _column("actor_name"),
    "__typename": lambda _row: "Actor",
}
_COUNT_FIELDS: dict[str, Callable[[Counts], Json]] = {
    "total": lambda counts: counts.total,
    "unread": lambda counts: counts.unread,
    "unseen": lambda counts: counts.unseen,
    "important": lambda counts: counts.important,
    "mentions": lambda counts: counts.mentions,
    "actionRequired": lambda counts: counts.action_required,
    "__typename": lambda _counts: "NotificationCounts",
}
_FILTER_NAMES = {
    field.graphql_name or field.python_name: field.python_name
    for field in NotificationFilterInput.__strawberry_definition__.fields  # type: ignore[attr-defined]
}


class _Compiler:
    def __init__(self, schema: GraphQLSchema, document: DocumentNode) -> None:
        self.schema = schema
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

    def notification(self, selection_set: SelectionSetNode | None) -> Callable[[Record], Json]:
        readers: list[tuple[str, RowField]] = []
        for key, node in self.fields(selection_set):
            name = node.name.value
            if name == "actor":
                readers.append((key, self._actor(node.selection_set)))
            elif name in _NOTIFICATION_FIELDS:
                readers.append((key, _NOTIFICATION_FIELDS[name]))
            else:
                raise NotCompilable(name)
        return lambda row: {key: read(row) for key, read in readers}

    def _actor(self, selection_set: SelectionSetNode | None) -> RowField:
        readers = [
            (key, _ACTOR_FIELDS[node.name.value]) for key, node in self.fields(selection_set)
        ]
        has_actor = _is_set("actor_id")
        return lambda row: {key: read(row) for key, read in readers} if has_actor(row) else None

    def counts(self, selection_set: SelectionSetNode | None) -> Callable[[Counts], Json]:
        readers = [
            (key, _COUNT_FIELDS[node.name.value]) for key, node in self.fields(selection_set)
        ]
        return lambda counts: {key: read(counts) for key, read in readers}

    def root(self, node: FieldNode) -> RootRunner:
        name = node.name.value
        if name == "notification":
            return self._one(node)
        if name == "notifications":
            return self._connection(node)
        if name == "notificationsPage":
            return self._page(node)
        if name == "notificationCounts":
            render_counts = self.counts(node.selection_set)

            async def run_counts(runtime: Runtime, args: dict[str, Any]) -> Json:
                spec = _filter(args)
                return render_counts(await queries.counts(runtime.conn, runtime.viewer, spec))

            return run_counts
        raise NotCompilable(name)

    def _one(self, node: FieldNode) -> RootRunner:
        render = self.notification(node.selection_set)

        async def run(runtime: Runtime, args: dict[str, Any]) -> Json:
            notification_id = parse_id(args["id"])
            if notification_id is None:
                return None
            row = await queries.get_notification(runtime.conn, runtime.viewer, notification_id)
            return None if row is None else render(row)

        return run

    def _connection(self, node: FieldNode) -> RootRunner:
        parts: list[tuple[str, str, Any]] = []
        for key, child in self.fields(node.selection_set):
            name = child.name.value
            if name == "edges":
                edge_parts: list[tuple[str, str, Any]] = []
                for edge_key, edge_child in self.fields(child.selection_set):
                    edge_name = edge_child.name.value
                    if edge_name == "node":
                        edge_parts.append(
                            (edge_key, "node", self.notification(edge_child.selection_set))
                        )
                    elif edge_name in ("cursor", "__typename"):
                        edge_parts.append((edge_key, edge_name, None))
                    else:
                        raise NotCompilable(edge_name)
                parts.append((key, name, edge_parts))
            elif name == "nodes":
                parts.append((key, name, self.notification(child.selection_set)))
            elif name == "pageInfo":
                info = [
                    (info_key, info_child.name.value)
                    for info_key, info_child in self.fields(child.selection_set)
                ]
                parts.append((key, name, info))
            elif name in ("totalCount", "__typename"):
                parts.append((key, name, None))
            else:
                raise NotCompilable(name)

        async def run(runtime: Runtime, args: dict[str, Any]) -> Json:
            spec = _filter(args)
            window = pagination.window(
                runtime.cursors,
                first=args.get("first"),
                after=args.get("after"),
                last=args.get("last"),
                before=args.get("before"),
            )
            found = await queries.list_window(runtime.conn, runtime.viewer, spec, window)
            cursors = [runtime.cursors.encode(queries.position_of(row)) for row in found.rows]
            result: dict[str, Json] = {}
            for key, name, detail in parts:
                if name == "edges":
                    result[key] = [
                        {
                            edge_key: (
                                render(row)
                                if kind == "node"
                                else cursor
                                if kind == "cursor"
                                else "NotificationEdge"
                            )
                            for edge_key, kind, render in detail
                        }
                        for row, cursor in zip(found.rows, cursors, strict=True)
                    ]
                elif name == "nodes":
                    result[key] = [detail(row) for row in found.rows]
                elif name == "pageInfo":
                    values = {
                        "hasNextPage": found.has_next_page,
                        "hasPreviousPage": found.has_previous_page,
                        "startCursor": cursors[0] if cursors else None,
                        "endCursor": cursors[-1] if cursors else None,
                        "__typename": "PageInfo",
                    }
                    result[key] = {info_key: values[info_name] for info_key, info_name in detail}
                elif name == "totalCount":
                    result[key] = await queries.count(runtime.conn, runtime.viewer, spec)
                else:
                    result[key] = "NotificationConnection"
            return result

        return run

    def _page(self, node: FieldNode) -> RootRunner:
        parts: list[tuple[str, str, Any]] = []
        for key, child in self.fields(node.selection_set):
            name = child.name.value
            if name == "nodes":
                parts.append((key, name, self.notification(child.selection_set)))
            elif name in (
                "currentPage",
                "pageSize",
                "totalCount",
                "totalPages",
                "maxPageSize",
                "__typename",
            ):
                parts.append((key, name, None))
            else:
                raise NotCompilable(name)
        wants_total = any(name in ("totalCount", "totalPages") for _, name, _ in parts)

        async def run(runtime: Runtime, args: dict[str, Any]) -> Json:
            spec = _filter(args)
            page, size = pagination.page_arguments(args.get("page"), args.get("pageSize"))
            offset, limit = pagination.page_bounds(page, size)
            rows = await queries.list_page(runtime.conn, runtime.viewer, spec, offset, limit)
            total = await queries.count(runtime.conn, runtime.viewer, spec) if wants_total else 0
            values: dict[str, Json] = {
                "currentPage": page,
                "pageSize": size,
                "totalCount": total,
                "totalPages": pagination.total_pages(total, size),
                "maxPageSize": pagination.MAX_PAGE_SIZE,
                "__typename": "NotificationPage",
            }
            return {
                key: ([detail(row) for row in rows] if name == "nodes" else values[name])
                for key, name, detail in parts
            }

        return run


def _filter(args: Mapping[str, Any]) -> Any:
    given = args.get("filter")
    if given is None:
        return to_domain_filter(None)
    return NotificationFilterInput(
        **{_FILTER_NAMES[key]: value for key, value in given.items()}
    ).to_domain()


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
    compiler = _Compiler(schema, document)
    query_type = schema.query_type
    assert query_type is not None
    roots = []
    for key, node in compiler.fields(operation.selection_set):
        if node.name.value == "__typename":
            raise NotCompilable("root __typename")  # rare; the executor handles it
        field = query_type.fields[node.name.value]
        roots.append((key, node, field, compiler.root(node)))
    return Plan(schema=schema, operation=operation, roots=tuple(roots))


class Plans:
    """Plans per (query text, operation name), kept with the checked document they use."""

    def __init__(self, schema: GraphQLSchema, documents: Documents) -> None:
        self._schema = schema
        self._documents = documents

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
        checked.plans[operation_name] = plan
        return plan


# Plans never cover introspection, so the specified rules are the whole validation they need.
_RULES = tuple(specified_rules)


async def run_plan(
    plan: Plan, context: Context, variables: dict[str, Any] | None
) -> dict[str, Any] | None:
    """The response body, or None when the regular executor must answer instead."""
    viewer = context.viewer_or_none
    if viewer is None or not viewer.has_inbox:
        return None
    definitions = plan.operation.variable_definitions or ()
    coerced = get_variable_values(plan.schema, definitions, variables or {})
    if isinstance(coerced, list):
        return None
    try:
        async with context.database.read() as conn:
            runtime = Runtime(conn, viewer, context.cursors)
            data = {
                key: await runner(runtime, get_argument_values(field, node, coerced))
                for key, node, field, runner in plan.roots
            }
    except ServiceUnavailable as error:
        # Falling back would wait for the database all over again, doubling the time an
        # outage takes to answer: answer as the executor would, every root field failing.
        return _unavailable(plan, error)
    except Exception:
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

    for key, node, field, _runner in plan.roots:
        if is_non_null_type(field.type):
            return {"data": None, "errors": [located(key, node)]}
    return {
        "data": {key: None for key, _node, _field, _runner in plan.roots},
        "errors": [located(key, node) for key, node, _field, _runner in plan.roots],
    }
