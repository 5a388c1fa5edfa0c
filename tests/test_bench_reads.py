"""The ceiling's reads and version bump, and the bare markAllSeen, send notifgql's SQL text."""

from __future__ import annotations

from typing import Any

import pytest
from bench import ceiling, harness
from sqlalchemy import update
from sqlalchemy.dialects.postgresql import asyncpg as pg_asyncpg

from notifgql.auth import Viewer
from notifgql.db.models import notifications
from notifgql.notifications import commands, queries, versions
from notifgql.notifications.filters import EVERYTHING, bound, where

DIALECT = pg_asyncpg.dialect()  # type: ignore[no-untyped-call]
VIEWER = Viewer(subject="1001", organization_id="17", role="user")


def _statements() -> dict[str, tuple[Any, str]]:
    shape, _ = bound(VIEWER, EVERYTHING)
    unseen = commands._in_id_order(where(VIEWER, EVERYTHING), notifications.c.seen_at.is_(None))
    # As commands.mark_all_seen: stamped with the version it took first.
    mark = update(notifications).where(unseen).values(seen_at=commands._now(), change_version=1)
    bump = versions._bump_statement("postgresql")
    return {
        "list": (queries._window(shape, backward=False, from_cursor=False), ceiling.LIST_SQL),
        "list after": (
            queries._window(shape, backward=False, from_cursor=True),
            ceiling.LIST_AFTER_SQL,
        ),
        "JSON:API page": (queries._page(shape), ceiling.PAGE_SQL),
        "JSON:API total": (queries._count(shape), ceiling.COUNT_SQL),
        "counts": (queries._counts(shape), ceiling.COUNTS_SQL),
        "markAllSeen": (mark, harness.BARE_MARK_SQL),
        "markAllSeen's version bump": (bump, harness.BARE_BUMP_SQL),
        "the ceiling's version bump": (bump, ceiling.BUMP_SQL),
    }


@pytest.mark.parametrize("name", list(_statements()))
def test_the_bench_sends_notifgqls_sql(name: str) -> None:
    statement, bare = _statements()[name]
    assert bare == statement.compile(dialect=DIALECT).string
