"""The ceiling's publish sends the statements and arguments notifgql's PostgreSQL path sends."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from bench import ceiling
from sqlalchemy import insert, literal, select
from sqlalchemy.dialects.postgresql import asyncpg as pg_asyncpg

from notifgql.db.models import activities
from notifgql.db.models import notification_activities as na
from notifgql.graphql.inputs import ActivityInput, NotificationContentInput, PublishInput
from notifgql.notifications import publishing
from notifgql.notifications.limits import PUBLISH_BATCH_SIZE

DIALECT = pg_asyncpg.dialect()  # type: ignore[no-untyped-call]
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ACTIVITY_ID = 41


class _PostgreSQL:
    """What publishing._upsert reads of its unit of work: the dialect's name."""

    class conn:
        class dialect:
            name = "postgresql"


def compiled(statement: Any) -> tuple[str, list[Any]]:
    """The SQL text and positional arguments SQLAlchemy's asyncpg dialect sends."""
    done = statement.compile(dialect=DIALECT)
    params = done.construct_params()
    processors = done._bind_processors
    args = [
        processors[name](params[name]) if name in processors else params[name]
        for name in done.positiontup
    ]
    return done.string, args


def notifgql_statements(given: dict[str, Any]) -> list[tuple[str, list[Any]]]:
    """notifgql's statements for ``given``, built by its own functions."""
    request = PublishInput(**_snake(given)).to_domain()
    group_key = request.chosen_group_key()
    occurred_at = request.activity.occurred_at or NOW
    values = publishing._as_dict(request.activity) | {
        "organization_id": "17",
        "group_key": group_key,
        "occurred_at": occurred_at,
        "created_at": NOW,
    }
    out = [compiled(insert(activities).values(**values).returning(activities.c.id))]
    row = publishing._notification_values(request, "17", group_key, ACTIVITY_ID, occurred_at, NOW)
    recipients = sorted(request.recipient_ids)
    for start in range(0, len(recipients), PUBLISH_BATCH_SIZE):
        chunk = recipients[start : start + PUBLISH_BATCH_SIZE]
        upsert = publishing._upsert(
            _PostgreSQL,  # type: ignore[arg-type]
            [row | {"recipient_id": r} for r in chunk],
            None,
        )
        appended = upsert.cte("appended")
        shown = insert(na).from_select(
            ["notification_id", "occurred_at", "activity_id"],
            select(
                appended.c.id,
                literal(occurred_at, na.c.occurred_at.type),
                literal(ACTIVITY_ID, na.c.activity_id.type),
            ),
        )
        out.append(compiled(select(appended).add_cte(shown.cte("shown"))))
    return out


def ceiling_statements(given: dict[str, Any]) -> list[tuple[str, list[Any]]]:
    plan = ceiling.PublishPlan.make("17", given, NOW)
    out: list[tuple[str, list[Any]]] = [(ceiling.ACTIVITY_SQL, plan.activity_args)]
    for start in range(0, len(plan.recipients), ceiling.PUBLISH_BATCH):
        chunk = plan.recipients[start : start + ceiling.PUBLISH_BATCH]
        out.append((ceiling.publish_sql(len(chunk)), plan.batch_args(chunk, ACTIVITY_ID)))
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
    ours, theirs = notifgql_statements(given), ceiling_statements(given)
    assert len(ours) == len(theirs)
    for (sql, args), (bare_sql, bare_args) in zip(ours, theirs, strict=True):
        assert bare_sql == sql
        if not name.startswith("one recipient"):  # a new group's key is random
            assert bare_args == args
        else:
            assert len(bare_args) == len(args)
            assert [a for a in bare_args if not _key(a)] == [a for a in args if not _key(a)]


def _key(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("notification:")
