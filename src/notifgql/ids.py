"""Identifiers: what a notification id is, and what a recipient, organization or actor id is.

Notification ids are ours: positive 64-bit integers, written as decimal strings on the wire.

Recipient, organization and actor ids are the clients' own (a user's number, a UUID, an
identity provider's subject such as ``auth0|abc123``): opaque strings of 1 to 255
characters with no control characters. They are kept exactly as given, never trimmed or
case-folded, so ``"1"`` and ``"01"``, ``"Alice"`` and ``"alice"`` name different people.
"""

from __future__ import annotations

import re

from notifgql.notifications.limits import MAX_OPAQUE_ID_LENGTH

MAX_ID = 2**63 - 1

# Unicode's control characters (category Cc: C0, DEL, C1) and the surrogates, which no
# database stores as text and which a JSON string can smuggle in as a lone ``\udXXX``.
_UNUSABLE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def parse_id(value: str | int) -> int | None:
    """The notification id ``value`` names, or None when it cannot name a stored row."""
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


def opaque_id_problem(value: str) -> str | None:
    """What keeps ``value`` from being a recipient, organization or actor id; None if nothing.

    The answer completes a sentence that starts with the value's name ("… must not be
    empty"); it never repeats the value, which may be long or unprintable.
    """
    if not value:
        return "must not be empty"
    if len(value) > MAX_OPAQUE_ID_LENGTH:
        return f"is longer than {MAX_OPAQUE_ID_LENGTH} characters"
    if _UNUSABLE.search(value):
        return "contains a control character or a lone surrogate"
    return None
