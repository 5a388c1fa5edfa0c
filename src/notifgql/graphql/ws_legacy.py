"""The legacy graphql-ws protocol (subscriptions-transport-ws) as notifgql speaks it.

Strawberry's handler, answering the way that protocol's reference server does: a
malformed frame gets an ``error`` message (with the operation's id when it has one) and
the connection stays open; an operation that cannot run, or whose stream fails, ends
with one ``error`` message carrying the coded error, and no ``complete`` after it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from contextlib import suppress
from typing import Any

from graphql import GraphQLError
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.subscriptions.protocols.graphql_ws.types import OperationMessage
from strawberry.types.execution import ExecutionResult

from notifgql.errors import INTERNAL_SERVER_ERROR, MASKED_MESSAGE, BadUserInput
from notifgql.graphql.context import Context
from notifgql.graphql.ws_frames import frame_id, legacy_frame_problem
from notifgql.graphql.ws_transport import coded_error, ends_operation, incremental_refused

log = logging.getLogger("notifgql.graphql")


class LegacyWSHandler(BaseGraphQLWSHandler[Context, None]):
    """Strawberry's graphql-ws handler, strict about frames and never silent."""

    async def handle_message(self, message: OperationMessage) -> None:
        """Answer a malformed frame with an ``error``; hand the rest to Strawberry."""
        frame: object = message
        if problem := legacy_frame_problem(frame):
            await self._send_error(frame_id(frame), coded_error(problem, BadUserInput.code))
            return
        await super().handle_message(message)

    async def handle_async_results(
        self,
        operation_id: str,
        query: str,
        operation_name: str | None,
        variables: dict[str, object] | None,
    ) -> None:
        """Run one operation: ``data`` per result, then ``complete``, or one ``error``."""
        source: object = None
        try:
            source = await self.schema.subscribe(
                query=query,
                variable_values=variables,
                operation_name=operation_name,
                context_value=self.context,
                root_value=self.root_value,
            )
            self.subscriptions[operation_id] = source
            async for result in source:
                if not isinstance(result, ExecutionResult):
                    await self._send_error(operation_id, incremental_refused())
                    return
                if ends_operation(result):
                    # The legacy ``error`` payload is a single error object.
                    await self._send_error(operation_id, (result.errors or [])[0])
                    return
                await self.send_data_message(result, operation_id)
            await self.send_message({"type": "complete", "id": operation_id})
        except asyncio.CancelledError:
            # Stopped by the client (``stop``) or the connection ending.
            await self._send_quietly({"type": "complete", "id": operation_id})
            raise
        except WebSocketDisconnected:
            pass
        except Exception:
            log.exception("unexpected error running subscription %r", operation_id)
            await self._send_error(operation_id, coded_error(MASKED_MESSAGE, INTERNAL_SERVER_ERROR))
        finally:
            # Closed now, not when the collector finds it: the stream holds a subscription
            # slot, a counts feed and a broker subscriber until its own cleanup runs.
            aclose = getattr(source, "aclose", None)
            if aclose is not None:
                with contextlib.suppress(Exception):
                    await aclose()
            # Released here, whatever ended the operation, so that the id may be reused.
            self.subscriptions.pop(operation_id, None)
            self.tasks.pop(operation_id, None)

    async def _send_error(self, operation_id: str | None, error: GraphQLError) -> None:
        message: dict[str, Any] = {"type": "error", "payload": error.formatted}
        if operation_id is not None:
            message["id"] = operation_id
        await self._send_quietly(message)

    async def _send_quietly(self, message: dict[str, Any]) -> None:
        with suppress(WebSocketDisconnected):
            await self.websocket.send_json(message)
