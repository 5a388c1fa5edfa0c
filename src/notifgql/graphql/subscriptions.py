"""Root subscription fields: the viewer's inbox, live.

Each subscription listens to the broker for the viewer's own inbox only, and loads what
it sends under the viewer's own scope; an event is just ids. A resync (``None`` from the
subscriber: events were dropped or a broker reconnected) yields fresh counts and nothing
for created/updated, whose individual events cannot be recovered.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from contextlib import contextmanager

import strawberry

from notifgql.auth import Viewer
from notifgql.graphql.context import Context, Info
from notifgql.graphql.types import Notification, NotificationCounts
from notifgql.notifications import queries
from notifgql.notifications.broker import Subscriber
from notifgql.notifications.events import EventKind
from notifgql.notifications.filters import EVERYTHING


@strawberry.type
class Subscription:
    @strawberry.subscription(description="Each new notification of the viewer.")
    async def notification_created(self, info: Info) -> AsyncIterator[Notification]:
        # Not a generator itself: an unauthorised subscribe fails here, before the stream
        # starts, and the protocols answer it with an error frame.
        return _notifications(info.context, info.context.inbox_viewer, "created")

    @strawberry.subscription(description="Read/seen/dismiss changes of one notification.")
    async def notification_updated(self, info: Info) -> AsyncIterator[Notification]:
        return _notifications(info.context, info.context.inbox_viewer, "updated")

    @strawberry.subscription(description="Current counts at once, then on every change.")
    async def notification_counts(self, info: Info) -> AsyncIterator[NotificationCounts]:
        return _counts(info.context, info.context.inbox_viewer)


@contextmanager
def _subscribed(context: Context, viewer: Viewer, kind: EventKind) -> Iterator[Subscriber]:
    inbox = (viewer.organization_id, viewer.recipient_id)
    subscriber = context.broker.subscribe(inbox, frozenset({kind}))
    try:
        yield subscriber
    finally:
        context.broker.unsubscribe(subscriber)


async def _notifications(
    context: Context, viewer: Viewer, kind: EventKind
) -> AsyncGenerator[Notification, None]:
    with _subscribed(context, viewer, kind) as subscriber:
        while True:
            event = await subscriber.next()
            if event is None or event.notification_id is None:
                continue
            async with context.database.read() as conn:
                row = await queries.get_notification(conn, viewer, event.notification_id)
            if row is not None:
                yield Notification.from_model(row)


async def _counts(context: Context, viewer: Viewer) -> AsyncGenerator[NotificationCounts, None]:
    # Subscribed before the first read, so no change can fall between the two.
    with _subscribed(context, viewer, "counts") as subscriber:
        while True:
            async with context.database.read() as conn:
                counts = await queries.counts(conn, viewer, EVERYTHING)
            yield NotificationCounts.from_model(counts)
            await subscriber.next()
            # One read answers every change queued so far: a burst costs one query.
            subscriber.skip_pending()
