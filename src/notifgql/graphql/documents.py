"""Parsed, limit-checked and validated GraphQL documents, remembered for known callers only.

Parsing and validating is the costliest step of a small query, and clients send the same few
texts all day, so each distinct text is checked once. Anyone can send text, though, so:

- only authenticated requests fill the cache; an anonymous one is checked and forgotten, so
  nobody without a token can grow the process or evict the documents real clients use;
- the cache is bounded by an estimate of the memory its documents hold, not by their number;
- a text longer than ``max_bytes`` is refused before the lexer sees it (comments and
  whitespace are not tokens, so the token limit alone does not bound the work), and a long
  text is checked in a worker thread, so that the lexer's pure-Python loop yields the GIL to
  the event loop instead of holding every other request for the whole parse.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from graphql import ASTValidationRule, DocumentNode, GraphQLError, GraphQLSchema, parse
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document
from strawberry.types.graphql import OperationType

from notifgql.graphql.limits import Limits, violations

# graphql-core's AST takes about 47 bytes of memory per character of query text (measured
# with tracemalloc on the introspection query); the rest covers the entry itself.
_BYTES_PER_CHARACTER = 48
_ENTRY_OVERHEAD = 2_048
# Above this many characters a check runs in a worker thread (a 4 KiB text parses in ~2 ms).
_OFFLOAD_CHARACTERS = 4_096

Rules = tuple[type[ASTValidationRule], ...]
# Never executed: they only carry an operation type the transport accepts past Strawberry's
# check, so that the refusal of an oversized text is what the client hears.
_STAND_INS = {
    kind: parse(f"{kind.value} {{ __typename }}")
    for kind in (OperationType.QUERY, OperationType.SUBSCRIPTION, OperationType.MUTATION)
}


@dataclass(slots=True)
class Checked:
    """One query text, parsed and measured, and its validation against each rule set."""

    query: str
    document: DocumentNode | None
    # A syntax error or the limits it breaks; empty when it may be validated.
    problems: list[GraphQLError]
    validations: dict[Rules, list[GraphQLError]] = field(default_factory=dict)
    # Compiled plans per operation name, filled in by notifgql.graphql.compiled.
    plans: dict[str | None, Any] = field(default_factory=dict)

    @property
    def weight(self) -> int:
        """Estimated bytes of memory this entry holds."""
        return _ENTRY_OVERHEAD + _BYTES_PER_CHARACTER * len(self.query)

    def errors(self, schema: GraphQLSchema, rules: Rules) -> list[GraphQLError]:
        """Why the document may not run under ``rules``; empty when it may."""
        if self.problems or self.document is None:
            return self.problems
        errors = self.validations.get(rules)
        if errors is None:
            errors = self.validations[rules] = list(validate_document(schema, self.document, rules))
        return errors


class DocumentTooLarge(GraphQLError):
    """A query text longer than the server accepts."""


class Documents:
    """Checks query texts and remembers the results for authenticated callers."""

    def __init__(
        self,
        schema: GraphQLSchema,
        limits: Limits,
        *,
        max_tokens: int,
        max_bytes: int,
        cache_bytes: int,
    ) -> None:
        self.schema = schema
        self.limits = limits
        self.max_tokens = max_tokens
        self.max_bytes = max_bytes
        self.cache_bytes = cache_bytes
        self._entries: OrderedDict[str, Checked] = OrderedDict()
        self._weight = 0

    def too_large(self, query: str) -> DocumentTooLarge | None:
        """The refusal for a text over ``max_bytes`` (UTF-8), or None."""
        # len() is a lower bound of the UTF-8 size and free; encode only near the limit.
        if len(query) <= self.max_bytes // 4 or len(query.encode("utf-8", "replace")) <= (
            self.max_bytes
        ):
            return None
        return DocumentTooLarge(
            f"The query is larger than {self.max_bytes} bytes",
            extensions={"code": "BAD_USER_INPUT"},
        )

    async def check(self, query: str, rules: Rules, *, remember: bool) -> Checked:
        """``query`` parsed, measured and validated; remembered if ``remember``."""
        entry = self._entries.get(query)
        if entry is not None:
            self._entries.move_to_end(query)
            if rules not in entry.validations and len(query) > _OFFLOAD_CHARACTERS:
                # A rule set not seen for this text yet: validating a long one is as
                # costly as parsing it, so it leaves the event loop too.
                await asyncio.to_thread(entry.errors, self.schema, rules)
            else:
                entry.errors(self.schema, rules)
            return entry
        if len(query) > _OFFLOAD_CHARACTERS:
            entry = await asyncio.to_thread(self._check, query, rules)
        else:
            entry = self._check(query, rules)
        if remember:
            self._remember(entry)
        return entry

    def _check(self, query: str, rules: Rules) -> Checked:
        refusal = self.too_large(query)
        if refusal is not None:
            return Checked(query, None, [refusal])
        try:
            document = parse(query, max_tokens=self.max_tokens)
        except GraphQLError as error:
            return Checked(query, None, [error])
        problems = [
            GraphQLError(problem, extensions={"code": "BAD_USER_INPUT"})
            for problem in violations(document, self.limits)
        ]
        entry = Checked(query, document, problems)
        entry.errors(self.schema, rules)  # validation is the other costly step: off the loop too
        return entry

    def _remember(self, entry: Checked) -> None:
        if entry.weight > self.cache_bytes // 4:
            return  # one huge text would push out many everyday ones
        previous = self._entries.pop(entry.query, None)
        if previous is not None:
            self._weight -= previous.weight
        self._entries[entry.query] = entry
        self._weight += entry.weight
        while self._weight > self.cache_bytes:
            _, evicted = self._entries.popitem(last=False)
            self._weight -= evicted.weight

    @property
    def weight(self) -> int:
        """Estimated bytes held by remembered documents."""
        return self._weight

    def __len__(self) -> int:
        return len(self._entries)


class CheckedDocuments(SchemaExtension):
    """Strawberry's parse and validation steps, answered from ``Documents``.

    A text that fails to parse is left to Strawberry's own parse step, which reports the
    syntax error as a normal GraphQL error (raised from here, it would escape the
    operation and skip the error-code extension); Strawberry's token limit bounds it.
    """

    def __init__(self, documents: Documents) -> None:
        self.documents = documents

    async def on_parse(self) -> Any:
        context = self.execution_context
        query = context.query
        if query is not None and context.graphql_document is None:
            viewer = getattr(context.context, "viewer_or_none", None)
            checked = await self.documents.check(
                query, tuple(context.validation_rules), remember=viewer is not None
            )
            if checked.document is not None:
                context.graphql_document = checked.document
                self._errors: list[GraphQLError] = checked.errors(
                    self.documents.schema, tuple(context.validation_rules)
                )
            elif any(isinstance(error, DocumentTooLarge) for error in checked.problems):
                # Strawberry would parse the whole text itself: give it a stand-in document
                # and the refusal, which on_validate reports before anything runs.
                allowed = context.allowed_operations
                context.graphql_document = next(
                    (stand_in for kind, stand_in in _STAND_INS.items() if kind in allowed),
                    _STAND_INS[OperationType.QUERY],
                )
                self._errors = checked.problems
        yield

    def on_validate(self) -> Iterator[None]:
        errors = getattr(self, "_errors", None)
        if errors is not None and self.execution_context.pre_execution_errors is None:
            self.execution_context.pre_execution_errors = list(errors)
        yield
