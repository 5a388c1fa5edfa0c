"""graphql-transport-ws (graphql-ws library's PROTOCOL.md) as notifgql speaks it.

Strawberry's handler, with three changes:

- a frame that is not a well-formed message closes the socket with 4400 Bad Request,
  as the protocol asks, instead of raising inside the handler;
- a request that cannot run (syntax or validation errors) is answered with an ``error``
  message carrying the coded errors, exactly what HTTP answers, instead of a close;
- a stream that fails ends its operation with an ``error`` message, never silently.
"""

from __future__ import annotations

import logging
from contextlib import suppress
from typing import Any, cast

from graphql import GraphQLError
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import Message
from strawberry.types.execution import ExecutionResult, PreExecutionError
from strawberry.utils.aio import aclosing

from notifgql.errors import INTERNAL_SERVER_ERROR, MASKED_MESSAGE, BadUserInput
from notifgql.graphql.context import Context
from notifgql.graphql.ws_frames import transport_frame_problem

log = logging.getLogger("notifgql.graphql")


class TransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """Strawberry's graphql-transport-ws handler, strict about frames and never silent."""

    async def handle_message(self, message: Message) -> None:
        """Close with 4400 on a malformed frame; hand anything well-formed to Strawberry."""
        frame: object = message
        if problem := transport_frame_problem(frame):
            await self.handle_invalid_message(problem)
            return
        if message["type"] == "connection_init" and message.get("payload") is None:
            # The protocol allows a null payload; Strawberry only an absent one.
            message = cast(Message, {"type": "connection_init"})
        await super().handle_message(message)

    async def run_operation(self, operation: Operation[Context, None]) -> None:
        """Run one operation: ``next`` per result, then ``complete``, or one ``error``."""
        try:
            source = await self.schema.stream(
                operation.query,
                variable_values=operation.variables,
                context_value=self.context,
                root_value=self.root_value,
                operation_name=operation.operation_name,
            )
            async with aclosing(source):
                async for result in source:
                    if not isinstance(result, ExecutionResult):
                        # @defer/@stream patches have no shape in a ``next`` message.
                        await operation.send_initial_errors([incremental_refused()])
                        return
                    if ends_operation(result):
                        await operation.send_initial_errors(result.errors or [])
                        return
                    await operation.send_next(result)
            await operation.send_operation_message({"id": operation.id, "type": "complete"})
        except WebSocketDisconnected:
            self.operations.pop(operation.id, None)
        except Exception:
            # Our own code failed around the stream (the stream's errors are results):
            # log it once and tell the client, rather than a bare ``complete``.
            log.exception("unexpected error running subscription %r", operation.id)
            self.operations.pop(operation.id, None)
            if not operation.completed:
                operation.completed = True
                error = coded_error(MASKED_MESSAGE, INTERNAL_SERVER_ERROR)
                message: Any = {"id": operation.id, "type": "error", "payload": [error.formatted]}
                with suppress(WebSocketDisconnected):
                    await self.send_message(message)


def ends_operation(result: ExecutionResult) -> bool:
    """Whether ``result`` is the last word of its operation, to be sent as ``error``.

    A request that never ran (PreExecutionError), and a stream that raised: Strawberry
    turns the stream's exception into one final result whose errors have no path, then
    stops. PROTOCOL.md's ``error`` ("during the execution of the request ... terminates
    the operation") says exactly that, and graphql-ws clients hand it to ``sink.error``;
    a ``next`` followed by ``complete`` would tell them the stream ended normally. A
    field's error inside one event has a path and stays in that event's ``next``.
    """
    if isinstance(result, PreExecutionError):
        return True
    return bool(result.errors) and any(error.path is None for error in result.errors or [])


def coded_error(message: str, code: str) -> GraphQLError:
    """An error of our own making, with its contract code."""
    return GraphQLError(message, extensions={"code": code})


def incremental_refused() -> GraphQLError:
    """The answer to @defer/@stream, which no WebSocket message can carry."""
    return coded_error("Incremental delivery is not supported over WebSocket", BadUserInput.code)
