"""What each root query field computes, once, for the executor and the compiled plans alike.

Each function goes from the field's arguments to the value its output type is declared over
(a row, a listing, a page, the counts). The Strawberry resolvers wrap that value in objects;
a compiled plan projects the selected fields straight out of it. Neither path has any logic
of its own, so they cannot disagree about windows, cursors, page info or totals.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from notifgql.auth import Viewer
from notifgql.db.models import NotificationRow
from notifgql.db.reader import Reader
from notifgql.ids import parse_id
from notifgql.notifications import activities as activity_reads
from notifgql.notifications import changes, pagination, queries
from notifgql.notifications.activities import ShownActivity
from notifgql.notifications.changes import Changes, ChangeTokens, Position
from notifgql.notifications.filters import EVERYTHING, NotificationFilter
from notifgql.notifications.pagination import CursorCodec
from notifgql.notifications.queries import Counts

Connect = Callable[[], AbstractAsyncContextManager[Reader]]
"""Where a root function reads: a fresh connection per use (the executor, whose resolvers
run concurrently), or the one a compiled plan holds for the whole request."""


def holding(reader: Reader) -> Connect:
    """A ``Connect`` that hands out ``reader`` itself, for a plan that holds one connection."""

    @asynccontextmanager
    async def connect() -> AsyncIterator[Reader]:
        yield reader

    return connect


class LazyTotal:
    """How many notifications a filter matches: counted once, and only if a field asks."""

    def __init__(self, connect: Connect, viewer: Viewer, spec: NotificationFilter) -> None:
        self._connect = connect
        self._viewer = viewer
        self._spec = spec
        self._count: asyncio.Future[int] | None = None

    def get(self) -> asyncio.Future[int]:
        """The count, started on first use and shared by every later one."""
        if self._count is None:
            self._count = asyncio.ensure_future(self._run())
        return self._count

    async def _run(self) -> int:
        async with self._connect() as conn:
            return await queries.count(conn, self._viewer, self._spec)


@dataclass(frozen=True, slots=True)
class Listing:
    """One window of the list with its cursors: what a connection is declared over."""

    rows: Sequence[NotificationRow]
    cursors: Sequence[str]
    has_next_page: bool
    has_previous_page: bool
    total: LazyTotal


@dataclass(frozen=True, slots=True)
class Page:
    """One numbered page: what a page is declared over."""

    rows: Sequence[NotificationRow]
    current_page: int
    page_size: int
    total: LazyTotal

    async def total_pages(self) -> int:
        """Pages needed for every match; 0 when nothing matches."""
        return pagination.total_pages(await self.total.get(), self.page_size)


async def notification(
    connect: Connect, viewer: Viewer, notification_id: str
) -> NotificationRow | None:
    """The viewer's notification with this id, or None (absent and not-yours alike)."""
    parsed = parse_id(notification_id)
    if parsed is None:
        return None
    async with connect() as conn:
        return await queries.get_notification(conn, viewer, parsed)


async def notifications(
    connect: Connect,
    viewer: Viewer,
    cursors: CursorCodec,
    spec: NotificationFilter,
    *,
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
) -> Listing:
    """A Relay window over the list."""
    window = pagination.window(cursors, first=first, after=after, last=last, before=before)
    async with connect() as conn:
        found = await queries.list_window(conn, viewer, spec, window)
    return Listing(
        rows=found.rows,
        cursors=[cursors.encode(queries.position_of(row)) for row in found.rows],
        has_next_page=found.has_next_page,
        has_previous_page=found.has_previous_page,
        total=LazyTotal(connect, viewer, spec),
    )


async def notifications_page(
    connect: Connect,
    viewer: Viewer,
    spec: NotificationFilter,
    *,
    page: int | None,
    page_size: int | None,
) -> Page:
    """A numbered page of the list; null arguments mean their defaults."""
    number, size = pagination.page_arguments(page, page_size)
    offset, limit = pagination.page_bounds(number, size)
    async with connect() as conn:
        rows = await queries.list_page(conn, viewer, spec, offset, limit)
    return Page(rows, number, size, LazyTotal(connect, viewer, spec))


async def notification_counts(connect: Connect, viewer: Viewer, spec: NotificationFilter) -> Counts:
    """The badge numbers over the filter's matches."""
    async with connect() as conn:
        return await queries.counts(conn, viewer, spec)


async def notification_counts_of(
    connect: Connect, viewer: Viewer, specs: Sequence[NotificationFilter]
) -> list[Counts]:
    """The badge numbers of several filters (tabs), counted together."""
    async with connect() as conn:
        return await queries.counts_of(conn, viewer, specs)


class LazyCounts:
    """The badge numbers of the whole inbox: counted once, and only if a field asks.

    Counting a large inbox costs far more than the change feed's own read, and a client
    that keeps its counts up to date from the changes does not need them.
    """

    def __init__(self, connect: Connect, viewer: Viewer) -> None:
        self._connect = connect
        self._viewer = viewer
        self._counts: asyncio.Future[Counts] | None = None

    def get(self) -> asyncio.Future[Counts]:
        """The counts, started on first use and shared by every later one."""
        if self._counts is None:
            self._counts = asyncio.ensure_future(self._run())
        return self._counts

    async def _run(self) -> Counts:
        async with self._connect() as conn:
            return await queries.counts(conn, self._viewer, EVERYTHING)


@dataclass(frozen=True, slots=True)
class InboxChangesAnswer:
    """One answer of the change feed, its next position sealed into a token."""

    changes: Changes
    next: str
    counts: LazyCounts


async def inbox_changes(
    connect: Connect,
    viewer: Viewer,
    tokens: ChangeTokens,
    since: str | None,
    first: int | None,
) -> InboxChangesAnswer:
    """What changed in the viewer's inbox after ``since`` (a token; none: from nothing)."""
    now = datetime.now(UTC)
    position = tokens.decode(viewer, since, now)
    return await inbox_changes_at(connect, viewer, tokens, position, first, now)


async def inbox_changes_at(
    connect: Connect,
    viewer: Viewer,
    tokens: ChangeTokens,
    position: Position,
    first: int | None,
    now: datetime,
) -> InboxChangesAnswer:
    """What changed after an already opened ``position``."""
    size = changes.DEFAULT_CHANGES if first is None else first
    async with connect() as conn:
        found = await changes.changes_since(conn, viewer, position, size, now)
    return InboxChangesAnswer(
        found, tokens.encode(viewer, found.next, now), LazyCounts(connect, viewer)
    )


@dataclass(frozen=True, slots=True)
class ActivityListing:
    """One window of a notification's activities with its cursors."""

    rows: Sequence[ShownActivity]
    cursors: Sequence[str]
    has_next_page: bool
    has_previous_page: bool
    total: int


async def activities(
    connect: Connect,
    cursors: CursorCodec,
    notification: NotificationRow,
    *,
    first: int | None,
    after: str | None,
) -> ActivityListing:
    """A forward window over the activities ``notification`` shows, newest first."""
    window = pagination.window(cursors, first=first, after=after, last=None, before=None)
    async with connect() as conn:
        found = await activity_reads.activity_window(
            conn, notification, window.limit, window.position
        )
    return ActivityListing(
        rows=found.items,
        cursors=[cursors.encode(activity_reads.position_of(item)) for item in found.items],
        has_next_page=found.has_next_page,
        has_previous_page=window.position is not None,
        total=notification.activity_count,
    )
