"""Root subscription fields: the viewer's inbox, live.

Each subscription listens to the broker for the viewer's own inbox only, and loads what
it sends under the viewer's own scope; an event is just ids. A resync (``None`` from the
subscriber: events were dropped or a broker reconnected) yields nothing for
created/updated, whose individual events cannot be recovered. Counts come from the
process's counts hub, which reads them once per change for all of an inbox's
subscriptions and answers a resync with fresh counts.

Every subscription holds a slot of its viewer's (``NOTIFGQL_MAX_SUBSCRIPTIONS_PER_VIEWER``):
it is taken when the field resolves, so that a subscribe over the cap is refused with
an error message before any stream starts, and given back when the stream ends.
"""

from __future__ import annotations

import weakref
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TypeVar

import strawberry

from notifgql.auth import Viewer
from notifgql.graphql import roots
from notifgql.graphql.context import Context, Info
from notifgql.graphql.slots import Slot
from notifgql.graphql.types import InboxChanges, Notification, NotificationCounts
from notifgql.notifications import queries
from notifgql.notifications.changes import Position
from notifgql.notifications.events import EventKind, Inbox
from notifgql.notifications.subscriber import Subscriber

T = TypeVar("T")


@strawberry.type
class Subscription:
    @strawberry.subscription(description="Each new notification of the viewer.")
    async def notification_created(self, info: Info) -> AsyncIterator[Notification]:
        # Not a generator itself: an unauthorised or over-the-cap subscribe fails here,
        # before the stream starts, and the protocols answer it with an error message.
        viewer, slot = _admit(info.context)
        return _holding(slot, _notifications(info.context, viewer, "created", slot))

    @strawberry.subscription(description="Read/seen/dismiss/snooze changes of one notification.")
    async def notification_updated(self, info: Info) -> AsyncIterator[Notification]:
        viewer, slot = _admit(info.context)
        return _holding(slot, _notifications(info.context, viewer, "updated", slot))

    @strawberry.subscription(description="Current counts at once, then on every change.")
    async def notification_counts(self, info: Info) -> AsyncIterator[NotificationCounts]:
        viewer, slot = _admit(info.context)
        return _holding(slot, _counts(info.context, viewer, slot))

    @strawberry.subscription(
        description=(
            "What changed after since (as the query inboxChanges answers), at once and until"
            " caught up, then each change as it commits; none missed, none twice. Reconnect"
            " with the last next received."
        )
    )
    async def inbox_changes(
        self, info: Info, since: str | None = None
    ) -> AsyncIterator[InboxChanges]:
        context = info.context
        # Opened before the stream starts: a bad or stale position is refused at once.
        position = context.change_tokens.decode(context.inbox_viewer, since, datetime.now(UTC))
        viewer, slot = _admit(context)
        return _holding(slot, _changes(context, viewer, slot, position))


def _admit(context: Context) -> tuple[Viewer, Slot]:
    viewer = context.inbox_viewer
    return viewer, context.slots.take(_inbox(viewer))


def _inbox(viewer: Viewer) -> Inbox:
    return (viewer.organization_id, viewer.recipient_id)


def _holding(slot: Slot, stream: AsyncGenerator[T, None]) -> AsyncGenerator[T, None]:
    # A generator closed before its first step never runs its ``finally``: the slot is
    # then given back when the generator object goes away.
    weakref.finalize(stream, slot.release)
    return stream


@contextmanager
def _subscribed(context: Context, viewer: Viewer, kind: EventKind) -> Iterator[Subscriber]:
    subscriber = context.broker.subscribe(_inbox(viewer), frozenset({kind}))
    try:
        yield subscriber
    finally:
        context.broker.unsubscribe(subscriber)


async def _notifications(
    context: Context, viewer: Viewer, kind: EventKind, slot: Slot
) -> AsyncGenerator[Notification, None]:
    with slot, _subscribed(context, viewer, kind) as subscriber:
        slot.go_live()
        while True:
            event = await subscriber.next()
            if event is None or event.notification_id is None:
                continue
            async with context.database.reader() as conn:
                row = await queries.get_notification(conn, viewer, event.notification_id)
            if row is not None:
                yield Notification.from_model(row)


async def _changes(
    context: Context, viewer: Viewer, slot: Slot, position: Position
) -> AsyncGenerator[InboxChanges, None]:
    """Answers from ``position`` on: every change is in exactly one of them.

    Events only say "look again": each answer is read from the database after the
    subscriber's pending events are dropped, so a change that commits during a read has
    its event queued and is read by the next one, and one that committed before is in
    this one. A subscriber that falls behind (its events overflow) is merely woken; the
    next answers carry everything from its position on, never a partial state.
    """
    with slot, _subscribed(context, viewer, "counts") as subscriber:
        slot.go_live()
        first = True
        while True:
            subscriber.skip_pending()
            answer = await roots.inbox_changes_at(
                context.database.reader,
                viewer,
                context.change_tokens,
                position,
                None,
                datetime.now(UTC),
            )
            position = answer.changes.next
            if first or answer.changes.changed or answer.changes.removed:
                first = False
                yield InboxChanges.from_model(answer)
            if not answer.changes.has_more:
                await subscriber.next()


async def _counts(
    context: Context, viewer: Viewer, slot: Slot
) -> AsyncGenerator[NotificationCounts, None]:
    with slot:
        feed = context.counts.join(_inbox(viewer))
        try:
            slot.go_live()
            while True:
                yield NotificationCounts.from_model(await feed.next())
        finally:
            context.counts.leave(feed)
