"""The live subscriptions of this process, and the cap on how many one viewer may hold.

A subscription takes a slot when it is accepted (over the cap it is refused with
TOO_MANY_SUBSCRIPTIONS before its stream starts), goes live once it is attached to the
broker, and gives the slot back when its stream ends, however it ends.
"""

from __future__ import annotations

from collections import Counter
from types import TracebackType

from notifgql.errors import TooManySubscriptions
from notifgql.notifications.events import Inbox

# Whose subscriptions: (organization, recipient).
ViewerKey = Inbox


class Slot:
    """One accepted subscription's place; a context manager that gives it back on exit."""

    def __init__(self, slots: SubscriptionSlots, viewer: ViewerKey) -> None:
        self._slots = slots
        self.viewer = viewer
        self._live = False
        self._released = False

    def go_live(self) -> None:
        """Mark the subscription attached: events published from now on reach it."""
        if not self._live and not self._released:
            self._live = True
            self._slots._went_live()

    def release(self) -> None:
        """Give the slot back; safe to call more than once."""
        if not self._released:
            self._released = True
            self._slots._released(self.viewer, live=self._live)

    def __enter__(self) -> Slot:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()


class SubscriptionSlots:
    """Counts the process's subscriptions per viewer and refuses those over the cap."""

    def __init__(self, per_viewer: int) -> None:
        self.per_viewer = per_viewer
        self._held: Counter[ViewerKey] = Counter()
        self._live = 0

    @property
    def open_count(self) -> int:
        """Accepted subscriptions that have not ended."""
        return self._held.total()

    @property
    def live_count(self) -> int:
        """Subscriptions attached to the broker."""
        return self._live

    def take(self, viewer: ViewerKey) -> Slot:
        """A slot for one more subscription of ``viewer``; TOO_MANY_SUBSCRIPTIONS at the cap."""
        if self._held[viewer] >= self.per_viewer:
            raise TooManySubscriptions(
                f"Too many live subscriptions: at most {self.per_viewer} per user; "
                "complete one before starting another"
            )
        self._held[viewer] += 1
        return Slot(self, viewer)

    def _went_live(self) -> None:
        self._live += 1

    def _released(self, viewer: ViewerKey, *, live: bool) -> None:
        self._held[viewer] -= 1
        if self._held[viewer] <= 0:
            del self._held[viewer]
        if live:
            self._live -= 1
