"""What tests read of a broker that the server itself never needs."""

from __future__ import annotations

from notifgql.notifications.local_broker import LocalBroker


def subscriber_count(broker: LocalBroker) -> int:
    """Live subscriptions in ``broker``'s process."""
    return sum(len(group) for group in broker._subscribers.values())
