"""Fixtures of the GraphQL tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

import pytest

from notifgql.db.engine import Database
from notifgql.db.reader import AnySelect, Reader, Row
from notifgql.notifications import clock, expiry, snoozing

CLOCK_POLLS = (snoozing.ANY_DUE, expiry.ANY_DUE, clock._ANYTHING_DUE)


class Statements:
    """Every SELECT the inbox reads send while installed, whichever door asks."""

    def __init__(self) -> None:
        self.sent: list[AnySelect] = []


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch) -> Statements:
    seen = Statements()
    original = Database.reader

    class Spy:
        def __init__(self, inner: Reader) -> None:
            self.inner = inner

        async def rows(self, statement: AnySelect, params: Mapping[str, Any]) -> Sequence[Row]:
            # The clock's polls (due snoozes, due expiries) are not the request's reads.
            if not any(statement is poll for poll in CLOCK_POLLS):
                seen.sent.append(statement)
            return await self.inner.rows(statement, params)

    @asynccontextmanager
    async def spying(self: Database) -> AsyncIterator[Reader]:
        async with original(self) as reader:
            yield Spy(reader)

    monkeypatch.setattr(Database, "reader", spying)
    return seen
