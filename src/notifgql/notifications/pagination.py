"""Pagination: keyset windows with opaque cursors, and page numbers.

The list order is ``activity_at DESC, id DESC`` where ``activity_at`` is
``coalesce(last_action_at, created_at)``, fixed when a notification is created. A cursor
names one position in that order: the pair (activity_at in microseconds, id). Paging
compares row values against that pair, so rows inserted between two requests land before
or after the position but never shift it: nothing is skipped or repeated.

On the wire a cursor is base64url of ``version ‖ micros ‖ id ‖ mac``, sealed (see
``sealing``): mac is a truncated HMAC-SHA256 under the server's key. A damaged or hand-made
cursor fails the MAC and is refused as bad input instead of steering the query somewhere
arbitrary.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from notifgql.errors import BadUserInput

# Re-exported: the GraphQL output types read the page sizes from here.
from notifgql.notifications.limits import DEFAULT_PAGE_SIZE as DEFAULT_PAGE_SIZE
from notifgql.notifications.limits import MAX_CURSOR_LENGTH, MAX_PAGE_NUMBER
from notifgql.notifications.limits import MAX_PAGE_SIZE as MAX_PAGE_SIZE
from notifgql.notifications.sealing import Seal

_VERSION = 1
_PAYLOAD = struct.Struct(">Bqq")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Position:
    """A place in the list order."""

    activity_at: datetime
    id: int


class CursorCodec:
    """Turns positions into opaque, tamper-evident cursors and back."""

    def __init__(self, secret: str, purpose: str = "") -> None:
        # Each purpose (the list, a notification's activities) gets a key of its own, so a
        # cursor from one list is refused by another instead of steering it.
        label = f"notifgql {purpose} cursor" if purpose else "notifgql cursor"
        self._seal = Seal(secret, label)

    def encode(self, position: Position) -> str:
        """The cursor for ``position``."""
        return self._seal.seal(_PAYLOAD.pack(_VERSION, micros(position.activity_at), position.id))

    def decode(self, cursor: str, *, parameter: str) -> Position:
        """The position ``cursor`` names; raises BadUserInput for anything we did not issue."""
        payload = self._seal.open(cursor, _PAYLOAD.size, MAX_CURSOR_LENGTH)
        if payload is None:
            raise BadUserInput.about(parameter, "is not a valid cursor")
        version, at, row_id = _PAYLOAD.unpack(payload)
        if version != _VERSION:
            raise BadUserInput.about(parameter, "is not a valid cursor")
        return Position(from_micros(at), row_id)


def micros(at: datetime) -> int:
    """``at`` as whole microseconds since the Unix epoch, exactly."""
    delta = at - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(value: int) -> datetime:
    """The time ``micros`` gave."""
    return _EPOCH + timedelta(microseconds=value)


@dataclass(frozen=True, slots=True)
class Window:
    """A validated Relay window: ``limit`` rows after/before ``position``, or from an end."""

    limit: int
    backward: bool
    position: Position | None


def window(
    codec: CursorCodec,
    *,
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
) -> Window:
    """Validate Relay arguments; forward from the top with the default size when none given."""
    if first is not None and last is not None:
        raise BadUserInput("Pass either first or last, not both", parameter="last")
    if last is not None or before is not None:
        if after is not None:
            raise BadUserInput("Pass either after or before, not both", parameter="before")
        limit = _check_size(last if last is not None else DEFAULT_PAGE_SIZE, "last")
        position = codec.decode(before, parameter="before") if before is not None else None
        return Window(limit=limit, backward=True, position=position)
    limit = _check_size(first if first is not None else DEFAULT_PAGE_SIZE, "first")
    position = codec.decode(after, parameter="after") if after is not None else None
    return Window(limit=limit, backward=False, position=position)


def page_arguments(page: int | None, page_size: int | None) -> tuple[int, int]:
    """Page-number arguments with their defaults in place of an explicit null."""
    return (1 if page is None else page, DEFAULT_PAGE_SIZE if page_size is None else page_size)


def page_bounds(page: int, page_size: int) -> tuple[int, int]:
    """Validate page-number arguments; returns (offset, limit)."""
    _check_size(page_size, "page_size")
    if page < 1:
        raise BadUserInput.about("page", "must be 1 or more")
    if page > MAX_PAGE_NUMBER:
        raise BadUserInput.about("page", "is too large")
    return (page - 1) * page_size, page_size


def total_pages(total: int, page_size: int) -> int:
    """Pages needed for ``total`` items; 0 for none."""
    return -(-total // page_size)


def _check_size(size: int, parameter: str) -> int:
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise BadUserInput.about(parameter, f"must be between 1 and {MAX_PAGE_SIZE}")
    return size
