"""How tests talk to the running app: real HTTP requests, plus builders that insert rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import insert, select, text

from notifgql.auth import issue_token
from notifgql.db.engine import Database
from notifgql.db.models import notifications


@dataclass(frozen=True)
class Person:
    recipient_id: str
    organization_id: str


ALICE = Person("1001", "10")
BOB = Person("1002", "10")
# Same recipient id as Alice, in another organization: tenancy must still keep them apart.
ALICE_ELSEWHERE = Person("1001", "20")
SERVICE_ORG = "10"

_serial = count(1)
BASE_TIME = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


class Api:
    """The app under test, spoken to over HTTP."""

    def __init__(self, client: TestClient[Any, Any], database: Database, secret: str) -> None:
        self.client = client
        self.database = database
        self.secret = secret

    def token(self, person: Person = ALICE, role: str = "user", **kwargs: Any) -> str:
        subject = person.recipient_id if role == "user" else "publisher"
        return issue_token(
            self.secret,
            subject=subject,
            organization_id=person.organization_id,
            role=role,  # type: ignore[arg-type]
            **kwargs,
        )

    def auth(self, person: Person = ALICE, role: str = "user") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(person, role)}"}

    async def gql_raw(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, Any]]:
        response = await self.client.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
        return response.status, await response.json()

    async def gql(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        as_: Person = ALICE,
        role: str = "user",
    ) -> dict[str, Any]:
        """Run ``query`` as ``as_``; returns the whole response body."""
        status, body = await self.gql_raw(query, variables, headers=self.auth(as_, role))
        assert status == 200, body
        return body

    async def data(self, query: str, variables: dict[str, Any] | None = None, **kw: Any) -> Any:
        """Run ``query`` and return its data, failing on any error."""
        body = await self.gql(query, variables, **kw)
        assert "errors" not in body, body["errors"]
        return body["data"]

    async def error_code(
        self, query: str, variables: dict[str, Any] | None = None, **kw: Any
    ) -> str:
        """Run ``query`` expecting one error; return its code."""
        body = await self.gql(query, variables, **kw)
        assert body.get("errors"), body
        return str(body["errors"][0]["extensions"]["code"])

    async def add(self, person: Person = ALICE, **fields: Any) -> int:
        """Insert one notification for ``person``; returns its id."""
        return await insert_notification(self.database, person, **fields)

    async def row(self, notification_id: int) -> Any:
        async with self.database.read() as conn:
            query = select(notifications).where(notifications.c.id == notification_id)
            return (await conn.execute(query)).one()

    async def snapshot(self) -> list[tuple[Any, ...]]:
        """Every stored row, to prove that a refused request changed nothing."""
        async with self.database.read() as conn:
            query = select(notifications).order_by(notifications.c.id)
            return [tuple(row) for row in (await conn.execute(query)).all()]


async def insert_notification(database: Database, person: Person = ALICE, **fields: Any) -> int:
    """Insert a row straight into the table, as data migrated from elsewhere arrives."""
    serial = next(_serial)
    created_at = fields.pop("created_at", BASE_TIME + timedelta(minutes=serial))
    values: dict[str, Any] = {
        "organization_id": person.organization_id,
        "recipient_id": person.recipient_id,
        "title": f"Notification {serial}",
        "excerpt": "",
        "changeset": [],
        "created_at": created_at,
    }
    values |= fields
    values["activity_at"] = values.get("last_action_at") or created_at
    async with database.transaction() as conn:
        result = await conn.execute(
            insert(notifications).values(**values).returning(notifications.c.id)
        )
        new_id = int(result.scalar_one())
        if "id" in fields and database.dialect == "postgresql":
            # An explicit id does not advance the sequence; keep later inserts from colliding.
            await conn.execute(
                text(
                    "SELECT setval(pg_get_serial_sequence('notifications', 'id'), "
                    "(SELECT max(id) FROM notifications))"
                )
            )
        return new_id
