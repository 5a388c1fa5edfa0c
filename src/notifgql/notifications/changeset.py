"""A notification's changeset: any JSON a publisher sends, kept exactly and always renderable.

It is stored as JSON text, not as PostgreSQL ``jsonb``: ``jsonb`` reorders object keys and
turns ``-0.0`` into ``0``, so the two databases would answer different bytes for what one
publisher sent. Whatever is accepted here must render in every response that carries it,
so the checks run before anything is written: a value that cannot be shown is refused, not
stored and then answered with a 500.
"""

from __future__ import annotations

import math
from typing import Any

import orjson

from notifgql.errors import BadUserInput
from notifgql.notifications.limits import MAX_CHANGESET_BYTES, MAX_CHANGESET_DEPTH


def encode(value: Any, *, parameter: str) -> str:
    """The JSON text to store for ``value``; BadUserInput when it is not storable JSON."""
    _check_structure(value, parameter)
    try:
        encoded = orjson.dumps(value)
    except TypeError:
        # Lone surrogates, integers beyond 64 bits, non-string keys.
        raise BadUserInput.about(parameter, "must be JSON") from None
    if len(encoded) > MAX_CHANGESET_BYTES:
        raise BadUserInput.about(parameter, f"is larger than {MAX_CHANGESET_BYTES // 1024} KiB")
    return encoded.decode()


def decode(text: str) -> Any:
    """The value stored as ``text``."""
    return orjson.loads(text)


def _check_structure(value: Any, parameter: str) -> None:
    """Depth and number checks, iteratively: the input may be nested a thousand deep."""
    pending: list[tuple[Any, int]] = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict | list):
            if depth >= MAX_CHANGESET_DEPTH:
                raise BadUserInput.about(
                    parameter, f"is nested more than {MAX_CHANGESET_DEPTH} levels deep"
                )
            children = item.values() if isinstance(item, dict) else item
            pending.extend((child, depth + 1) for child in children)
        elif isinstance(item, float) and not math.isfinite(item):
            # JSON has no infinities or NaN; encoders would silently write null.
            raise BadUserInput.about(parameter, "holds a number outside JSON's range")
        elif item is not None and not isinstance(item, str | int | float | bool):
            raise BadUserInput.about(parameter, "must be JSON")
