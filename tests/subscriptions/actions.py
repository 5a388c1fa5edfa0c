"""Changes made the way clients make them: GraphQL mutations over HTTP."""

from __future__ import annotations

from typing import Any

from tests.client import Api, Person

CREATE = """
mutation($input: CreateNotificationInput!) { createNotification(input: $input) { id } }
"""


async def create(api: Api, person: Person, title: str = "Hello", **fields: Any) -> str:
    """Publish a notification to ``person`` with a service token of their organization."""
    variables = {"input": {"recipientId": str(person.recipient_id), "title": title, **fields}}
    data = await api.data(CREATE, variables, as_=person, role="service")
    return str(data["createNotification"]["id"])


async def change(api: Api, mutation: str, notification_id: int | str, as_: Person) -> Any:
    """Run one of the one-notification mutations (readNotification, …) on ``id``."""
    query = f"mutation($id: ID!) {{ {mutation}(id: $id) {{ id }} }}"
    return await api.data(query, {"id": str(notification_id)}, as_=as_)
