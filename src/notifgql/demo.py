"""Demo data that resembles the older APIs' examples, published through the domain."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from notifgql.auth import Viewer
from notifgql.db.engine import Database
from notifgql.notifications import commands, queries
from notifgql.notifications.commands import NewNotification
from notifgql.notifications.filters import EVERYTHING
from notifgql.notifications.local_broker import LocalBroker
from notifgql.notifications.unit_of_work import UnitOfWork, in_transaction

DEMO_ORGANIZATION = "810"
DEMO_RECIPIENT = "3030"
DEMO_SERVICE = "demo-publisher"
# Ids are the publisher's own strings: numbers for people, a name for the automation.
AUTOMATION = "automation"
_ACTORS = [("11", "Ana Kovač"), ("12", "Marko Horvat"), ("13", "Jon D"), (AUTOMATION, "Automation")]


def _project(n: int) -> tuple[int, str]:
    """The demo project task ``n`` belongs to: its id and title."""
    project_id = 600 + n % 5
    return project_id, f"[Client{project_id + 870}] test project"


def _examples(now: datetime) -> list[NewNotification]:
    rng = random.Random(539)
    examples = []
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
        examples.append(
            NewNotification(
                recipient_id=DEMO_RECIPIENT,
                title=f"created {target_type} <b>{target_title}</b> on <b>{parent_title}</b>",
                description=f"{actor_name} created {target_type} {target_title}",
                actor_id=actor_id,
                actor_name=actor_name,
                target_type=target_type,
                target_id=40 + n,
                target_title=target_title,
                target_label=target_type,
                parent_type=parent_type,
                parent_id=parent_id,
                parent_title=parent_title,
                project_id=project_id,
                resource=f"/{target_type}s/{40 + n}",
                important=n % 7 == 0,
                mention=n % 5 == 0,
                action_required=n % 6 == 0,
                made_by_automation=actor_id == AUTOMATION,
                new_activities_count=1 + n % 3,
                first_unread_activity_id=n,
                last_action_at=created + timedelta(hours=2) if n % 10 == 0 else None,
                created_at=created,
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
        rows = [
            await commands.create_notification(work, service, new)
            for new in _examples(datetime.now(UTC))
        ]
        oldest = sorted(rows, key=lambda row: row.created_at)
        for row in oldest[:25]:
            await commands.mark_read(work, user, row.id)
        for row in oldest[:8]:
            await commands.dismiss(work, user, row.id)

    await in_transaction(database, LocalBroker(), fill)
    return True
