"""NotifGqlError.named: one neutral error, rendered in each door's names."""

from __future__ import annotations

from notifgql.errors import BadUserInput, NotFound
from notifgql.graphql.inputs import PARAMETERS as GRAPHQL
from notifgql.rest.crm import PARAMETERS as CRM
from notifgql.rest.jsonapi import PARAMETERS as JSONAPI


def test_one_error_three_names() -> None:
    error = BadUserInput.about("filter.target_type", "contains a NUL character")
    assert error.named(GRAPHQL) == (
        "filter.targetType contains a NUL character",
        "filter.targetType",
    )
    assert error.named(JSONAPI) == ("filter[type] contains a NUL character", "filter[type]")
    page = BadUserInput.about("page_size", "must be between 1 and 200")
    assert page.named(CRM) == ("per_page must be between 1 and 200", "per_page")


def test_values_in_the_message_are_left_alone() -> None:
    error = BadUserInput.about("filter.project_id", "is '{page_size}', which is not an id")
    assert error.named(JSONAPI)[0] == "filter[project_id] is '{page_size}', which is not an id"


def test_a_message_not_about_the_name_is_kept() -> None:
    assert NotFound("Notification 4 not found", parameter="id").named(GRAPHQL) == (
        "Notification 4 not found",
        "id",
    )
    assert NotFound("gone").named(CRM) == ("gone", None)
