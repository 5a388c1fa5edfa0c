"""Mute rules: a user's criteria for publishes that never reach their inbox.

A rule's criteria combine with AND; a criterion left null matches anything. Publishing
checks them inside its one statement per batch (see ``publishing._not_muted``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import Text, bindparam, delete, func, insert, select

from notifgql.auth import Viewer
from notifgql.db.models import MuteRuleRow
from notifgql.db.models import mute_rules as m
from notifgql.db.reader import Reader
from notifgql.errors import BadUserInput, NotFound
from notifgql.notifications.fields import Id, described, from_client
from notifgql.notifications.limits import MAX_MUTE_RULES
from notifgql.notifications.publishing import check_key
from notifgql.notifications.unit_of_work import UnitOfWork


@dataclass(frozen=True, slots=True)
class NewMuteRule:
    """What a user mutes: publishes matching every criterion given (at least one)."""

    # The rule's name in errors: ``rule.<field>``.
    OWNER: ClassVar[str] = "rule"

    category: str | None = field(default=None, metadata=described("Publishes of this category."))
    target_type: str | None = field(
        default=None, metadata=described('Case-insensitive: "Task" matches "task".')
    )
    group_key: str | None = field(
        default=None, metadata=described("Publishes to this group key, exactly.")
    )
    project_id: Id | None = None

    @classmethod
    def from_client(cls, values: Mapping[str, Any]) -> NewMuteRule:
        """The rule a door's values describe, by field name; ids may still be text."""
        return from_client(cls, cls.OWNER, values)

    def criteria(self) -> dict[str, Any]:
        """The criteria by column name."""
        return {item.name: getattr(self, item.name) for item in dataclasses.fields(self)}


def _mine(viewer: Viewer) -> tuple[Any, ...]:
    return (m.c.organization_id == viewer.organization_id, m.c.recipient_id == viewer.recipient_id)


async def mute(work: UnitOfWork, viewer: Viewer, rule: NewMuteRule) -> MuteRuleRow:
    """Store ``rule`` for the viewer; refused, with nothing written, unless it has a criterion."""
    criteria = rule.criteria()
    if all(value is None for value in criteria.values()):
        raise BadUserInput.about(
            rule.OWNER, "must set at least one of category, targetType, groupKey, projectId"
        )
    for name, value in criteria.items():
        if isinstance(value, str):
            check_key(value, parameter=f"{rule.OWNER}.{name}")
    held = select(func.count()).select_from(m).where(*_mine(viewer))
    if (await work.conn.execute(held)).scalar_one() >= MAX_MUTE_RULES:
        raise BadUserInput.about(rule.OWNER, f"would be more than {MAX_MUTE_RULES} mute rules")
    values = criteria | {
        "organization_id": viewer.organization_id,
        "recipient_id": viewer.recipient_id,
        "created_at": datetime.now(UTC),
    }
    row = (await work.conn.execute(insert(m).values(**values).returning(m))).one()
    return MuteRuleRow(*row)


async def unmute(work: UnitOfWork, viewer: Viewer, rule_id: int) -> int:
    """Delete the viewer's rule ``rule_id``; NotFound when it is not theirs."""
    statement = delete(m).where(m.c.id == rule_id, *_mine(viewer)).returning(m.c.id)
    if not (await work.conn.execute(statement)).all():
        raise NotFound(f"Mute rule {rule_id} not found", parameter="id")
    return 1


_LIST = (
    select(m)
    .where(
        m.c.organization_id == bindparam("w_org", type_=Text()),
        m.c.recipient_id == bindparam("w_rcp", type_=Text()),
    )
    .order_by(m.c.created_at.desc(), m.c.id.desc())
)


async def list_rules(reader: Reader, viewer: Viewer) -> Sequence[MuteRuleRow]:
    """The viewer's rules, newest first."""
    params = {"w_org": viewer.organization_id, "w_rcp": viewer.recipient_id}
    return [MuteRuleRow(*row) for row in await reader.rows(_LIST, params)]
