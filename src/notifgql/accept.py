"""The ``Accept`` header, read once for every door that negotiates what it answers."""

from __future__ import annotations


def accepted(header: str) -> list[tuple[str, float]]:
    """Each media range the client lists, lowercased, with its quality, in the client's order.

    A quality that does not parse counts as 0 (not acceptable), as RFC 9110 §12.4.2 leaves
    a malformed weight no meaning.
    """
    ranges = []
    for part in header.split(","):
        media, *params = (piece.strip() for piece in part.split(";"))
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        ranges.append((media.lower(), quality))
    return ranges
