"""GraphQL input types, generated from the domain's declarations, and their names.

Each input's fields are the domain value object's (``NotificationFilter``,
``NewNotification``): names in camelCase, types mapped (ids become ``ID``, any JSON
becomes ``JSON``), defaults and descriptions as declared there. Adding a field to the
domain object adds it here; converting back goes field by field through the domain's
``from_client``, which parses ids and names errors in neutral terms that ``PARAMETERS``
turns into argument paths.
"""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Optional, TypeVar, Union, get_args, get_origin

import strawberry
from strawberry.scalars import JSON
from strawberry.utils.str_converters import to_camel_case

from notifgql.notifications.actions import NewAction
from notifgql.notifications.commands import NewNotification
from notifgql.notifications.fields import (
    IdList,
    IdText,
    OpaqueIdText,
    description,
    element,
    hints,
    marker,
)
from notifgql.notifications.filters import EVERYTHING, NotificationFilter
from notifgql.notifications.mute_rules import NewMuteRule
from notifgql.notifications.publishing import (
    NewActivity,
    NotificationContent,
    Publish,
    parse_recipients,
)

T = TypeVar("T")

# The generated input of each nested domain value object (an action), by domain class.
_INPUTS: dict[type, type] = {}


def graphql_type(hint: Any) -> Any:
    """The Strawberry type for a domain field's type."""
    how = marker(hint)
    optional = type(None) in get_args(hint)
    if isinstance(how, IdText | OpaqueIdText):
        base: Any = strawberry.ID
    elif isinstance(how, IdList):
        base = list[strawberry.ID]
    elif hint is Any:
        base = JSON
    elif (item := element(hint)) is not None:
        base = list[_INPUTS.get(item, item)]  # type: ignore[misc]
    else:
        given = [arg for arg in get_args(hint) if arg is not type(None)]
        if get_origin(hint) in (Union, types.UnionType) and len(given) == 1:
            base = given[0]
        elif hint in (bool, int, str, datetime):
            base = hint
        else:
            raise TypeError(f"no GraphQL type for {hint!r}")
    return Optional[base] if optional else base  # noqa: UP045 (a runtime type, not a hint)


def domain_input(domain: type, *, name: str, description_: str) -> Callable[[type[T]], type[T]]:
    """A class decorator that gives a Strawberry input the fields of ``domain``.

    A field with a built default (a list) is optional and null here; the domain builds
    its default when the client sends none.
    """

    def build(cls: type[T]) -> type[T]:
        annotations: dict[str, Any] = {}
        for field in dataclasses.fields(domain):
            kind = graphql_type(hints(domain)[field.name])
            options: dict[str, Any] = {"description": description(field)}
            if field.default is not dataclasses.MISSING:
                options["default"] = field.default
            elif field.default_factory is not dataclasses.MISSING:
                kind, options["default"] = Optional[kind], None  # noqa: UP045
            annotations[field.name] = kind
            setattr(cls, field.name, strawberry.field(**options))
        cls.__annotations__ = annotations
        built = strawberry.input(name=name, description=description_)(cls)
        _INPUTS[domain] = built
        return built

    return build


def to_domain(value: object, domain: Callable[[Mapping[str, Any]], T], kind: type) -> T:
    """The domain value a generated input holds, built field by field."""
    return domain(
        {field.name: _plain(getattr(value, field.name)) for field in dataclasses.fields(kind)}
    )


def _plain(value: Any) -> Any:
    # Nested inputs (actions) reach the domain as mappings of their fields, as from any door.
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if type(value) in _INPUTS.values():
        return {field: getattr(value, field) for field in type(value).__annotations__}
    return value


@domain_input(
    NotificationFilter,
    name="NotificationFilter",
    description_="Conditions, all optional, combined with AND. Time bounds are exclusive.",
)
class NotificationFilterInput:
    def to_domain(self) -> NotificationFilter:
        """The domain filter this input asks for; malformed ids are bad input."""
        return to_domain(self, NotificationFilter.from_client, NotificationFilter)


def to_domain_filter(value: NotificationFilterInput | None) -> NotificationFilter:
    """The domain filter for an optional filter argument."""
    return EVERYTHING if value is None else value.to_domain()


@domain_input(
    NewAction,
    name="NotificationActionInput",
    description_="Something the recipient may do about a notification.",
)
class NotificationActionInput:
    pass


@domain_input(
    NewNotification,
    name="CreateNotificationInput",
    description_="A notification a service publishes into a recipient's inbox.",
)
class CreateNotificationInput:
    def to_domain(self) -> NewNotification:
        """The domain value; every id must be a valid id."""
        return to_domain(self, NewNotification.from_client, NewNotification)


@domain_input(
    NewActivity,
    name="ActivityInput",
    description_="What happened to the thing a notification is about.",
)
class ActivityInput:
    def to_domain(self) -> NewActivity:
        """The domain value; every id must be a valid id."""
        return to_domain(self, NewActivity.from_client, NewActivity)


@domain_input(
    NotificationContent,
    name="NotificationContentInput",
    description_="The notification's own fields; each publish to its group sets them anew.",
)
class NotificationContentInput:
    def to_domain(self) -> NotificationContent:
        """The domain value; every id must be a valid id."""
        return to_domain(self, NotificationContent.from_client, NotificationContent)


@domain_input(
    NewMuteRule,
    name="MuteRuleInput",
    description_="What to mute: at least one criterion; they combine with AND.",
)
class MuteRuleInput:
    def to_domain(self) -> NewMuteRule:
        """The domain value; the project id must be a valid id."""
        return to_domain(self, NewMuteRule.from_client, NewMuteRule)


@strawberry.input(description="An activity to publish to recipients in your organization.")
class PublishInput:
    recipient_ids: list[strawberry.ID] = strawberry.field(
        description="1 to 10,000 recipients; duplicates are ignored."
    )
    activity: ActivityInput
    notification: NotificationContentInput | None = None
    group_key: str | None = strawberry.field(
        default=None,
        description=(
            "One notification per inbox and group key; by default targetType:targetId when"
            " both are given, else a new group."
        ),
    )
    idempotency_key: str | None = strawberry.field(
        default=None,
        description=(
            "Within 24 hours, a retry with this key gets the first call's result and writes"
            " nothing; the same key with a different input is refused."
        ),
    )

    def to_domain(self) -> Publish:
        """The domain request; ids are checked, duplicates dropped."""
        content = (
            NotificationContent() if self.notification is None else self.notification.to_domain()
        )
        return Publish(
            recipient_ids=parse_recipients(self.recipient_ids),
            activity=self.activity.to_domain(),
            content=content,
            group_key=self.group_key,
            idempotency_key=self.idempotency_key,
        )


def _paths(argument: str, domain: type, owner: str) -> dict[str, str]:
    return {
        f"{owner}.{field.name}": f"{argument}.{to_camel_case(field.name)}"
        for field in dataclasses.fields(domain)
    }


# Neutral parameter name → GraphQL argument path: the one place GraphQL's names live.
# Names absent here (ids, page, first, after, …) are the same in GraphQL.
PARAMETERS: dict[str, str] = {
    **_paths("filter", NotificationFilter, NotificationFilter.OWNER),
    **_paths("input", NewNotification, NewNotification.OWNER),
    **_paths("input.activity", NewActivity, NewActivity.OWNER),
    **_paths("input.notification", NotificationContent, NotificationContent.OWNER),
    **_paths("rule", NewMuteRule, NewMuteRule.OWNER),
    "publish.recipient_ids": "input.recipientIds",
    "publish.group_key": "input.groupKey",
    "publish.idempotency_key": "input.idempotencyKey",
    "withdraw.group_key": "groupKey",
    "complete_actions.group_key": "groupKey",
    "action_id": "actionId",
    "page_size": "pageSize",
}
