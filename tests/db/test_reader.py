"""The driver reader answers exactly what SQLAlchemy answers, for every statement shape."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from notifgql.auth import Viewer
from notifgql.db.engine import Database
from notifgql.db.reader import DriverReader, EngineReader
from notifgql.notifications import queries
from notifgql.notifications.filters import NotificationFilter, bound
from notifgql.notifications.pagination import Position, Window
from tests.client import ALICE, BASE_TIME, insert_notification

VIEWER = Viewer(subject=str(ALICE.recipient_id), organization_id=ALICE.organization_id, role="user")


async def _fill(database: Database) -> list[int]:
    """Rows with nulls, unicode, JSON and every state."""
    return [
        await insert_notification(database, ALICE),
        await insert_notification(
            database,
            ALICE,
            title="Zoë \u2019s « task » 🚀",
            description=None,
            target_type="TÂCHE",
            changeset=[{"field": "status", "from": None, "to": "done", "n": -0.0}],
            read_at=BASE_TIME + timedelta(hours=1),
            seen_at=BASE_TIME + timedelta(hours=1),
            important=True,
            project_id=42,
        ),
        await insert_notification(
            database,
            ALICE,
            last_action_at=BASE_TIME + timedelta(days=3),
            dismissed_at=BASE_TIME + timedelta(days=2),
            mention=True,
            actor_id="7",
            actor_name="Maya",
        ),
    ]


FILTERS = [
    NotificationFilter(),
    NotificationFilter(ids=()),
    NotificationFilter(read=True),
    NotificationFilter(dismissed=False, important=True),
    NotificationFilter(target_type="tâche"),
    NotificationFilter(project_id=42),
    NotificationFilter(created_after=BASE_TIME, created_before=datetime(2100, 1, 1, tzinfo=UTC)),
]


def _plain(rows: Sequence[Sequence[Any]]) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in rows]


async def test_every_shape_reads_the_same_as_sqlalchemy(pg_migrated: Database) -> None:
    ids = await _fill(pg_migrated)
    shapes = [*FILTERS, NotificationFilter(ids=(ids[1], ids[2], 999_999))]
    async with pg_migrated.read() as conn, pg_migrated.reader() as reader:
        assert isinstance(reader, DriverReader)
        engine = EngineReader(conn)
        for spec in shapes:
            shape, params = bound(VIEWER, spec)
            statements = [
                queries._rows(shape),
                queries._count(shape),
                queries._counts(shape),
                queries._page(shape),
                queries._window(shape, backward=False, from_cursor=False),
                queries._window(shape, backward=True, from_cursor=True),
            ]
            params |= {
                "w_limit": 10,
                "w_offset": 1,
                "w_at": BASE_TIME + timedelta(days=10),
                "w_id": 10**9,
            }
            for statement in statements:
                expected = _plain(await engine.rows(statement, params))
                assert _plain(await reader.rows(statement, params)) == expected, (spec, statement)
        # And through the domain's functions, which build records from the rows.
        everything = Window(30, backward=False, position=None)
        records = await queries.list_window(reader, VIEWER, NotificationFilter(), everything)
        assert [row.id for row in records.rows] == [ids[2], ids[1], ids[0]]
        changed = records.rows[1]
        assert changed.changeset == [{"field": "status", "from": None, "to": "done", "n": -0.0}]
        assert changed.read_at == BASE_TIME + timedelta(hours=1)
        assert changed.read_at is not None
        assert changed.read_at.tzinfo is not None
        assert changed.description is None
        assert changed.title == "Zoë \u2019s « task » 🚀"
        counts = await queries.counts(reader, VIEWER, NotificationFilter())
        assert (counts.total, counts.unread, counts.important, counts.mentions) == (3, 2, 1, 1)
        first = records.rows[0]
        after = Window(1, backward=False, position=Position(first.activity_at, first.id))
        beyond = await queries.list_window(reader, VIEWER, NotificationFilter(), after)
        assert [row.id for row in beyond.rows] == [ids[1]]
