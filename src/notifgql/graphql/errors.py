"""Give every GraphQL error a contract code and mask anything unexpected."""

from __future__ import annotations

import logging
from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from notifgql.errors import INTERNAL_SERVER_ERROR, BadUserInput, NotifGqlError

log = logging.getLogger("notifgql.graphql")
MASKED_MESSAGE = "Internal server error"


def coded(error: GraphQLError) -> GraphQLError:
    """The error as the client sees it: a safe message and ``extensions.code``."""
    original = error.original_error
    if isinstance(original, NotifGqlError):
        return _with_code(error, original.code, original.message)
    if original is None or error.path is None:
        # graphql-core's own errors (syntax, validation, variable coercion) all come before
        # execution and are about the request, never about the server.
        return _with_code(error, BadUserInput.code, error.message)
    log.error("unexpected error in %s", ".".join(map(str, error.path)), exc_info=original)
    return _with_code(error, INTERNAL_SERVER_ERROR, MASKED_MESSAGE)


def _with_code(error: GraphQLError, code: str, message: str) -> GraphQLError:
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=None,
        extensions={**(error.extensions or {}), "code": code},
    )


class ErrorCodes(SchemaExtension):
    """Rewrites the errors of every result, like Strawberry's MaskErrors, with our codes."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        errors = getattr(result, "errors", None)
        if errors:
            result.errors = [coded(error) for error in errors]  # type: ignore[union-attr]
