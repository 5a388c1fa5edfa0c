"""Migrations run on databases that already hold data, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from aiohttp.test_utils import TestClient, TestServer
from alembic import command
from sqlalchemy import Connection, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from notifgql import appkeys
from notifgql.app import create_app
from notifgql.db import migrate
from notifgql.db.engine import Database, create_database
from notifgql.db.models import notifications
from notifgql.settings import Settings
from tests.client import Api, Person
from tests.conftest import JWT_SECRET, create_pg_database


@pytest.fixture
async def fresh_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    return await create_pg_database(request.getfixturevalue("postgres_admin_url"))


@pytest.fixture
async def fresh_database(fresh_url: str) -> Any:
    database = create_database(Settings(database_url=fresh_url))
    yield database
    await database.dispose()


async def upgrade_to(database: Database, revision: str) -> None:
    def run(connection: Connection) -> None:
        command.upgrade(migrate.alembic_config(connection), revision)

    async with database.engine.begin() as conn:
        await conn.run_sync(run)


JANUARY = datetime(2026, 1, 1, tzinfo=UTC)
# Changesets as the first schema stored them (JSON on SQLite, jsonb on PostgreSQL).
OLD_CHANGESETS = ["[]", '{"status": ["open", "done"]}', "5", '"text"', "null", '[{"n": 1.5}]']


async def test_changeset_becomes_text_keeping_every_value(fresh_database: Database) -> None:
    await upgrade_to(fresh_database, "0001")
    is_pg = fresh_database.dialect == "postgresql"
    cast = "CAST(:changeset AS jsonb)" if is_pg else ":changeset"
    at: Any = JANUARY if is_pg else "2026-01-01 00:00:00.000000"
    async with fresh_database.transaction() as conn:
        for n, changeset in enumerate(OLD_CHANGESETS):
            await conn.execute(
                text(
                    "INSERT INTO notifications (organization_id, recipient_id, title, excerpt,"
                    " changeset, created_at, activity_at) VALUES (1, 2, :title, '', "
                    + cast
                    + ", :at, :at)"
                ),
                {"title": f"n{n}", "changeset": changeset, "at": at},
            )

    await migrate.upgrade(fresh_database)
    assert await migrate.current_revision(fresh_database) == migrate.head_revision()

    async with fresh_database.read() as conn:
        rows = (
            await conn.execute(
                select(notifications.c.title, notifications.c.changeset).order_by(
                    notifications.c.id
                )
            )
        ).all()
        kinds = (
            await conn.execute(
                text(
                    "SELECT data_type FROM information_schema.columns WHERE"
                    " table_name = 'notifications' AND column_name = 'changeset'"
                    if is_pg
                    else "SELECT type FROM pragma_table_info('notifications')"
                    " WHERE name = 'changeset'"
                )
            )
        ).scalar_one()
    assert kinds.lower() == "text"
    assert [row.changeset for row in rows] == [
        [],
        {"status": ["open", "done"]},
        5,
        "text",
        None,
        [{"n": 1.5}],
    ]

    # New writes keep what was sent, byte for byte, on the migrated table.
    async with fresh_database.transaction() as conn:
        await conn.execute(
            notifications.insert().values(
                organization_id="1",
                recipient_id="2",
                title="new",
                excerpt="",
                changeset={"z": 1, "a": -0.0},
                created_at=JANUARY,
                activity_at=JANUARY,
            )
        )
    async with fresh_database.read() as conn:
        stored = (
            await conn.execute(text("SELECT changeset FROM notifications WHERE title = 'new'"))
        ).scalar_one()
    assert stored == '{"z":1,"a":-0.0}'


# Rows as the integer-id schema held them: (organization, recipient, actor, title).
INTEGER_ROWS = [
    (1, 2, None, "first"),
    (1, 2, 7, "second"),
    (1, 2, 7, "third"),
    (1, 3, 8, "neighbour"),
    (2, 2, None, "elsewhere"),
    (2**63 - 1, 1, 2**63 - 1, "largest"),
]
LIST = """
query($after: String) {
  notifications(first: 2, after: $after) {
    edges { cursor node { title recipientId organizationId actor { id } } }
    pageInfo { hasNextPage endCursor }
    totalCount
  }
  notificationCounts { total unread }
}
"""
CREATE_ID = (
    "mutation($input: CreateNotificationInput!) { createNotification(input: $input) { id } }"
)
ID_COLUMNS = ("organization_id", "recipient_id", "actor_id")


def sql_time(database: Database, moment: datetime) -> Any:
    """``moment`` as a raw statement binds it: SQLite's column holds UTCDateTime's text."""
    if database.dialect == "sqlite":
        return moment.strftime("%Y-%m-%d %H:%M:%S.%f")
    return moment


async def insert_integer_rows(database: Database) -> None:
    """Fill the integer-id schema (revision 0002) as notifgql wrote it then."""
    async with database.transaction() as conn:
        for minute, (organization, recipient, actor, title) in enumerate(INTEGER_ROWS):
            created: Any = JANUARY + timedelta(minutes=minute)
            if database.dialect == "sqlite":
                created = created.strftime("%Y-%m-%d %H:%M:%S.%f")  # as UTCDateTime stores it
            await conn.execute(
                text(
                    "INSERT INTO notifications (organization_id, recipient_id, actor_id, title,"
                    " excerpt, changeset, created_at, activity_at)"
                    " VALUES (:org, :rcp, :actor, :title, '', '[]', :at, :at)"
                ),
                {
                    "org": organization,
                    "rcp": recipient,
                    "actor": actor,
                    "title": title,
                    "at": created,
                },
            )


async def id_columns(database: Database) -> dict[str, tuple[str, str | None]]:
    """Each id column's type (and, on PostgreSQL, its collation)."""
    async with database.read() as conn:
        if database.dialect == "postgresql":
            rows = await conn.execute(
                text(
                    "SELECT column_name, data_type, collation_name FROM information_schema.columns"
                    " WHERE table_name = 'notifications'"
                )
            )
        else:
            rows = await conn.execute(
                text("SELECT name, lower(type), NULL FROM pragma_table_info('notifications')")
            )
        return {row[0]: (row[1], row[2]) for row in rows if row[0] in ID_COLUMNS}


async def index_definitions(database: Database) -> dict[str, str]:
    """The table's indexes as the database itself writes them out."""
    async with database.read() as conn:
        if database.dialect == "postgresql":
            query = "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'notifications'"
        else:
            query = (
                "SELECT name, sql FROM sqlite_master WHERE type = 'index'"
                " AND tbl_name = 'notifications' AND sql IS NOT NULL"
            )
        return {row[0]: row[1] for row in await conn.execute(text(query))}


async def analyzed_columns(database: Database) -> set[str]:
    """The columns PostgreSQL's planner has statistics for."""
    async with database.read() as conn:
        query = "SELECT attname FROM pg_stats WHERE tablename = 'notifications'"
        return {row[0] for row in await conn.execute(text(query))}


async def stored_ids(database: Database) -> list[tuple[Any, ...]]:
    async with database.read() as conn:
        query = "SELECT id, organization_id, recipient_id, actor_id, title FROM notifications"
        return [tuple(row) for row in await conn.execute(text(query + " ORDER BY id"))]


@pytest.fixture
async def integer_ids(fresh_database: Database) -> dict[str, str]:
    """The previous schema holding integer ids; returns its index definitions."""
    await upgrade_to(fresh_database, "0002")
    await insert_integer_rows(fresh_database)
    return await index_definitions(fresh_database)


class TestIdsBecomeText:
    async def test_rows_keep_their_ids_as_decimal_text(
        self, fresh_database: Database, integer_ids: dict[str, str]
    ) -> None:
        before = await stored_ids(fresh_database)
        await migrate.upgrade(fresh_database)
        # Statements the pool prepared against the old column types are void now.
        await fresh_database.dispose()
        assert await migrate.current_revision(fresh_database) == migrate.head_revision()

        text_type = ("text", "C") if fresh_database.dialect == "postgresql" else ("text", None)
        assert await id_columns(fresh_database) == dict.fromkeys(ID_COLUMNS, text_type)
        assert await stored_ids(fresh_database) == [
            (row_id, str(org), str(rcp), None if actor is None else str(actor), title)
            for row_id, org, rcp, actor, title in before
        ]
        assert [row[1:4] for row in before] == [row[:3] for row in INTEGER_ROWS]
        # The inbox indexes: the same names, columns, order and conditions.
        after = await index_definitions(fresh_database)
        assert {name: after.get(name) for name in integer_ids} == integer_ids
        if fresh_database.dialect == "postgresql":
            assert await analyzed_columns(fresh_database) >= set(ID_COLUMNS)
        assert set(integer_ids) >= {
            "ix_notifications_inbox_order",
            "ix_notifications_inbox_unread",
            "ix_notifications_inbox_unseen",
        }

    async def test_inboxes_read_and_page_as_before(
        self, fresh_url: str, integer_ids: dict[str, str]
    ) -> None:
        # notifgql itself migrates when it starts, as on an upgrade in production.
        app = create_app(Settings(database_url=fresh_url, jwt_secret=JWT_SECRET))
        async with (
            TestServer(app, host="127.0.0.1") as server,
            TestClient(server) as client,
        ):
            api = Api(client, server.app[appkeys.DATABASE], JWT_SECRET)
            owner = Person("2", "1")
            first = await api.data(LIST, as_=owner)
            page = first["notifications"]
            assert [edge["node"]["title"] for edge in page["edges"]] == ["third", "second"]
            assert page["edges"][0]["node"] == {
                "title": "third",
                "recipientId": "2",
                "organizationId": "1",
                "actor": {"id": "7"},
            }
            assert (page["totalCount"], page["pageInfo"]["hasNextPage"]) == (3, True)
            assert first["notificationCounts"] == {"total": 3, "unread": 3}
            rest = await api.data(LIST, {"after": page["pageInfo"]["endCursor"]}, as_=owner)
            assert [e["node"]["title"] for e in rest["notifications"]["edges"]] == ["first"]
            # A token signed while ids were numbers opens the same inbox.
            legacy = jwt.encode({"sub": 2, "org": 1}, JWT_SECRET, algorithm="HS256")
            status, body = await api.gql_raw(
                "{ notificationCounts { total } }", headers={"Authorization": f"Bearer {legacy}"}
            )
            assert (status, body) == (200, {"data": {"notificationCounts": {"total": 3}}})
            largest = Person("1", str(2**63 - 1))
            listed = (await api.data(LIST, as_=largest))["notifications"]["edges"]
            assert [e["node"]["actor"] for e in listed] == [{"id": str(2**63 - 1)}]
            # New rows go on after the old ones, with string ids of any shape.
            created = await api.data(
                CREATE_ID,
                {"input": {"recipientId": "auth0|new", "title": "new"}},
                as_=owner,
                role="service",
            )
            assert int(created["createNotification"]["id"]) > len(INTEGER_ROWS)
            crm = await client.get("/notifications", headers=api.auth(owner))
            receivers = {item["receiver"]["id"] for item in (await crm.json())["notifications"]}
            assert receivers == {2}


class TestDowngrade:
    async def test_decimal_ids_become_integers_again(
        self, fresh_database: Database, integer_ids: dict[str, str]
    ) -> None:
        before = await stored_ids(fresh_database)
        await upgrade_to(fresh_database, "0003")
        await downgrade_to(fresh_database, "0002")
        await fresh_database.dispose()
        assert {name: kind for name, (kind, _) in (await id_columns(fresh_database)).items()} == (
            dict.fromkeys(ID_COLUMNS, "bigint")
        )
        assert await stored_ids(fresh_database) == before
        assert await index_definitions(fresh_database) == integer_ids

    @pytest.mark.parametrize("kept", ["auth0|abc", "01", "-0", " 1", "9223372036854775808"])
    async def test_refused_while_some_id_is_not_an_integer(
        self, fresh_database: Database, integer_ids: dict[str, str], kept: str
    ) -> None:
        await upgrade_to(fresh_database, "0003")
        async with fresh_database.transaction() as conn:
            # In SQL: the table as 0003 left it has none of the newer columns.
            await conn.execute(
                text(
                    "INSERT INTO notifications (organization_id, recipient_id, title, excerpt,"
                    " changeset, created_at, activity_at) VALUES ('1', :kept, 'kept', '', '[]',"
                    " :at, :at)"
                ),
                {"kept": kept, "at": sql_time(fresh_database, JANUARY)},
            )
        before = await stored_ids(fresh_database)
        with pytest.raises(Exception, match=r"cannot downgrade|out of range"):
            await downgrade_to(fresh_database, "0002")
        assert await migrate.current_revision(fresh_database) == "0003"
        assert await stored_ids(fresh_database) == before
        assert await index_definitions(fresh_database) == integer_ids


async def downgrade_to(database: Database, revision: str) -> None:
    def run(connection: Connection) -> None:
        command.downgrade(migrate.alembic_config(connection), revision)

    async with database.engine.begin() as conn:
        await conn.run_sync(run)


class TestGroups:
    """0004: every notification becomes a group of one; one notification per inbox and group."""

    async def test_existing_rows_get_a_group_of_their_own(
        self, fresh_database: Database, integer_ids: dict[str, str]
    ) -> None:
        await upgrade_to(fresh_database, "0003")
        before = await stored_ids(fresh_database)
        await upgrade_to(fresh_database, "0004")
        await fresh_database.dispose()
        async with fresh_database.read() as conn:
            rows = (
                await conn.execute(
                    text("SELECT id, group_key, expires_at, withdrawn_at FROM notifications")
                )
            ).all()
        assert sorted(rows) == [(row[0], f"notification:{row[0]}", None, None) for row in before]
        assert await stored_ids(fresh_database) == before
        after = await index_definitions(fresh_database)
        assert {name: after.get(name) for name in integer_ids} == integer_ids
        assert "uq_notifications_group_inbox" in set(after)

    async def test_one_notification_per_inbox_and_group(
        self, fresh_database: Database, integer_ids: dict[str, str]
    ) -> None:
        await upgrade_to(fresh_database, "0004")
        insert = text(
            "INSERT INTO notifications (organization_id, recipient_id, title, excerpt, changeset,"
            " created_at, activity_at, group_key) VALUES (:org, :rcp, 't', '', '[]', :at, :at,"
            " 'task:1')"
        )
        at = sql_time(fresh_database, JANUARY)
        async with fresh_database.transaction() as conn:
            # The same group in another inbox, or in another organization, is another line.
            for org, rcp in (("1", "2"), ("1", "3"), ("2", "2")):
                await conn.execute(insert, {"org": org, "rcp": rcp, "at": at})
        with pytest.raises(IntegrityError):
            async with fresh_database.transaction() as conn:
                await conn.execute(insert, {"org": "1", "rcp": "2", "at": at})

    async def test_downgrade_restores_the_previous_table(
        self, fresh_database: Database, integer_ids: dict[str, str]
    ) -> None:
        await upgrade_to(fresh_database, "0003")
        before = await stored_ids(fresh_database)
        indexes = await index_definitions(fresh_database)
        await upgrade_to(fresh_database, "0004")
        await downgrade_to(fresh_database, "0003")
        await fresh_database.dispose()
        assert await migrate.current_revision(fresh_database) == "0003"
        assert await stored_ids(fresh_database) == before
        assert await index_definitions(fresh_database) == indexes
        for table in ("activities", "idempotency_keys"):
            with pytest.raises(DBAPIError):
                async with fresh_database.read() as conn:
                    await conn.execute(text(f"SELECT 1 FROM {table}"))


class TestSnoozeAndMuteRules:
    """0005: notifications may be snoozed; each user has mute rules."""

    async def test_existing_rows_are_not_snoozed_and_keep_everything(
        self, fresh_database: Database, integer_ids: dict[str, str]
    ) -> None:
        await upgrade_to(fresh_database, "0004")
        before = await stored_ids(fresh_database)
        indexes = await index_definitions(fresh_database)
        await upgrade_to(fresh_database, "0005")
        await fresh_database.dispose()
        async with fresh_database.read() as conn:
            snoozed = (await conn.execute(text("SELECT snoozed_until FROM notifications"))).all()
            rules = (await conn.execute(text("SELECT count(*) FROM mute_rules"))).scalar()
        assert len(before) > 0
        assert snoozed == [(None,)] * len(before)
        assert rules == 0
        assert await stored_ids(fresh_database) == before
        after = await index_definitions(fresh_database)
        assert {name: after.get(name) for name in indexes} == indexes
        assert "ix_notifications_snoozed_until" in after

    async def test_downgrade_restores_the_previous_schema(
        self, fresh_database: Database, integer_ids: dict[str, str]
    ) -> None:
        await upgrade_to(fresh_database, "0004")
        before = await stored_ids(fresh_database)
        indexes = await index_definitions(fresh_database)
        await upgrade_to(fresh_database, "0005")
        async with fresh_database.transaction() as conn:
            await conn.execute(
                text(
                    "INSERT INTO mute_rules (organization_id, recipient_id, target_type,"
                    " created_at) VALUES ('1', '2', 'task', :at)"
                ),
                {"at": sql_time(fresh_database, JANUARY)},
            )
            await conn.execute(
                text("UPDATE notifications SET snoozed_until = :at"),
                {"at": sql_time(fresh_database, JANUARY)},
            )
        await downgrade_to(fresh_database, "0004")
        await fresh_database.dispose()
        assert await migrate.current_revision(fresh_database) == "0004"
        assert await stored_ids(fresh_database) == before
        assert await index_definitions(fresh_database) == indexes
        with pytest.raises(DBAPIError):
            async with fresh_database.read() as conn:
                await conn.execute(text("SELECT 1 FROM mute_rules"))
        with pytest.raises(DBAPIError):
            async with fresh_database.read() as conn:
                await conn.execute(text("SELECT snoozed_until FROM notifications"))


async def table_columns(database: Database) -> list[str]:
    """The notifications table's columns, in the table's order."""
    async with database.read() as conn:
        if database.dialect == "postgresql":
            query = (
                "SELECT column_name FROM information_schema.columns"
                " WHERE table_name = 'notifications' ORDER BY ordinal_position"
            )
        else:
            query = "SELECT name FROM pragma_table_info('notifications') ORDER BY cid"
        return [row[0] for row in await conn.execute(text(query))]


async def whole_rows(database: Database) -> list[tuple[Any, ...]]:
    async with database.read() as conn:
        return [tuple(row) for row in await conn.execute(text("SELECT * FROM notifications"))]


class TestCategoriesTagsActions:
    """0006: category, tags and actions; existing rows get none of them."""

    async def test_existing_rows_get_no_category_tags_or_actions(
        self, fresh_database: Database, integer_ids: dict[str, str]
    ) -> None:
        await upgrade_to(fresh_database, "0005")
        before = await whole_rows(fresh_database)
        assert len(before) == len(INTEGER_ROWS)
        await upgrade_to(fresh_database, "0006")
        await fresh_database.dispose()
        after = await whole_rows(fresh_database)
        # The old columns keep every value; the new ones come last, filled in.
        assert [row[: len(before[0])] for row in after] == before
        assert {row[len(before[0]) :] for row in after} == {(None, "[]", "[]")}
        indexes = await index_definitions(fresh_database)
        assert {name: indexes.get(name) for name in integer_ids} == integer_ids
        # notifgql reads them back through its own table as empty lists.
        async with fresh_database.read() as conn:
            query = select(notifications.c.category, notifications.c.tags, notifications.c.actions)
            found = [tuple(row) for row in (await conn.execute(query)).all()]
        assert found == [(None, [], [])] * len(before)

    async def test_rows_written_without_them_get_the_defaults(
        self, fresh_database: Database, integer_ids: dict[str, str]
    ) -> None:
        await upgrade_to(fresh_database, "0006")
        async with fresh_database.transaction() as conn:
            await conn.execute(
                text(
                    "INSERT INTO notifications (organization_id, recipient_id, title, excerpt,"
                    " changeset, created_at, activity_at, group_key) VALUES ('1', '2', 'new', '',"
                    " '[]', :at, :at, 'task:1')"
                ),
                {"at": sql_time(fresh_database, JANUARY)},
            )
            row = (
                await conn.execute(
                    text("SELECT category, tags, actions FROM notifications WHERE title = 'new'")
                )
            ).one()
        assert tuple(row) == (None, "[]", "[]")
        with pytest.raises(IntegrityError):
            async with fresh_database.transaction() as conn:
                await conn.execute(text("UPDATE notifications SET tags = NULL"))

    async def test_downgrade_restores_the_previous_table(
        self, fresh_database: Database, integer_ids: dict[str, str]
    ) -> None:
        await upgrade_to(fresh_database, "0005")
        columns = await table_columns(fresh_database)
        before = await whole_rows(fresh_database)
        indexes = await index_definitions(fresh_database)
        await upgrade_to(fresh_database, "0006")
        async with fresh_database.transaction() as conn:
            await conn.execute(
                text("UPDATE notifications SET category = 'tasks', tags = '[\"a\"]'")
            )
        await downgrade_to(fresh_database, "0005")
        await fresh_database.dispose()
        assert await migrate.current_revision(fresh_database) == "0005"
        assert await table_columns(fresh_database) == columns
        assert "category" not in columns
        assert await whole_rows(fresh_database) == before
        assert await index_definitions(fresh_database) == indexes
        # And up again, as a redeploy after a rollback would.
        await upgrade_to(fresh_database, "0006")
        assert await table_columns(fresh_database) == [*columns, "category", "tags", "actions"]
