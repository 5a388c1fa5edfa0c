"""The wire format of the relay brokers: one small JSON document per message::

{"e": [["created", "org", "recipient", id], ["counts", "org", "recipient", null], ...]}

The organization and recipient ids are the strings they are everywhere; the notification
id is a number.
{"resync": true}      # every process: make all subscribers reload
"""

from __future__ import annotations

from collections.abc import Container, Iterator, Sequence
from typing import Any

import orjson

from notifgql.notifications.events import Inbox, InboxEvent
from notifgql.notifications.subscriber import ALL_KINDS

# Both PostgreSQL's NOTIFY (8000 bytes at most) and Redis take this comfortably.
MAX_MESSAGE_BYTES = 7000
RESYNC_MESSAGE = orjson.dumps({"resync": True}).decode()


def encode_events(events: Sequence[InboxEvent]) -> Iterator[str]:
    """The wire messages for ``events``, each under MAX_MESSAGE_BYTES."""
    batch: list[bytes] = []
    size = 0
    for event in events:
        item = orjson.dumps(
            [event.kind, event.organization_id, event.recipient_id, event.notification_id]
        )
        if batch and size + len(item) + 16 > MAX_MESSAGE_BYTES:
            yield _message(batch)
            batch, size = [], 0
        batch.append(item)
        size += len(item) + 1
    if batch:
        yield _message(batch)


def _message(items: list[bytes]) -> str:
    return (b'{"e":[' + b",".join(items) + b"]}").decode()


def decode_message(
    message: str | bytes, inboxes: Container[Inbox] | None = None
) -> list[InboxEvent] | None:
    """The events of one wire message; None for a resync; raises ValueError when malformed.

    With ``inboxes``, only the events of those inboxes: a publish to thousands of recipients
    comes back to every process, which mostly has no subscriber for any of them.
    """
    try:
        document: Any = orjson.loads(message)
    except orjson.JSONDecodeError as error:
        raise ValueError("not JSON") from error
    if document == {"resync": True}:
        return None
    if not isinstance(document, dict) or not isinstance(document.get("e"), list):
        raise ValueError("not an event message")
    events = []
    for item in document["e"]:
        if inboxes is not None and type(item) is list and len(item) == 4:
            try:
                if (item[1], item[2]) not in inboxes:
                    continue
            except TypeError:
                raise ValueError(f"malformed event {item!r}") from None
        match item:
            case [str(kind), str(org), str(recipient), int() | None as notification_id] if (
                kind in ALL_KINDS
            ):
                events.append(InboxEvent(kind, org, recipient, notification_id))
            case _:
                raise ValueError(f"malformed event {item!r}")
    return events
