"""The ceiling's publish sends the statements and arguments notifgql's PostgreSQL path sends."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import pytest
from bench import ceiling
from sqlalchemy.dialects.postgresql import asyncpg as pg_asyncpg

from notifgql.auth import Viewer
from notifgql.graphql.inputs import ActivityInput, NotificationContentInput, PublishInput
from notifgql.notifications import publishing, versions
from notifgql.notifications.limits import PUBLISH_BATCH_SIZE
from notifgql.notifications.unit_of_work import UnitOfWork

DIALECT = pg_asyncpg.dialect()  # type: ignore[no-untyped-call]
ACTIVITY_ID = 41


class _Recorder:
    """A connection that compiles what it is given as SQLAlchemy's asyncpg dialect would
    for asyncpg, and keeps the SQL text and positional arguments instead of sending them."""

    dialect = DIALECT

    def __init__(self) -> None:
        self.sent: list[tuple[str, list[Any]]] = []
        self.params: list[dict[str, Any]] = []

    async def execute(self, statement: Any, params: dict[str, Any]) -> Any:
        self.sent.append(compiled(statement, params))
        self.params.append(params)
        if statement is versions._bump_statement(DIALECT.name):  # every inbox's first version
            return _Rows([(r, 1) for r in params["recipients"]])
        if "recipients" in params:  # a batch: every recipient's line is a new one
            return _Rows([(n, r, True) for n, r in enumerate(params["recipients"], 1)])
        return _Rows([(ACTIVITY_ID,)])


class _Rows:
    def __init__(self, rows: list[tuple[Any, ...]]) -> None:
        self.rows = rows

    def __iter__(self) -> Any:
        return iter(self.rows)

    def all(self) -> list[tuple[Any, ...]]:
        return self.rows

    def scalar_one(self) -> Any:
        (row,) = self.rows
        return row[0]


def compiled(statement: Any, params: dict[str, Any]) -> tuple[str, list[Any]]:
    """The SQL text and positional arguments SQLAlchemy's asyncpg dialect sends.

    As Connection.execute does: compiled for the parameters' names (sorted), each value
    through its type's bind processor, in the order of the numbered placeholders.
    """
    done = statement.compile(dialect=DIALECT, column_keys=sorted(params))
    values = done.construct_params(params)
    processors = done._bind_processors
    args = [
        processors[name](values[name]) if name in processors else values[name]
        for name in done.positiontup
    ]
    return done.string, args


def notifgql_statements(given: dict[str, Any]) -> tuple[list[tuple[str, list[Any]]], datetime]:
    """What notifgql's publish sends for ``given``, and the time it took for now."""
    request = PublishInput(**_snake(given)).to_domain()
    conn = _Recorder()
    work = UnitOfWork(conn)  # type: ignore[arg-type]
    viewer = Viewer(subject="bench-publisher", organization_id="17", role="service")
    result = asyncio.run(publishing.publish(work, viewer, request))
    assert result.created == len(set(given["recipientIds"]))
    return conn.sent, conn.params[0]["created_at"]


def ceiling_statements(given: dict[str, Any], now: datetime) -> list[tuple[str, list[Any]]]:
    plan = ceiling.PublishPlan.make("17", given, now)
    out: list[tuple[str, list[Any]]] = [(ceiling.ACTIVITY_SQL, plan.activity_args)]
    for start in range(0, len(plan.recipients), ceiling.PUBLISH_BATCH):
        chunk = plan.recipients[start : start + ceiling.PUBLISH_BATCH]
        out.append((ceiling.BUMP_SQL, plan.bump_args(chunk)))
        out.append((ceiling.PUBLISH_SQL, plan.batch_args(chunk, ACTIVITY_ID)))
    return out


def _snake(given: dict[str, Any]) -> dict[str, Any]:
    def snake(name: str) -> str:
        return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)

    def parse(value: dict[str, Any]) -> dict[str, Any]:
        out = {snake(k): v for k, v in value.items()}
        for name in ("occurred_at", "expires_at"):
            if isinstance(out.get(name), str):
                out[name] = datetime.fromisoformat(out[name])
        return out

    values = parse(given)
    values["activity"] = ActivityInput(**parse(given["activity"]))
    if given.get("notification") is not None:
        values["notification"] = NotificationContentInput(**parse(given["notification"]))
    return values


ACTIVITY = {
    "title": "Ann moved the task",
    "actorId": "auth0|ann",
    "actorName": "Ann",
    "excerpt": "to Done",
    "changeset": {"status": ["open", "done"]},
    "occurredAt": "2026-03-01T08:30:00+00:00",
}
CASES = {
    "one recipient, a group of its own": {
        "recipientIds": ["1001"],
        "activity": {"title": "Ann mentioned you", "excerpt": "Can you look?"},
        "notification": {"description": "In the roadmap", "reason": "mentioned", "mention": True},
    },
    "a target's group, every content field": {
        "recipientIds": ["1002", "1001", "1002"],
        "activity": ACTIVITY,
        "notification": {
            "title": "Ship it",
            "targetType": "task",
            "targetId": "7",
            "targetTitle": "Ship",
            "targetLabel": "T-7",
            "parentType": "project",
            "parentId": "3",
            "parentTitle": "Launch",
            "rootType": "workspace",
            "rootId": "1",
            "projectId": "3",
            "resource": "tasks",
            "reason": "assigned",
            "important": True,
            "actionRequired": True,
            "madeByAutomation": True,
            "category": "work",
            "tags": ["ship", "q3", "ship"],
            "actions": [
                {"id": "approve", "label": "Approve", "url": "/a", "primary": True},
                {"id": "later", "label": "Later"},
            ],
            "excerpt": "",
            "expiresAt": "2026-04-01T00:00:00+00:00",
        },
    },
    "a named group, 2,500 recipients in three statements": {
        "recipientIds": [f"r{n}" for n in range(2_500)],
        "activity": ACTIVITY,
        "groupKey": "digest:2026-03",
    },
}


@pytest.mark.parametrize("name", list(CASES))
def test_the_ceiling_sends_notifgqls_statements_and_arguments(name: str) -> None:
    given = CASES[name]
    ours, now = notifgql_statements(given)
    theirs = ceiling_statements(given, now)
    recipients = len(set(given["recipientIds"]))
    # The activity, then per batch the inboxes' versions and the batch's statement.
    assert len(ours) == len(theirs) == 1 + 2 * -(-recipients // PUBLISH_BATCH_SIZE)
    for (sql, args), (bare_sql, bare_args) in zip(ours, theirs, strict=True):
        assert bare_sql == sql
        if not name.startswith("one recipient"):  # a new group's key is random
            assert bare_args == args
        else:
            assert len(bare_args) == len(args)
            assert [a for a in bare_args if not _key(a)] == [a for a in args if not _key(a)]


def test_every_batch_sends_one_text_and_its_recipients_as_one_array() -> None:
    given = CASES["a named group, 2,500 recipients in three statements"]
    ours, _ = notifgql_statements(given)
    bumps, batches = ours[1::2], ours[2::2]
    assert {sql for sql, _ in bumps} == {ceiling.BUMP_SQL}
    assert {sql for sql, _ in batches} == {ceiling.PUBLISH_SQL}
    arrays = [[a for a in args if isinstance(a, list)] for _, args in batches]
    assert [len(args) for _, args in batches] == [43, 43, 43]
    assert [[len(a) for a in found] for found in arrays] == [[1_000], [1_000], [500]]
    assert [r for (found,) in arrays for r in found] == sorted(given["recipientIds"])
    # Each batch's inboxes' versions are taken just before it, for the same recipients.
    assert [args for _, args in bumps] == [["17", 1, found, 1] for (found,) in arrays]


def _key(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("notification:")
