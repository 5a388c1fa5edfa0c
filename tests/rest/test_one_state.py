"""One state across the dialects: a change through any door shows through every other."""

from __future__ import annotations

from tests.client import ALICE, Api

COUNTS = "{ notificationCounts { unseen } }"
DISMISSED = "query($id: ID!) { notification(id: $id) { dismissed } }"


class TestAcrossDoors:
    async def test_rest_dismiss_shows_in_graphql(self, api: Api) -> None:
        mine = await api.add(ALICE)
        response = await api.client.patch(
            f"/api/v2/notifications/{mine}/dismiss", headers=api.auth()
        )
        assert response.status == 200
        data = await api.data(DISMISSED, {"id": str(mine)})
        assert data["notification"]["dismissed"] is True

    async def test_graphql_dismiss_shows_in_rest(self, api: Api) -> None:
        mine = await api.add(ALICE)
        await api.data(
            "mutation($id: ID!) { dismissNotification(id: $id) { id } }", {"id": str(mine)}
        )
        response = await api.client.get(f"/api/v2/notifications/{mine}", headers=api.auth())
        body = await response.json(content_type=None)
        assert body["data"]["attributes"]["dismissed"] is True

    async def test_crm_wildcard_seen_clears_graphql_unseen_count(self, api: Api) -> None:
        for _ in range(3):
            await api.add(ALICE)
        assert (await api.data(COUNTS))["notificationCounts"]["unseen"] == 3
        response = await api.client.patch(
            "/notifications",
            json={"operations": [{"op": "add", "path": "/*/seen", "value": None}]},
            headers=api.auth(),
        )
        assert response.status == 204
        assert (await api.data(COUNTS))["notificationCounts"]["unseen"] == 0
