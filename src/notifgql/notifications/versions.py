"""Inbox versions: where each change stands in its inbox's change feed.

Every transaction that changes notifications of an inbox first takes the inbox's next
version (its row in ``inboxes``, made at version 1 by the first change), and stamps the
rows it changes with it. Taking the version locks the row until the commit, so an inbox's
versions are given out, and committed, one after the other: a reader that sees version V
sees every change up to V and none after it. That one rule is what lets a client that keeps
only its last position miss nothing (see ``changes``).

Locking the version before any of the inbox's rows is also the one lock order of every
writer: requests wait for the inboxes they change, in recipient order when they change
several, and the background tasks (waking snoozes, noting expiries, purging) skip the inboxes
a request holds and take them next round.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any

import orjson
from sqlalchemy import (
    ColumnElement,
    Text,
    bindparam,
    func,
    literal,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from notifgql.db.models import inboxes as i
from notifgql.db.models import notifications as t
from notifgql.notifications.events import Inbox
from notifgql.notifications.unit_of_work import UnitOfWork


async def take(work: UnitOfWork, inbox: Inbox) -> int:
    """The version of this transaction's changes to ``inbox``, taken once per transaction."""
    found = work.versions.get(inbox)
    if found is None:
        organization_id, recipient_id = inbox
        ((_, found),) = await _bump(work, organization_id, [recipient_id])
    return found


async def take_all(work: UnitOfWork, organization_id: str, recipients: Sequence[str]) -> None:
    """Take the versions of many inboxes of one organization, waiting for each in turn.

    One statement whatever the count; the rows are locked in recipient order, as every
    writer of several inboxes does, so that two of them never wait for each other.
    """
    wanted = sorted({r for r in recipients if (organization_id, r) not in work.versions})
    if wanted:
        await _bump(work, organization_id, wanted)


async def take_free(work: UnitOfWork, wanted: Iterable[Inbox]) -> list[Inbox]:
    """Take the versions of those of ``wanted`` no other transaction holds; which ones.

    For the background tasks: a request holding an inbox is left alone (its inbox is
    taken on the next round) rather than waited for while this transaction holds others.
    Call it before this transaction locks anything: an inbox that has no version yet is
    made at version 0 first, which waits for a request making the same inbox's first
    version to commit (a moment; it holds nothing then, so nothing can wait for it).
    """
    inboxes = sorted(set(wanted) - set(work.versions))
    if not inboxes:
        return []
    pairs = tuple_(i.c.organization_id, i.c.recipient_id)
    # Only the missing ones: inserting over a row another transaction has changed would
    # wait for that transaction (the unique check must know whether it commits).
    existing = select(i.c.organization_id, i.c.recipient_id).where(pairs.in_(inboxes))
    have = {(str(o), str(r)) for o, r in await work.conn.execute(existing)}
    missing = [
        {"organization_id": o, "recipient_id": r, "version": 0}
        for o, r in inboxes
        if (o, r) not in have
    ]
    if missing:
        await work.conn.execute(_insert(work)(i).values(missing).on_conflict_do_nothing())
    free = select(i.c.organization_id, i.c.recipient_id).where(pairs.in_(inboxes))
    if _is_postgresql(work):
        free = free.with_for_update(skip_locked=True)
    statement = (
        update(i)
        .where(pairs.in_(free))
        .values(version=i.c.version + 1)
        .returning(i.c.organization_id, i.c.recipient_id, i.c.version)
    )
    taken = []
    for organization_id, recipient_id, version in await work.conn.execute(statement):
        work.versions[(organization_id, recipient_id)] = int(version)
        taken.append((organization_id, recipient_id))
    return sorted(taken)


async def take_where(
    work: UnitOfWork, organization_id: str, *conditions: ColumnElement[bool]
) -> list[str]:
    """Take the versions of the organization's inboxes holding rows that match
    ``conditions`` (a group's notifications); the recipients this transaction now holds,
    sorted. Only their rows may be changed: a row that joined later is in an inbox the
    transaction does not hold."""
    found = await work.conn.execute(select(t.c.recipient_id).where(*conditions))
    await take_all(work, organization_id, list(found.scalars()))
    return [recipient for _, recipient in taken_inboxes(work, organization_id)]


def recipients_table(dialect: str) -> Any:
    """The ``recipients`` parameter as a table of one column, ``value``: one array on
    PostgreSQL, JSON text on SQLite, so that a statement binds them all as one value."""
    if dialect == "postgresql":
        return (
            func.unnest(bindparam("recipients", type_=postgresql.ARRAY(Text())))
            .table_valued("value")
            .render_derived()
        )
    return func.json_each(bindparam("recipients", type_=Text())).table_valued("value")


def of_row() -> ColumnElement[int]:
    """The version this transaction took for the inbox of the row being written.

    Only for rows of inboxes the transaction has taken: another inbox's row would get a
    version some other transaction owns.
    """
    return _OF_ROW


_OF_ROW: ColumnElement[int] = (
    select(i.c.version)
    .where(i.c.organization_id == t.c.organization_id, i.c.recipient_id == t.c.recipient_id)
    .scalar_subquery()
)


def taken_inboxes(work: UnitOfWork, organization_id: str | None = None) -> list[Inbox]:
    """The inboxes this transaction holds (of one organization when given), sorted."""
    return sorted(
        inbox for inbox in work.versions if organization_id is None or inbox[0] == organization_id
    )


def _is_postgresql(work: UnitOfWork) -> bool:
    return work.conn.dialect.name == "postgresql"


def _insert(work: UnitOfWork) -> Any:
    return postgresql.insert if _is_postgresql(work) else sqlite.insert


async def _bump(
    work: UnitOfWork, organization_id: str, recipients: Sequence[str]
) -> list[tuple[str, int]]:
    dialect = work.conn.dialect.name
    listed: Any = list(recipients)
    if dialect != "postgresql":
        listed = orjson.dumps(listed).decode()
    params = {"organization_id": organization_id, "recipients": listed}
    found = [
        (str(recipient_id), int(version))
        for recipient_id, version in await work.conn.execute(_bump_statement(dialect), params)
    ]
    for recipient_id, version in found:
        work.versions[(organization_id, recipient_id)] = version
    return found


@lru_cache(maxsize=2)
def _bump_statement(dialect: str) -> Any:
    """The next version of each of an organization's inboxes, made at 1 where none is yet.

    The recipients come as one array (PostgreSQL) or JSON text (SQLite) parameter, sorted.
    """
    is_pg = dialect == "postgresql"
    recipients = recipients_table(dialect)
    # The WHERE keeps SQLite from reading ON CONFLICT as the ON of a join.
    source = (
        select(bindparam("organization_id", type_=Text()), recipients.c.value, literal(1))
        .select_from(recipients)
        .where(recipients.c.value.is_not(None))
        .order_by(recipients.c.value)
    )
    insert_ = (postgresql.insert if is_pg else sqlite.insert)(i)
    statement = insert_.from_select(["organization_id", "recipient_id", "version"], source)
    return statement.on_conflict_do_update(
        index_elements=[i.c.organization_id, i.c.recipient_id],
        set_={"version": i.c.version + 1},
    ).returning(i.c.recipient_id, i.c.version)
