"""What HTTP refuses or renders, subscriptions refuse or render the same way."""

from __future__ import annotations

import pytest

from tests.client import ALICE, Api
from tests.graphql.test_changeset import nested
from tests.subscriptions.actions import create
from tests.subscriptions.ws import PROTOCOLS, TRANSPORT_WS, Sockets


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_oversized_document_is_refused_unparsed(
    api: Api, sockets: Sockets, protocol: str
) -> None:
    socket = await sockets.connect(api.token(ALICE), protocol)
    oversized = "# " + "x" * (64 * 1024) + "\nsubscription { notificationCounts { unread } }"

    await socket.start(oversized)

    frame = await socket.receive()
    assert frame["type"] == "error", frame
    assert frame["id"] == "1"
    errors = frame["payload"] if protocol == TRANSPORT_WS else [frame["payload"]]
    assert errors[0]["message"] == "The query is larger than 65536 bytes"
    assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_deepest_changeset_is_delivered(api: Api, sockets: Sockets) -> None:
    query = "subscription { notificationCreated { id changeset } }"
    socket = await sockets.subscribe(api.token(ALICE), query)
    deepest = nested(64)

    notification_id = await create(api, ALICE, "Deep", changeset=deepest)

    data = await socket.data()
    assert data["notificationCreated"] == {"id": notification_id, "changeset": deepest}
