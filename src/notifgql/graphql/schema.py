"""The notifgql GraphQL schema."""

from __future__ import annotations

import strawberry
from strawberry.printer import print_schema

from notifgql.graphql.errors import ErrorCodes
from notifgql.graphql.mutations import Mutation
from notifgql.graphql.queries import Query


def build_schema() -> strawberry.Schema:
    """The schema every door of this process serves."""
    return strawberry.Schema(query=Query, mutation=Mutation, extensions=[ErrorCodes])


def export_schema() -> str:
    """The SDL, as committed in ``schema.graphql``."""
    return print_schema(build_schema()) + "\n"
