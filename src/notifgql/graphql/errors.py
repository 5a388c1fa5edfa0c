"""Give every GraphQL error a contract code and mask anything unexpected."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types.execution import PreExecutionError
from strawberry.types.graphql import OperationType

from notifgql.errors import INTERNAL_SERVER_ERROR, MASKED_MESSAGE, BadUserInput, NotifGqlError
from notifgql.graphql.inputs import PARAMETERS

log = logging.getLogger("notifgql.graphql")


def coded(error: GraphQLError, *, streaming: bool = False) -> GraphQLError:
    """The error as the client sees it: a safe message and ``extensions.code``, and the
    argument at fault (``filter.targetType``) in ``extensions.parameter`` where there is one.

    ``streaming`` marks an error raised by a running subscription's event stream: it has
    no path, yet it comes from the server, not from the request.
    """
    original = error.original_error
    if isinstance(original, NotifGqlError):
        message, parameter = original.named(PARAMETERS)
        return _with_code(error, original.code, message, parameter)
    if original is None or (error.path is None and not streaming):
        # graphql-core's own errors (syntax, validation, variable coercion) all come before
        # execution and are about the request, never about the server.
        return _with_code(error, BadUserInput.code, error.message)
    where = ".".join(map(str, error.path or ["subscription"]))
    log.error("unexpected error in %s", where, exc_info=original)
    return _with_code(error, INTERNAL_SERVER_ERROR, MASKED_MESSAGE)


def _with_code(
    error: GraphQLError, code: str, message: str, parameter: str | None = None
) -> GraphQLError:
    extensions = {**(error.extensions or {}), "code": code}
    if parameter is not None:
        extensions["parameter"] = parameter
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=None,
        extensions=extensions,
    )


class ErrorCodes(SchemaExtension):
    """Rewrites the errors of every result, like Strawberry's MaskErrors, with our codes.

    Streamed results (subscriptions, and anything over a WebSocket) are rewritten one by
    one before they are sent; the operation's own result is then left alone.
    """

    _streamed = False

    def on_operation(self) -> Iterator[None]:
        self._streamed = False
        yield
        if self._streamed:
            return
        _rewrite(self.execution_context.result)

    def on_stream_result(self, result: Any) -> Iterator[None]:
        self._streamed = True
        # A pre-execution error may have no parsed document (a syntax error), and then
        # no operation type to ask for: it is about the request either way.
        streaming = (
            not isinstance(result, PreExecutionError)
            and self.execution_context.operation_type is OperationType.SUBSCRIPTION
        )
        _rewrite(result, streaming=streaming)
        yield


def _rewrite(result: Any, *, streaming: bool = False) -> None:
    errors = getattr(result, "errors", None)
    if errors:
        result.errors = [coded(error, streaming=streaming) for error in errors]
