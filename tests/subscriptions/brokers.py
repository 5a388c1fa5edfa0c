"""What tests read of brokers and the counts hub that the server itself never needs."""

from __future__ import annotations

from notifgql.notifications.counts_hub import CountsHub
from notifgql.notifications.local_broker import LocalBroker


def subscriber_count(broker: LocalBroker) -> int:
    """Live subscriptions in ``broker``'s process."""
    return sum(len(group) for group in broker._subscribers.values())


def inbox_count(hub: CountsHub) -> int:
    """Inboxes with a counts reader running in ``hub``."""
    return len(hub._inboxes)
