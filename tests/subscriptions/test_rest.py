"""Changes made through the REST dialects reach subscribers like any other."""

from __future__ import annotations

from tests.client import ALICE, Api
from tests.subscriptions.test_counts import counts
from tests.subscriptions.ws import COUNTS, UPDATED, Sockets


class TestJsonApi:
    async def test_patch_read_sends_notification_updated(self, api: Api, sockets: Sockets) -> None:
        notification_id = await api.add(ALICE)
        socket = await sockets.subscribe(api.token(ALICE), UPDATED)

        response = await api.client.patch(
            f"/api/v2/notifications/{notification_id}/read", headers=api.auth(ALICE)
        )

        assert response.status == 200
        assert await socket.data() == {
            "notificationUpdated": {
                "id": str(notification_id),
                "read": True,
                "seen": True,
                "dismissed": False,
            }
        }


class TestCrm:
    async def test_patch_all_seen_sends_fresh_counts(self, api: Api, sockets: Sockets) -> None:
        await api.add(ALICE)
        await api.add(ALICE)
        socket = await sockets.subscribe(api.token(ALICE), COUNTS)
        assert await socket.data() == counts(total=2, unread=2, unseen=2)

        response = await api.client.patch(
            "/notifications",
            json={"operations": [{"op": "add", "path": "/*/seen", "value": None}]},
            headers=api.auth(ALICE),
        )

        assert response.status == 204
        assert await socket.data() == counts(total=2, unread=2)
