"""The change feed: what changed in an inbox since a position, in commit order.

Every change to a notification carries its inbox's version (see ``versions``), so the feed
is a walk of one inbox's rows in ``(change_version, id)`` order from the client's position,
merged with the removals retention left behind (``notification_removals``). A row that was
withdrawn, or whose expiry was noted, is reported removed; one that expired and is not yet
noted is left out until it is (a moment later), so it is reported once. The inbox's own
counter row ends the walk: reaching it means the client has everything up to its version,
and its next position is that whole version.

One statement reads all of it, so it is one snapshot: on PostgreSQL a version a reader sees
was committed after every version below it (taking a version waits for the previous one to
commit), so nothing at or below the position handed out can still appear later.

A position is sealed into an opaque token with the inbox it belongs to and when it was
issued; tokens older than the history kept (``history_days``), or older than a removal the
history forgot, are refused with RESYNC_REQUIRED.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    BigInteger,
    Integer,
    bindparam,
    cast,
    literal,
    null,
    or_,
    select,
    tuple_,
    union_all,
)

from notifgql.auth import Viewer
from notifgql.db.models import inboxes as i
from notifgql.db.models import notification_removals as r
from notifgql.db.models import notifications as t
from notifgql.db.reader import AnySelect, Reader
from notifgql.errors import BadUserInput, ResyncRequired
from notifgql.notifications.limits import MAX_CURSOR_LENGTH
from notifgql.notifications.pagination import from_micros, micros
from notifgql.notifications.queries import Record, as_record
from notifgql.notifications.sealing import Seal

# ``first``: changes per answer.
DEFAULT_CHANGES = 100
MAX_CHANGES = 500
# Past every id: a position with it stands after every change of its version.
_END = 2**63 - 1
_CHANGED, _REMOVED, _INBOX = 1, 2, 3


@dataclass(frozen=True, slots=True)
class Position:
    """Where a client stands in its inbox's feed: after (version, id).

    ``fresh``: the client started from nothing and is still catching up, so removals of
    notifications it never had are not worth sending.
    """

    version: int
    id: int
    fresh: bool = False


START = Position(0, 0, fresh=True)


@dataclass(frozen=True, slots=True)
class Changes:
    """One answer of the feed."""

    changed: Sequence[Record]
    removed: Sequence[int]
    next: Position
    has_more: bool


async def changes_since(
    reader: Reader, viewer: Viewer, since: Position, first: int, now: datetime
) -> Changes:
    """Up to ``first`` changes of the viewer's inbox after ``since``, oldest first."""
    if not 1 <= first <= MAX_CHANGES:
        raise BadUserInput.about("first", f"must be between 1 and {MAX_CHANGES}")
    params = {
        "c_org": viewer.organization_id,
        "c_rcp": viewer.recipient_id,
        "c_version": since.version,
        "c_id": since.id,
        "c_now": now,
        "c_limit": first + 1,
    }
    rows = await reader.rows(_statement(since.fresh), params)
    if rows and not since.fresh and since.version < (rows[0][3] or 0):
        raise ResyncRequired.about(
            "since",
            "is older than a removal this inbox no longer keeps: start over with since: null",
        )
    changed: list[Record] = []
    removed: list[int] = []
    last = since
    for kind, version, item, _forgotten, *columns in rows:
        if kind == _INBOX:
            # Everything up to the inbox's version is in this answer.
            return Changes(changed, removed, Position(int(version), _END), has_more=False)
        if len(changed) + len(removed) == first:
            return Changes(changed, removed, last, has_more=True)
        last = Position(int(version), int(item), since.fresh)
        if kind == _REMOVED:
            removed.append(int(item))
            continue
        row = as_record(columns)
        if row.withdrawn_at is not None or row.expired_at is not None:
            removed.append(row.id)
        else:
            changed.append(row)
    if len(rows) > first:
        return Changes(changed, removed, last, has_more=True)
    # No counter row: the inbox has not changed since the feed began (version 0).
    return Changes(changed, removed, Position(max(last.version, 0), _END), has_more=False)


@lru_cache(maxsize=2)
def _statement(fresh: bool) -> AnySelect:
    """Rows, removals and the inbox's counter after the position, in feed order."""
    version = bindparam("c_version", type_=BigInteger())
    after = bindparam("c_id", type_=BigInteger())
    limit = bindparam("c_limit", type_=Integer())
    org = bindparam("c_org", type_=t.c.organization_id.type)
    rcp = bindparam("c_rcp", type_=t.c.recipient_id.type)
    now = bindparam("c_now", type_=t.c.expires_at.type)
    conditions = [
        t.c.organization_id == org,
        t.c.recipient_id == rcp,
        tuple_(t.c.change_version, t.c.id) > tuple_(version, after),
        # Not expired unnoted: the clock is about to note it and report it removed then.
        or_(t.c.expires_at.is_(None), t.c.expires_at > now, t.c.expired_at.is_not(None)),
    ]
    if fresh:
        conditions += [t.c.withdrawn_at.is_(None), t.c.expired_at.is_(None)]
    rows = (
        select(
            literal(_CHANGED, Integer()).label("kind"),
            t.c.change_version.label("position"),
            t.c.id.label("item"),
            *t.c,
        )
        .where(*conditions)
        .order_by(t.c.change_version, t.c.id)
        .limit(limit)
        .subquery("changed_rows")
    )
    parts: list[Any] = [select(rows)]

    def blank() -> list[Any]:
        return [cast(null(), column.type).label(column.name) for column in t.c]

    if not fresh:
        removals = (
            select(
                literal(_REMOVED, Integer()).label("kind"),
                r.c.version.label("position"),
                r.c.notification_id.label("item"),
                *blank(),
            )
            .where(
                r.c.organization_id == org,
                r.c.recipient_id == rcp,
                tuple_(r.c.version, r.c.notification_id) > tuple_(version, after),
            )
            .order_by(r.c.version, r.c.notification_id)
            .limit(limit)
            .subquery("removals")
        )
        parts.append(select(removals))
    counter = select(
        literal(_INBOX, Integer()).label("kind"),
        i.c.version.label("position"),
        literal(_END, BigInteger()).label("item"),
        *blank(),
    ).where(i.c.organization_id == org, i.c.recipient_id == rcp)
    parts.append(counter)
    feed = union_all(*parts).subquery("feed")
    # The newest removal the history forgot: a position older than it has missed one.
    forgotten = (
        select(i.c.forgotten_through)
        .where(i.c.organization_id == org, i.c.recipient_id == rcp)
        .scalar_subquery()
    )
    return (
        select(
            feed.c.kind,
            feed.c.position,
            feed.c.item,
            forgotten.label("forgotten"),
            *(feed.c[column.name] for column in t.c),
        )
        .order_by(feed.c.position, feed.c.item)
        .limit(limit)
    )


# Tokens: format, version, id, issued (µs since the epoch), fresh, the inbox's fingerprint.
_TOKEN = struct.Struct(">Bqqq?8s")
_FORMAT = 1


class ChangeTokens:
    """Seals positions into the opaque ``next`` / ``since`` tokens, and opens them."""

    def __init__(self, secret: str, history_days: int) -> None:
        self._seal = Seal(secret, "notifgql change-feed position")
        self.history = timedelta(days=history_days)

    def encode(self, viewer: Viewer, position: Position, now: datetime) -> str:
        """The token of ``position`` in the viewer's inbox, issued at ``now``."""
        payload = _TOKEN.pack(
            _FORMAT,
            position.version,
            position.id,
            micros(now),
            position.fresh,
            _fingerprint(viewer),
        )
        return self._seal.seal(payload)

    def decode(
        self, viewer: Viewer, token: str | None, now: datetime, *, parameter: str = "since"
    ) -> Position:
        """The position ``token`` names in the viewer's inbox; none is the very start.

        Refuses (BAD_USER_INPUT) what we did not issue or issued for another inbox, and
        (RESYNC_REQUIRED) a position older than the history kept.
        """
        if token is None:
            return START
        payload = self._seal.open(token, _TOKEN.size, MAX_CURSOR_LENGTH)
        if payload is None:
            raise BadUserInput.about(parameter, "is not a position this server issued")
        form, version, item, issued, fresh, inbox = _TOKEN.unpack(payload)
        if form != _FORMAT or inbox != _fingerprint(viewer):
            raise BadUserInput.about(parameter, "is not a position in your inbox")
        if from_micros(issued) < now - self.history:
            raise ResyncRequired.about(
                parameter,
                f"is older than the {self.history.days} days of changes kept: start over with"
                " since: null",
            )
        return Position(version, item, fresh)


def _fingerprint(viewer: Viewer) -> bytes:
    inbox = f"{viewer.organization_id}\x00{viewer.recipient_id}".encode()
    return hashlib.sha256(inbox).digest()[:8]
