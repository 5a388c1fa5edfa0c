"""GraphQL input types and their translation into domain values."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from notifgql.notifications.commands import NewNotification
from notifgql.notifications.filters import (
    EVERYTHING,
    parse_ids,
    parse_single_id,
)
from notifgql.notifications.filters import (
    NotificationFilter as DomainFilter,
)


@strawberry.input(
    description="Conditions, all optional, combined with AND. Time bounds are exclusive."
)
class NotificationFilter:
    ids: list[strawberry.ID] | None = None
    read: bool | None = None
    seen: bool | None = None
    dismissed: bool | None = None
    important: bool | None = None
    mention: bool | None = None
    action_required: bool | None = None
    made_by_automation: bool | None = None
    target_type: str | None = strawberry.field(
        default=None, description='Case-insensitive: "Task" matches "task".'
    )
    project_id: strawberry.ID | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    last_action_after: datetime | None = None
    last_action_before: datetime | None = None

    def to_domain(self) -> DomainFilter:
        """The domain filter this input asks for; malformed ids are bad input."""
        return DomainFilter(
            ids=None if self.ids is None else parse_ids(self.ids, parameter="filter.ids"),
            read=self.read,
            seen=self.seen,
            dismissed=self.dismissed,
            important=self.important,
            mention=self.mention,
            action_required=self.action_required,
            made_by_automation=self.made_by_automation,
            target_type=self.target_type,
            project_id=(
                None
                if self.project_id is None
                else parse_single_id(self.project_id, parameter="filter.projectId")
            ),
            created_after=self.created_after,
            created_before=self.created_before,
            last_action_after=self.last_action_after,
            last_action_before=self.last_action_before,
        )


def to_domain_filter(value: NotificationFilter | None) -> DomainFilter:
    """The domain filter for an optional filter argument."""
    return EVERYTHING if value is None else value.to_domain()


@strawberry.input(description="A notification a service publishes into a recipient's inbox.")
class CreateNotificationInput:
    recipient_id: strawberry.ID
    title: str
    actor_id: strawberry.ID | None = None
    actor_name: str | None = None
    description: str | None = None
    excerpt: str = ""
    target_type: str | None = None
    target_id: strawberry.ID | None = None
    target_title: str | None = None
    target_label: str | None = None
    parent_type: str | None = None
    parent_id: strawberry.ID | None = None
    parent_title: str | None = None
    root_type: str | None = None
    root_id: strawberry.ID | None = None
    project_id: strawberry.ID | None = None
    resource: str | None = None
    reason: str | None = None
    important: bool = False
    mention: bool = False
    action_required: bool = False
    made_by_automation: bool = False
    new_activities_count: int = 0
    first_unread_activity_id: strawberry.ID | None = None
    changeset: JSON | None = None
    last_action_at: datetime | None = None
    created_at: datetime | None = None

    def to_domain(self) -> NewNotification:
        """The domain value; every id must be a valid id."""

        def optional_id(value: strawberry.ID | None, name: str) -> int | None:
            return None if value is None else parse_single_id(value, parameter=f"input.{name}")

        return NewNotification(
            recipient_id=parse_single_id(self.recipient_id, parameter="input.recipientId"),
            title=self.title,
            actor_id=optional_id(self.actor_id, "actorId"),
            actor_name=self.actor_name,
            description=self.description,
            excerpt=self.excerpt,
            target_type=self.target_type,
            target_id=optional_id(self.target_id, "targetId"),
            target_title=self.target_title,
            target_label=self.target_label,
            parent_type=self.parent_type,
            parent_id=optional_id(self.parent_id, "parentId"),
            parent_title=self.parent_title,
            root_type=self.root_type,
            root_id=optional_id(self.root_id, "rootId"),
            project_id=optional_id(self.project_id, "projectId"),
            resource=self.resource,
            reason=self.reason,
            important=self.important,
            mention=self.mention,
            action_required=self.action_required,
            made_by_automation=self.made_by_automation,
            new_activities_count=self.new_activities_count,
            first_unread_activity_id=optional_id(
                self.first_unread_activity_id, "firstUnreadActivityId"
            ),
            changeset=[] if self.changeset is None else self.changeset,
            last_action_at=self.last_action_at,
            created_at=self.created_at,
        )
