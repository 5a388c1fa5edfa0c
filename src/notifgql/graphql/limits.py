"""Document limits checked before validation, in time linear in the document's size.

Strawberry's stock depth and alias limiters walk a fragment's selections again at every
spread, so a few nested fragments that each spread the next one twice make them
exponential: a query under 1 KB can hold the event loop for seconds. Here every fragment
is measured once and its figures are reused at each spread, and every figure is capped
just above its limit, so even the expanded sizes (which may be astronomically large) cost
constant work per spread.

Figures:
- depth: the deepest field nesting, counting fields only (fragments add no depth);
  introspection subtrees (``__schema``, ``__type``) are measured against their own,
  more generous limit, since tools such as GraphiQL send a deep but harmless one.
- aliases: aliased fields after expanding every fragment spread.
- fields: fields after expanding every fragment spread, the size the executor sees.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)

INTROSPECTION_DEPTH = 20


@dataclass(frozen=True, slots=True)
class Limits:
    """The largest document the server accepts."""

    max_depth: int = 10
    max_aliases: int = 30
    max_fields: int = 2_000


@dataclass(frozen=True, slots=True)
class _Size:
    depth: int = 0
    introspection_depth: int = 0
    aliases: int = 0
    fields: int = 0


class _Measurer:
    def __init__(self, document: DocumentNode, limits: Limits) -> None:
        self._fragments = {
            definition.name.value: definition
            for definition in document.definitions
            if isinstance(definition, FragmentDefinitionNode)
        }
        self._memo: dict[str, _Size] = {}
        self._active: set[str] = set()
        # Caps keep every sum small; anything above a cap is a rejection anyway.
        self._cap_aliases = limits.max_aliases + 1
        self._cap_fields = limits.max_fields + 1

    def selection_set(self, node: SelectionSetNode | None) -> _Size:
        if node is None:
            return _Size()
        depth = introspection = aliases = fields = 0
        for selection in node.selections:
            if isinstance(selection, FieldNode):
                inner = self.selection_set(selection.selection_set)
                if selection.name.value.startswith("__"):
                    introspection = max(
                        introspection, 1 + inner.depth, 1 + inner.introspection_depth
                    )
                else:
                    depth = max(depth, 1 + inner.depth)
                    introspection = max(introspection, inner.introspection_depth)
                aliases += inner.aliases + (selection.alias is not None)
                fields += inner.fields + 1
            else:
                inner = (
                    self.fragment(selection.name.value)
                    if isinstance(selection, FragmentSpreadNode)
                    else self.selection_set(selection.selection_set)
                    if isinstance(selection, InlineFragmentNode)
                    else _Size()
                )
                depth = max(depth, inner.depth)
                introspection = max(introspection, inner.introspection_depth)
                aliases += inner.aliases
                fields += inner.fields
            aliases = min(aliases, self._cap_aliases)
            fields = min(fields, self._cap_fields)
        return _Size(depth, introspection, aliases, fields)

    def fragment(self, name: str) -> _Size:
        if name in self._memo:
            return self._memo[name]
        definition = self._fragments.get(name)
        if definition is None or name in self._active:
            # Unknown fragments and cycles are validation errors, reported by validation.
            return _Size()
        self._active.add(name)
        size = self.selection_set(definition.selection_set)
        self._active.discard(name)
        self._memo[name] = size
        return size


def violations(document: DocumentNode, limits: Limits) -> Iterator[str]:
    """Why ``document`` is too large, if it is; one pass over each definition."""
    measurer = _Measurer(document, limits)
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        size = measurer.selection_set(definition.selection_set)
        name = definition.name.value if definition.name else "the operation"
        if size.depth > limits.max_depth:
            yield f"{name} is nested more than {limits.max_depth} levels deep"
        if size.introspection_depth > INTROSPECTION_DEPTH:
            yield f"{name} has introspection nested more than {INTROSPECTION_DEPTH} levels deep"
        if size.aliases > limits.max_aliases:
            yield f"{name} uses more than {limits.max_aliases} aliases"
        if size.fields > limits.max_fields:
            yield f"{name} selects more than {limits.max_fields} fields once fragments are expanded"
