"""Demo data that resembles the older APIs' examples, published through the domain.

Most lines come one at a time through ``create_notification``, with the activity numbers
their publisher set. A few tasks are groups instead: each thing that happened to them is
published as it happened (``publishing.publish``), and the demo recipient read some of them
in between, so their numbers are the ones notifgql keeps for a real inbox.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import select

from notifgql.auth import Viewer
from notifgql.db.engine import Database
from notifgql.db.models import notifications as t
from notifgql.notifications import commands, publishing, queries
from notifgql.notifications.commands import NewNotification
from notifgql.notifications.filters import EVERYTHING
from notifgql.notifications.local_broker import LocalBroker
from notifgql.notifications.publishing import NewActivity, NotificationContent, Publish
from notifgql.notifications.unit_of_work import UnitOfWork, in_transaction

DEMO_ORGANIZATION = "810"
DEMO_RECIPIENT = "3030"
DEMO_SERVICE = "demo-publisher"
# Ids are the publisher's own strings: numbers for people, a name for the automation.
AUTOMATION = "automation"
ANA, MARKO, JON = ("11", "Ana Kovač"), ("12", "Marko Horvat"), ("13", "Jon D")
_ACTORS = [ANA, MARKO, JON, (AUTOMATION, "Automation")]
# The oldest lines are read, and the oldest of those dismissed too.
READ_LINES = 25
DISMISSED_LINES = 8


@dataclass(frozen=True, slots=True)
class Happened:
    """One activity of a grouped task: who did it, what, and what changed."""

    actor: tuple[str, str]
    verb: str
    excerpt: str = ""
    changeset: Any = field(default_factory=list)


# Where the demo recipient read the task's line, between two activities.
READ: Literal["read"] = "read"
Step = Happened | Literal["read"]

# Demo number → what happened to that task, oldest first; an hour passes between two activities.
GROUPS: dict[int, tuple[Step, ...]] = {
    # Task 42: read after two comments, then two more activities: 2 new of 4.
    2: (
        Happened(ANA, "created"),
        Happened(MARKO, "commented on", "I can take this one, starting tomorrow."),
        READ,
        Happened(MARKO, "changed the status of", "", [{"status": ["Open", "In progress"]}]),
        Happened(JON, "commented on", "The client asked for it by Friday."),
    ),
    # Task 44: not read yet: 3 new of 3.
    4: (
        Happened(JON, "created"),
        Happened(ANA, "commented on", "Attached the mock-ups from the call."),
        Happened(
            (AUTOMATION, "Automation"),
            "changed the status of",
            "",
            [{"status": ["Open", "Review"]}],
        ),
    ),
    # Task 60: old enough to have been read after its last activity: 0 new of 3.
    20: (
        Happened(ANA, "created"),
        Happened(JON, "changed the assignee of", "", [{"assignee": ["Jon D", "Ana Kovač"]}]),
        Happened(ANA, "commented on", "Done, see the attached report."),
    ),
}


@dataclass(frozen=True, slots=True)
class Group:
    """A task line made of the activities published to it, the last one at ``last_at``."""

    content: NotificationContent
    steps: tuple[Step, ...]
    last_at: datetime

    def publishes(self) -> list[Publish | Literal["read"]]:
        """Each activity as a publish to the demo recipient, with the reads in between."""
        activities = [step for step in self.steps if isinstance(step, Happened)]
        occurred_at = self.last_at - timedelta(hours=len(activities) - 1)
        found: list[Publish | Literal["read"]] = []
        for step in self.steps:
            if not isinstance(step, Happened):
                found.append(step)
                continue
            (actor_id, actor_name), what = step.actor, f"{step.verb} task"
            target, parent = self.content.target_title, self.content.parent_title
            activity = NewActivity(
                title=f"{what} <b>{target}</b> on <b>{parent}</b>",
                actor_id=actor_id,
                actor_name=actor_name,
                excerpt=step.excerpt,
                changeset=step.changeset,
                occurred_at=occurred_at,
            )
            content = replace(
                self.content,
                description=f"{actor_name} {what} {target}",
                made_by_automation=actor_id == AUTOMATION,
            )
            found.append(Publish((DEMO_RECIPIENT,), activity, content))
            occurred_at += timedelta(hours=1)
        return found


def _project(n: int) -> tuple[int, str]:
    """The demo project task ``n`` belongs to: its id and title."""
    project_id = 600 + n % 5
    return project_id, f"[Client{project_id + 870}] test project"


def _examples(now: datetime) -> list[NewNotification | Group]:
    rng = random.Random(539)
    examples: list[NewNotification | Group] = []
    for n in range(1, 41):
        actor_id, actor_name = rng.choice(_ACTORS)
        created = now - timedelta(hours=n * 7, minutes=rng.randrange(60))
        if n % 3:
            # A task, whose parent is its project.
            project_id, project_title = _project(n)
            target_type, target_title = "task", f"#{n}: Ticket title"
            parent_type, parent_id, parent_title = "project", project_id, project_title
        else:
            # A todo, whose parent is the task before it (n - 1 is never a multiple of 3),
            # in that task's project.
            project_id, _ = _project(n - 1)
            target_type, target_title = "todo", "You need to do this."
            parent_type, parent_id, parent_title = "task", 40 + n - 1, f"#{n - 1}: Ticket title"
        about: dict[str, Any] = {
            "target_type": target_type,
            "target_id": 40 + n,
            "target_title": target_title,
            "target_label": target_type,
            "parent_type": parent_type,
            "parent_id": parent_id,
            "parent_title": parent_title,
            "project_id": project_id,
            "resource": f"/{target_type}s/{40 + n}",
            "important": n % 7 == 0,
            "mention": n % 5 == 0,
            "action_required": n % 6 == 0,
        }
        if n in GROUPS:
            examples.append(Group(NotificationContent(**about), GROUPS[n], created))
            continue
        examples.append(
            NewNotification(
                recipient_id=DEMO_RECIPIENT,
                title=f"created {target_type} <b>{target_title}</b> on <b>{parent_title}</b>",
                description=f"{actor_name} created {target_type} {target_title}",
                actor_id=actor_id,
                actor_name=actor_name,
                made_by_automation=actor_id == AUTOMATION,
                new_activities_count=1 + n % 3,
                first_unread_activity_id=n,
                last_action_at=created + timedelta(hours=2) if n % 10 == 0 else None,
                created_at=created,
                **about,
            )
        )
    return examples


async def load_demo(database: Database) -> bool:
    """Fill the demo inbox unless it has notifications already; True when it loaded."""
    user = Viewer(subject=DEMO_RECIPIENT, organization_id=DEMO_ORGANIZATION, role="user")
    service = Viewer(subject=DEMO_SERVICE, organization_id=DEMO_ORGANIZATION, role="service")
    async with database.reader() as conn:
        if await queries.count(conn, user, EVERYTHING):
            return False

    async def fill(work: UnitOfWork) -> None:
        # Each line's id, by when it was made: the examples come newest first.
        lines = [await _make(work, user, service, example) for example in _examples(_now())]
        oldest = lines[::-1]
        for line in oldest[:READ_LINES]:
            await commands.mark_read(work, user, line)
        for line in oldest[:DISMISSED_LINES]:
            await commands.dismiss(work, user, line)

    await in_transaction(database, LocalBroker(), fill)
    return True


def _now() -> datetime:
    return datetime.now(UTC)


async def _make(
    work: UnitOfWork, user: Viewer, service: Viewer, example: NewNotification | Group
) -> int:
    """Make one line of the demo inbox; its id."""
    if isinstance(example, NewNotification):
        return (await commands.create_notification(work, service, example)).id
    line: int | None = None
    for step in example.publishes():
        if step == READ:
            assert line is not None, "a group is read after its first activity"
            await commands.mark_read(work, user, line)
            continue
        assert isinstance(step, Publish)
        await publishing.publish(work, service, step)
        line = await _line_of(work, step)
    assert line is not None, "a group has activities"
    return line


async def _line_of(work: UnitOfWork, request: Publish) -> int:
    """The demo recipient's notification that ``request`` grouped its activity into."""
    statement = select(t.c.id).where(
        t.c.organization_id == DEMO_ORGANIZATION,
        t.c.recipient_id == DEMO_RECIPIENT,
        t.c.group_key == request.chosen_group_key(),
    )
    return int((await work.conn.execute(statement)).scalar_one())
