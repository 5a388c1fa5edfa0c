"""Bulk marks racing on one inbox: no deadlock reaches a client, and the end state is exact."""

from __future__ import annotations

import asyncio
import logging
import random
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select

from notifgql.db.models import notifications as t
from notifgql.notifications import unit_of_work
from tests.client import ALICE, BASE_TIME, BOB, Api

INBOX = 1500
MARK_ALL_READ = "mutation($f: NotificationFilter) { markAllRead(filter: $f) { count } }"
MARK_ALL_SEEN = "mutation($f: NotificationFilter) { markAllSeen(filter: $f) { count } }"
MARK_SEEN = "mutation($ids: [ID!]!) { markSeen(ids: $ids) { count } }"
TYPES = ("task", "todo", "invoice")


async def fill_inbox(api: Api) -> list[int]:
    """A large-ish inbox for Alice with varied attributes, and a few rows of Bob's."""
    rows: list[dict[str, Any]] = []
    for n in range(INBOX):
        created = BASE_TIME + timedelta(seconds=n)
        rows.append(
            {
                "organization_id": ALICE.organization_id,
                "recipient_id": ALICE.recipient_id,
                "title": f"n{n}",
                "excerpt": "",
                "changeset": [],
                "created_at": created,
                "activity_at": created,
                "target_type": TYPES[n % 3],
                "important": n % 5 == 0,
                "mention": n % 7 == 0,
                "project_id": n % 4,
            }
        )
    rows += [dict(rows[0], recipient_id=BOB.recipient_id, title="bob") for _ in range(20)]
    async with api.database.transaction() as conn:
        await conn.execute(insert(t), rows)
    async with api.database.read() as conn:
        query = select(t.c.id).where(t.c.recipient_id == ALICE.recipient_id).order_by(t.c.id)
        return list((await conn.execute(query)).scalars().all())


async def test_racing_bulk_marks_never_fail_and_end_exact(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=unit_of_work.__name__)
    ids = await fill_inbox(api)
    rng = random.Random(7)
    read_filters: list[dict[str, Any] | None] = [
        {"targetType": "task"},
        {"important": True},
        {"mention": True, "read": False},
        {"projectId": "2"},
    ]
    seen_filters: list[dict[str, Any] | None] = [
        {"targetType": "todo"},
        {"important": False, "projectId": "1"},
        {"mention": False, "targetType": "invoice"},
    ]
    seen_lists = [rng.sample(ids, 200) for _ in range(6)]
    calls: list[tuple[str, dict[str, Any]]] = []
    for _ in range(3):
        calls += [(MARK_ALL_READ, {"f": f}) for f in read_filters]
        calls += [(MARK_ALL_SEEN, {"f": f}) for f in seen_filters]
        calls += [(MARK_SEEN, {"ids": [str(i) for i in chosen]}) for chosen in seen_lists]
    rng.shuffle(calls)

    async def run(query: str, variables: dict[str, Any]) -> dict[str, Any]:
        status, body = await api.gql_raw(query, variables, headers=api.auth(ALICE))
        assert status == 200, body
        return body

    bodies = await asyncio.gather(*(run(query, variables) for query, variables in calls))
    for body in bodies:
        assert "errors" not in body, body["errors"]

    async with api.database.read() as conn:
        rows = (await conn.execute(select(t).order_by(t.c.id))).all()
    mine = [row for row in rows if row.recipient_id == ALICE.recipient_id]
    project = {"0": 0, "1": 1, "2": 2, "3": 3}
    to_read = {
        row.id
        for row in mine
        if row.target_type == "task" or row.important or row.mention or row.project_id == 2
    }
    to_see = set(to_read) | {i for chosen in seen_lists for i in chosen}
    to_see |= {
        row.id
        for row in mine
        if row.target_type == "todo"
        or (not row.important and row.project_id == project["1"])
        or (not row.mention and row.target_type == "invoice")
    }
    assert {row.id for row in mine if row.read_at is not None} == to_read
    assert {row.id for row in mine if row.seen_at is not None} == to_see
    # Each row was read by exactly one of the racing calls: the counts add up.
    read_counts = [
        body["data"]["markAllRead"]["count"] for body in bodies if "markAllRead" in body["data"]
    ]
    assert sum(read_counts) == len(to_read)
    assert all(row.read_at is None and row.seen_at is None for row in rows if row.title == "bob")
    # Ordered locking, not the retries, kept them apart: nothing had to run again.
    reruns = [r.getMessage() for r in caplog.records if "running it again" in r.getMessage()]
    assert reruns == []
