"""The inbox reads, exactly as notifgql sends them, are served by the inbox indexes."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import text

from notifgql.auth import Viewer
from notifgql.db.engine import Database
from notifgql.notifications import changes, queries
from notifgql.notifications.filters import EVERYTHING, bound
from tests.string_ids import AUTH0

VIEWER = Viewer(subject=AUTH0.recipient_id, organization_id=AUTH0.organization_id, role="user")
INBOX_ORDER = "ix_notifications_inbox_order"
INBOX_CHANGES = "ix_notifications_inbox_changes"
# The plan line saying what the index is searched with, on PostgreSQL and on SQLite.
KEYED = re.compile(r"Index Cond:|SEARCH notifications USING")
INBOX_KEY = re.compile(r"\(+organization_id ?= ?\S+ AND \(?recipient_id ?= ?")


async def plan(database: Database, statement: Any, params: dict[str, Any]) -> str:
    """The database's plan for ``statement``, compiled as notifgql compiles it."""
    async with database.transaction() as conn:
        compiled = statement.compile(dialect=conn.dialect)
        given = compiled.construct_params(params)
        values = tuple(given[name] for name in compiled.positiontup)
        if database.dialect == "postgresql":
            # On a small table a scan is cheaper; what matters is that the index can serve.
            await conn.execute(text("SET LOCAL enable_seqscan = off"))
            explain = "EXPLAIN "
        else:
            explain = "EXPLAIN QUERY PLAN "
        result = await conn.exec_driver_sql(explain + str(compiled), values)
        return "\n".join(str(row[-1]) for row in result)


@pytest.mark.parametrize("statement", ["list", "counts"])
async def test_inbox_reads_use_the_inbox_index(database: Database, statement: str) -> None:
    shape, params = bound(VIEWER, EVERYTHING)
    if statement == "list":
        query = queries._window(shape, backward=False, from_cursor=False)
        params["w_limit"] = 31
    else:
        query = queries._counts(shape)
    found = await plan(database, query, params)
    if statement == "list":
        assert INBOX_ORDER in found, found
    else:
        # Any index that leads with the inbox serves a count as well as another.
        assert INBOX_ORDER in found or INBOX_CHANGES in found, found
    # The index is searched for the one inbox, not walked whole with a filter on top.
    (condition,) = [line for line in found.splitlines() if KEYED.search(line)]
    assert INBOX_KEY.search(condition), found


async def test_the_change_feed_walks_the_inbox_changes_index(database: Database) -> None:
    params = {
        "c_org": VIEWER.organization_id,
        "c_rcp": VIEWER.recipient_id,
        "c_version": 3,
        "c_id": 10,
        "c_now": datetime.now(UTC),
        "c_limit": 101,
    }
    found = await plan(database, changes._statement(False), params)
    assert INBOX_CHANGES in found, found
