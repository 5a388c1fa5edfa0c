"""The notifgql GraphQL schema."""

from __future__ import annotations

from collections.abc import Callable

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    DisableIntrospection,
    MaxTokensLimiter,
    SchemaExtension,
)
from strawberry.printer import print_schema
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from notifgql.graphql.documents import CheckedDocuments, Documents
from notifgql.graphql.errors import ErrorCodes
from notifgql.graphql.limits import Limits
from notifgql.graphql.mutations import Mutation
from notifgql.graphql.queries import Query
from notifgql.graphql.subscriptions import Subscription
from notifgql.settings import Settings


def build_schema(settings: Settings | None = None) -> Schema:
    """The schema every door of this process serves, with the settings' limits."""
    settings = settings or Settings()
    limits = Limits(
        max_depth=settings.max_depth,
        max_aliases=settings.max_aliases,
        max_fields=settings.max_fields,
    )
    extensions: list[Callable[[], SchemaExtension]] = [
        # Bounds Strawberry's own parse, which reports syntax errors.
        lambda: MaxTokensLimiter(max_token_count=settings.max_tokens),
        # The schema is built below; the extension is made per operation, after that.
        lambda: CheckedDocuments(schema.documents),
    ]
    if not settings.introspection:
        extensions.append(DisableIntrospection)
    extensions.append(ErrorCodes)
    schema = Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions,
        # Without introspection, "Did you mean …?" would hand out the schema field by field.
        config=StrawberryConfig(disable_field_suggestions=not settings.introspection),
    )
    schema.documents = Documents(
        schema._schema,
        limits,
        max_tokens=settings.max_tokens,
        max_bytes=settings.max_query_bytes,
        cache_bytes=settings.document_cache_bytes,
    )
    return schema


class Schema(strawberry.Schema):
    """Strawberry's schema, minus its logging of every error with the whole document:
    ErrorCodes logs what is unexpected, with the request id, and nothing else is news.
    It also carries the checked documents its parse and validation steps use."""

    documents: Documents

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        return


def export_schema() -> str:
    """The SDL, as committed in ``schema.graphql``."""
    return print_schema(build_schema()) + "\n"
