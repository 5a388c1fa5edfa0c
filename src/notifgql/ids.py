"""Identifiers: positive 64-bit integers, written as decimal strings on the wire."""

from __future__ import annotations

MAX_ID = 2**63 - 1


def parse_id(value: str | int) -> int | None:
    """The id ``value`` names, or None when it cannot name a stored row."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    else:
        text = value.strip()
        if not text.isascii() or not text.isdigit() or len(text) > 19:
            return None
        number = int(text)
    return number if 0 < number <= MAX_ID else None
