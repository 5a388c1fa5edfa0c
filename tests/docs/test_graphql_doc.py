"""docs/graphql.md: every example runs, as written, against a real server with the demo inbox.

The page is a sequence of examples. Each is a `graphql` block whose first line names the token
it runs with (`# Token: user`, `# Token: service` or `# Token: none`), optionally followed by a
`json` block of variables, then by a `json` block of the response (an object with `data` or
`errors`). The test loads the demo inbox (`notifgql serve --demo`: recipient 3030 of
organization 810) into a fresh database and runs the examples in the page's order, each as
written: queries and mutations over HTTP, subscriptions over a real WebSocket
(graphql-transport-ws). The response shown must equal the real one, key for key, except where
a value cannot be the same twice: a time shown is any time, a cursor or change-feed position
shown is any non-empty string.

Variables may hold placeholders the page tells the reader to fill in: `"<endCursor>"`, `"<next>"`
and `"<id>"` (the value of that key in the latest response that has one) and `"<tomorrow>"` (a
time one day ahead). Nothing else in an example is changed.

The page shows the ids of SQLite, the default database, and they must be equal there. On
PostgreSQL the demo's grouped publishes consume sequence values, so that notification ids after
the first two differ: there an `id` shown need only be answered as an id (digits).

A subscription that sends nothing at once (`notificationCreated`, `notificationUpdated`) is
opened first, then the page's next example runs (and is checked as usual), and the event it
causes must be the response shown.
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from graphql import (
    DocumentNode,
    FieldNode,
    OperationDefinitionNode,
    OperationType,
    build_schema,
    parse,
    validate,
)

from notifgql.demo import DEMO_ORGANIZATION, DEMO_RECIPIENT, load_demo
from tests.client import Api, Person
from tests.docs.blocks import DOCS, REPOSITORY, Block, blocks
from tests.subscriptions.ws import TIMEOUT, Sockets, until_live

PAGE = DOCS / "graphql.md"
SCHEMA = REPOSITORY / "schema.graphql"
TOKENS = ("user", "service", "none")
VARYING = frozenset({"cursor", "startCursor", "endCursor", "next"})
TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d")
PLACEHOLDER = re.compile(r"^<([A-Za-z]+)>$")
QUIET_SUBSCRIPTIONS = frozenset({"notificationCreated", "notificationUpdated"})
DEMO = Person(DEMO_RECIPIENT, DEMO_ORGANIZATION)


@dataclass
class Example:
    operation: Block
    token: str
    variables: dict[str, Any] = field(default_factory=dict)
    response: dict[str, Any] | None = None

    @property
    def document(self) -> DocumentNode:
        return parse(self.operation.text)

    @property
    def definition(self) -> OperationDefinitionNode:
        (definition,) = self.document.definitions
        assert isinstance(definition, OperationDefinitionNode), self.operation.where
        return definition

    @property
    def root_fields(self) -> set[str]:
        return {
            selection.name.value
            for selection in self.definition.selection_set.selections
            if isinstance(selection, FieldNode)
        }


def examples() -> list[Example]:
    """The page's examples, in order; a block that is not part of one fails."""
    found: list[Example] = []
    for block in blocks(PAGE):
        if block.language == "graphql":
            first = block.text.splitlines()[0]
            match = re.fullmatch(r"# Token: (\w+)", first)
            assert match, f"{block.where}: starts {first!r}, not with its token"
            assert match[1] in TOKENS, f"{block.where}: starts {first!r}"
            found.append(Example(block, match[1]))
            continue
        assert block.language == "json", f"{block.where}: a {block.language!r} block"
        assert found, f"{block.where}: JSON before the first example"
        assert found[-1].response is None, f"{block.where}: JSON after a response"
        value = json.loads(block.text)
        assert isinstance(value, dict), block.where
        if {"data", "errors"} & set(value):
            found[-1].response = value
        else:
            assert not found[-1].variables, f"{block.where}: variables twice"
            found[-1].variables = value
    for example in found:
        assert example.response is not None, f"{example.operation.where}: no response shown"
    return found


def test_every_example_is_valid_against_the_schema() -> None:
    schema = build_schema(SCHEMA.read_text(encoding="utf-8"))
    for example in examples():
        assert validate(schema, example.document) == [], example.operation.where


def test_every_root_field_is_explained_and_run() -> None:
    """A root field added to schema.graphql fails here until the page covers it."""
    schema = build_schema(SCHEMA.read_text(encoding="utf-8"))
    text = PAGE.read_text(encoding="utf-8")
    kinds = {
        OperationType.QUERY: schema.query_type,
        OperationType.MUTATION: schema.mutation_type,
        OperationType.SUBSCRIPTION: schema.subscription_type,
    }
    run: dict[OperationType, set[str]] = {kind: set() for kind in kinds}
    for example in examples():
        run[example.definition.operation] |= example.root_fields
    for kind, root in kinds.items():
        assert root is not None
        for name in root.fields:
            assert re.search(rf"^#+ .*`{name}\b", text, re.MULTILINE), f"no heading for {name}"
            assert name in run[kind], f"no {kind.value} example runs {name}"


def test_names_every_error_code() -> None:
    text = PAGE.read_text(encoding="utf-8")
    source = "\n".join(
        path.read_text(encoding="utf-8") for path in (REPOSITORY / "src" / "notifgql").rglob("*.py")
    )
    codes = set(re.findall(r'code = "([A-Z_]+)"', source)) | {"INTERNAL_SERVER_ERROR"}
    codes |= {"PERSISTED_QUERY_NOT_FOUND", "PERSISTED_QUERY_NOT_SUPPORTED"}
    assert {"RESYNC_REQUIRED", "NOT_FOUND", "TOO_MANY_SUBSCRIPTIONS"} <= codes
    for code in codes:
        assert f"`{code}`" in text, code


def matches(shown: Any, real: Any, key: str | None = None, *, exact_ids: bool = True) -> str | None:
    """Why ``real`` is not the response ``shown`` (None when it is)."""
    if isinstance(shown, dict):
        if not isinstance(real, dict) or set(shown) != set(real):
            return f"{key}: keys {sorted(shown)} shown, {real!r} answered"
        for name, value in shown.items():
            why = matches(value, real[name], name, exact_ids=exact_ids)
            if why:
                return why
        return None
    if isinstance(shown, list):
        if not isinstance(real, list) or len(shown) != len(real):
            return f"{key}: {len(shown)} items shown, {real!r} answered"
        for value, got in zip(shown, real, strict=True):
            why = matches(value, got, key, exact_ids=exact_ids)
            if why:
                return why
        return None
    if isinstance(shown, str) and key in VARYING:
        return None if isinstance(real, str) and real else f"{key}: {real!r} is no position"
    if not exact_ids and key in {"id", "removed"} and isinstance(shown, str) and shown.isdigit():
        return None if isinstance(real, str) and real.isdigit() else f"{key}: {real!r} is no id"
    if isinstance(shown, str) and TIME.match(shown):
        if isinstance(real, str) and TIME.match(real):
            datetime.fromisoformat(real)
            return None
        return f"{key}: {real!r} is no time"
    if type(shown) is not type(real) or shown != real:
        return f"{key}: {shown!r} shown, {real!r} answered"
    return None


def latest(responses: list[Any], name: str) -> Any:
    """The value of key ``name`` in the latest response that has one."""

    def search(value: Any) -> Any:
        if isinstance(value, dict):
            if name in value:
                return value[name]
            for item in value.values():
                found = search(item)
                if found is not None:
                    return found
        if isinstance(value, list):
            for item in value:
                found = search(item)
                if found is not None:
                    return found
        return None

    for response in reversed(responses):
        found = search(response)
        if found is not None:
            return found
    raise AssertionError(f"no earlier response has {name}")


def filled(variables: Any, responses: list[Any]) -> Any:
    if isinstance(variables, dict):
        return {name: filled(value, responses) for name, value in variables.items()}
    if isinstance(variables, list):
        return [filled(value, responses) for value in variables]
    if isinstance(variables, str) and (match := PLACEHOLDER.match(variables)):
        if match[1] == "tomorrow":
            return (datetime.now(UTC) + timedelta(days=1)).isoformat()
        return latest(responses, match[1])
    return variables


class Runner:
    def __init__(self, api: Api, sockets: Sockets) -> None:
        self.api = api
        self.exact_ids = api.database.dialect == "sqlite"
        self.sockets = sockets
        self.responses: list[Any] = []
        self.tokens = {
            "user": api.token(DEMO),
            "service": api.token(Person("billing", DEMO_ORGANIZATION), role="service"),
        }

    def headers(self, example: Example) -> dict[str, str]:
        if example.token == "none":
            return {}
        return {"Authorization": f"Bearer {self.tokens[example.token]}"}

    async def http(self, example: Example) -> dict[str, Any]:
        variables = filled(example.variables, self.responses)
        _, body = await self.api.gql_raw(
            example.operation.text, variables, headers=self.headers(example)
        )
        return body

    def check(self, example: Example, real: dict[str, Any]) -> None:
        why = matches(example.response, real, exact_ids=self.exact_ids)
        assert why is None, f"{PAGE.name} {example.operation.where}: {why}\nanswered: {real}"
        self.responses.append(real)

    async def run(self, found: list[Example]) -> None:
        pending = list(found)
        while pending:
            example = pending.pop(0)
            if example.definition.operation is not OperationType.SUBSCRIPTION:
                self.check(example, await self.http(example))
                continue
            assert example.token == "user", example.operation.where
            socket = await self.sockets.connect(self.tokens["user"])
            try:
                variables = filled(example.variables, self.responses)
                before = socket.slots.live_count
                await socket.send(
                    {
                        "id": "1",
                        "type": "subscribe",
                        "payload": {"query": example.operation.text, "variables": variables},
                    }
                )
                if example.root_fields & QUIET_SUBSCRIPTIONS:
                    # Attached to the broker: an event published now reaches it.
                    await asyncio.wait_for(until_live(socket.slots, before + 1), TIMEOUT)
                    trigger = pending.pop(0)
                    assert trigger.definition.operation is OperationType.MUTATION
                    self.check(trigger, await self.http(trigger))
                frame = await socket.receive()
                assert frame["type"] == "next", frame
                assert frame["id"] == "1", frame
                self.check(example, frame["payload"])
            finally:
                await socket.ws.close()


async def test_every_example_runs_as_shown(api: Api, server: Any) -> None:
    assert await load_demo(api.database)
    async with aiohttp.ClientSession() as session:
        await Runner(api, Sockets(session, server)).run(examples())
