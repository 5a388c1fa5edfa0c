"""The GraphQL inputs are the domain declarations: a field declared there appears here."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import strawberry

from notifgql.graphql.inputs import (
    PARAMETERS,
    CreateNotificationInput,
    NotificationFilterInput,
    domain_input,
    to_domain,
)
from notifgql.notifications.commands import NewNotification
from notifgql.notifications.fields import described
from notifgql.notifications.filters import NotificationFilter
from notifgql.rest import crm, jsonapi


def input_fields(kind: type) -> list[tuple[str, str | None]]:
    definition = kind.__strawberry_definition__  # type: ignore[attr-defined]
    return [(item.python_name, item.description) for item in definition.fields]


def domain_fields(kind: type) -> list[tuple[str, str | None]]:
    return [(item.name, item.metadata.get("description")) for item in dataclasses.fields(kind)]


def test_the_inputs_have_the_domain_fields_in_order() -> None:
    assert input_fields(NotificationFilterInput) == domain_fields(NotificationFilter)
    assert input_fields(CreateNotificationInput) == domain_fields(NewNotification)


def test_every_domain_field_has_a_graphql_path() -> None:
    for kind, argument in ((NotificationFilter, "filter"), (NewNotification, "input")):
        for item in dataclasses.fields(kind):
            assert PARAMETERS[f"{kind.OWNER}.{item.name}"].startswith(f"{argument}.")


def test_rest_tables_name_only_domain_fields() -> None:
    names = {
        f"{NotificationFilter.OWNER}.{item.name}" for item in dataclasses.fields(NotificationFilter)
    }
    for table in (jsonapi.PARAMETERS, crm.PARAMETERS):
        filters = {name for name in table if name.startswith(f"{NotificationFilter.OWNER}.")}
        assert filters <= names


@dataclass(frozen=True)
class WiderFilter(NotificationFilter):
    """The filter with one more condition, declared as a new field would be."""

    starred: bool | None = field(default=None, metadata=described("Only starred ones."))


@domain_input(WiderFilter, name="WiderFilter", description_="A wider filter.")
class WiderFilterInput:
    pass


def test_a_field_declared_once_appears_in_the_generated_input() -> None:
    @strawberry.type
    class Query:
        @strawberry.field
        def echo(self, filter: WiderFilterInput) -> bool:
            return bool(to_domain(filter, WiderFilter.from_client, WiderFilter).starred)

    schema = strawberry.Schema(query=Query)
    printed = str(schema)
    assert '"""Only starred ones."""\n  starred: Boolean = null' in printed
    assert "targetType: String = null" in printed
    result = schema.execute_sync('{ echo(filter: {starred: true, projectId: "4"}) }')
    assert result.errors is None
    assert result.data == {"echo": True}
