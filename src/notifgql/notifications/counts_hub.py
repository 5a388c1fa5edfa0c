"""Badge counts for live subscribers: one read per inbox per change, shared by all of them.

An inbox's counts subscriptions in this process share one ``InboxCounts``: it listens to
the broker for that inbox (one subscriber, whatever the number of subscriptions), reads
the counts once per change (a burst of changes costs one read) and hands the result to
every ``CountsFeed``. A feed keeps only the newest result, so a subscriber whose socket
is slow skips intermediate results and never holds up the reader or the others. The
first feed of an inbox starts its reader; the last one to leave stops it. A notification
that expires changes the counts with no event, so the reader also reads again when the
earliest of the inbox's expiries passes.
"""

from __future__ import annotations

import asyncio
import copy
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from notifgql.auth import Viewer
from notifgql.db.engine import Database
from notifgql.errors import MASKED_MESSAGE, NotifGqlError
from notifgql.notifications import queries
from notifgql.notifications.events import Inbox
from notifgql.notifications.filters import EVERYTHING
from notifgql.notifications.local_broker import LocalBroker
from notifgql.notifications.queries import Counts

log = logging.getLogger(__name__)

# Reads the current counts of an inbox (organization, recipient), and when they next change
# by themselves: the earliest expiry among its notifications, or None.
CountsLoader = Callable[[Inbox], Awaitable[tuple[Counts, datetime | None]]]
# Read again this long after an expiry, so that the read's clock is surely past it.
_EXPIRY_MARGIN = 0.005


class CountsFeed:
    """One subscription's view of its inbox's counts: the newest result, once."""

    def __init__(self, inbox: Inbox) -> None:
        self.inbox = inbox
        self._latest: Counts | NotifGqlError | None = None
        self._ready = asyncio.Event()

    def put(self, result: Counts | NotifGqlError) -> None:
        """Replace whatever is unread with ``result``."""
        self._latest = result
        self._ready.set()

    async def next(self) -> Counts:
        """The newest counts not yet taken; raises the error of a read that failed."""
        await self._ready.wait()
        self._ready.clear()
        result, self._latest = self._latest, None
        if isinstance(result, NotifGqlError):
            # A copy: the same instance raised in several subscriptions' tasks would
            # collect their tracebacks.
            raise copy.copy(result)
        assert result is not None
        return result


class InboxCounts:
    """The shared reader of one inbox's counts."""

    def __init__(self, inbox: Inbox, broker: LocalBroker, load: CountsLoader) -> None:
        self.inbox = inbox
        self.feeds: set[CountsFeed] = set()
        self._broker = broker
        self._load = load
        self._latest: Counts | None = None
        # Reads the counts again when a notification expires: no event says so.
        self._expiry: asyncio.TimerHandle | None = None
        # The reader starts with a read: a feed joining before it ends gets that one.
        self._reading = True
        # Subscribed before the first read, so that no change can fall between the two.
        self._subscriber = broker.subscribe(inbox, frozenset({"counts"}))
        self._task = asyncio.create_task(self._run(), name=f"notifgql-counts-{inbox}")

    def join(self) -> CountsFeed:
        """A new feed, given the current counts at once when they are known."""
        feed = CountsFeed(self.inbox)
        self.feeds.add(feed)
        if self._latest is not None:
            feed.put(self._latest)
        elif not self._reading:
            # The last read failed and nothing has changed since: read again for it.
            self._subscriber.resync()
        return feed

    def close(self) -> asyncio.Task[None]:
        """Stop reading and listening; returns the reader task, being cancelled."""
        self._broker.unsubscribe(self._subscriber)
        self._reread_at(None)
        self._task.cancel()
        return self._task

    async def _run(self) -> None:
        while True:
            # Everything queued so far is answered by the read that starts now.
            self._subscriber.skip_pending()
            result = await self._read()
            for feed in list(self.feeds):
                feed.put(result)
            await self._subscriber.next()

    async def _read(self) -> Counts | NotifGqlError:
        self._reading = True
        try:
            self._latest, changes_at = await self._load(self.inbox)
            self._reread_at(changes_at)
            return self._latest
        except NotifGqlError as error:
            self._latest = None
            return error
        except Exception:
            # Logged here, once for all the feeds; they receive the masked error.
            log.exception("reading the counts of inbox %s failed", self.inbox)
            self._latest = None
            return NotifGqlError(MASKED_MESSAGE)
        finally:
            self._reading = False

    def _reread_at(self, when: datetime | None) -> None:
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None
        if when is not None:
            delay = (when - datetime.now(UTC)).total_seconds() + _EXPIRY_MARGIN
            loop = asyncio.get_running_loop()
            self._expiry = loop.call_later(max(delay, 0.0), self._subscriber.resync)


class CountsHub:
    """The process's shared counts readers, one per inbox with counts subscribers."""

    def __init__(self, broker: LocalBroker, load: CountsLoader) -> None:
        self._broker = broker
        self._load = load
        self._inboxes: dict[Inbox, InboxCounts] = {}
        self._stopping: set[asyncio.Task[None]] = set()

    def join(self, inbox: Inbox) -> CountsFeed:
        """Start receiving ``inbox``'s counts: the current ones, then after every change."""
        shared = self._inboxes.get(inbox)
        if shared is None:
            shared = self._inboxes[inbox] = InboxCounts(inbox, self._broker, self._load)
        return shared.join()

    def leave(self, feed: CountsFeed) -> None:
        """Stop feeding ``feed``; the inbox's reader stops with its last feed."""
        shared = self._inboxes.get(feed.inbox)
        if shared is None:
            return
        shared.feeds.discard(feed)
        if not shared.feeds:
            del self._inboxes[feed.inbox]
            self._forget(shared.close())

    async def close(self) -> None:
        """Stop every reader, when the process shuts down."""
        for shared in list(self._inboxes.values()):
            self._forget(shared.close())
        self._inboxes.clear()
        await asyncio.gather(*self._stopping, return_exceptions=True)

    def _forget(self, task: asyncio.Task[None]) -> None:
        # Held until it has finished cancelling, so that it is not collected half-way.
        self._stopping.add(task)
        task.add_done_callback(self._stopping.discard)


def read_counts(database: Database) -> CountsLoader:
    """The loader that reads an inbox's counts from ``database``, as its owner sees them."""

    async def load(inbox: Inbox) -> tuple[Counts, datetime | None]:
        organization_id, recipient_id = inbox
        owner = Viewer(subject=recipient_id, organization_id=organization_id, role="user")
        async with database.reader() as conn:
            return await queries.counts_until(conn, owner, EVERYTHING)

    return load
