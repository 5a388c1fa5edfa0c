from tests.client import ALICE, BOB, Api


class TestNotification:
    async def test_returns_own_notification(self, api: Api) -> None:
        notification_id = await api.add(ALICE, title="Hello")
        data = await api.data(
            "query($id: ID!) { notification(id: $id) { id title read } }",
            {"id": str(notification_id)},
        )
        assert data["notification"] == {"id": str(notification_id), "title": "Hello", "read": False}

    async def test_other_users_notification_is_null(self, api: Api) -> None:
        notification_id = await api.add(BOB, title="Bob's")
        data = await api.data(
            "query($id: ID!) { notification(id: $id) { id } }", {"id": str(notification_id)}
        )
        assert data["notification"] is None
