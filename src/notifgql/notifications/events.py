"""What happened to an inbox, told to live subscribers after the change commits.

Events carry only ids: subscribers load what they show, under their own viewer, so an
event can never leak data across inboxes and stays small on any broker.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

EventKind = Literal["created", "updated", "counts"]
# An inbox: (organization id, recipient id), both the clients' own ids (see notifgql.ids).
Inbox = tuple[str, str]


@dataclass(frozen=True, slots=True)
class InboxEvent:
    """``kind`` happened in inbox (organization_id, recipient_id); to one notification or many."""

    kind: EventKind
    organization_id: str
    recipient_id: str
    notification_id: int | None = None

    @property
    def inbox(self) -> Inbox:
        """The inbox key brokers fan out on."""
        return (self.organization_id, self.recipient_id)
