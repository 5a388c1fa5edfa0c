"""GraphQL over HTTP, as the GraphQL Foundation's specification describes it.

Strawberry's view keeps the WebSocket protocols and GraphiQL; plain HTTP requests come here so
that media types, status codes and malformed bodies are answered the way the specification
and its conformance audits expect:

- ``application/graphql-response+json`` when the client accepts it, else ``application/json``;
  406 when it accepts neither.
- A request error (unparseable body, bad parameters, a document that fails to parse or
  validate, variables that do not coerce) has no ``data`` entry, and is a 400 under the new
  media type; under ``application/json`` a well-formed JSON request is answered 200.
- A mutation over GET is a 405 with ``Allow: POST``.
- Batches (a JSON array of requests) are refused unless ``NOTIFGQL_MAX_BATCH`` allows them;
  every item is checked before any of them runs.
- Automatic persisted queries (``notifgql.graphql.persisted``): a request may name its text by
  SHA-256 instead of sending it; the text found takes the path a text sent in full takes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web
from graphql import GraphQLError
from strawberry.exceptions import MissingQueryError
from strawberry.schema import BaseSchema
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from notifgql import requestkeys
from notifgql.accept import accepted
from notifgql.bodies import read_body
from notifgql.errors import RETRY_AFTER_SECONDS, BadUserInput, ServiceUnavailable
from notifgql.graphql.compiled import Plans
from notifgql.graphql.context import Context
from notifgql.graphql.persisted import (
    ASKING_FOR_THE_TEXT,
    BadPersistedQuery,
    PersistedQueries,
    not_found,
    not_supported,
    requested_hash,
    sha256_of,
)

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
_QUERY_ONLY = frozenset({OperationType.QUERY})
_ANY_OPERATION = frozenset({OperationType.QUERY, OperationType.MUTATION})


class RequestError(Exception):
    """A request the server cannot execute; ``status`` is what the client is told."""

    def __init__(
        self, message: str, status: int = 400, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.headers = headers or {}


_CANDIDATES = {
    GRAPHQL_RESPONSE: GRAPHQL_RESPONSE,
    JSON: JSON,
    # Wildcards get the legacy type: curl and older clients send */* and expect it.
    "application/*": JSON,
    "*/*": JSON,
}


def response_media_type(accept: str) -> str | None:
    """The media type to answer with, or None when the client accepts neither."""
    if not accept.strip():
        return JSON  # the specification's rule for clients that send no Accept
    best: tuple[float, int, str] | None = None
    for position, (media, quality) in enumerate(accepted(accept)):
        chosen = _CANDIDATES.get(media)
        if chosen is None or quality <= 0:
            continue
        rank = (quality, -position, chosen)
        if best is None or rank[:2] > best[:2]:
            best = rank
    return None if best is None else best[2]


@dataclass(slots=True)
class _Operation:
    """One well-formed request: its text, or the hash that names a stored one."""

    query: str | None  # None: look the text up by ``sha256``
    variables: dict[str, Any] | None
    operation_name: str | None
    extensions: dict[str, Any] | None
    # The text's SHA-256 when the request names one (checked against the text if it has one).
    sha256: str | None


def _operation(data: Any, persisted: PersistedQueries | None) -> _Operation:
    """The request's parameters, checked; nothing is looked up or run yet."""
    if not isinstance(data, dict):
        raise RequestError("The request must be a JSON object with a query")
    query = data.get("query")
    if query is not None and not isinstance(query, str):
        raise RequestError("The request's query must be a string")
    variables = data.get("variables")
    if variables is not None and not isinstance(variables, dict):
        raise RequestError("The request's variables must be an object")
    operation_name = data.get("operationName")
    if operation_name is not None and not isinstance(operation_name, str):
        raise RequestError("The request's operationName must be a string")
    extensions = data.get("extensions")
    if extensions is not None and not isinstance(extensions, dict):
        raise RequestError("The request's extensions must be an object")
    sha256 = None
    if persisted is not None or query is None:
        # Switched off, persisted queries are not looked at when the text is there: it runs
        # as sent. A hash alone is then answered PERSISTED_QUERY_NOT_SUPPORTED.
        try:
            sha256 = requested_hash(extensions, () if persisted is None else persisted)
        except BadPersistedQuery as error:
            raise RequestError(error.message) from None
    if query is None and sha256 is None:
        raise RequestError("The request's query must be a string")
    if query is not None and sha256 is not None:
        stored = None if persisted is None else persisted.get(sha256)
        # A text equal to the one stored under this hash was checked when it was stored.
        if stored != query and sha256_of(query) != sha256:
            raise RequestError(
                "extensions.persistedQuery.sha256Hash is not the SHA-256 of the query "
                "(of its UTF-8 bytes, in lowercase hexadecimal)"
            )
    return _Operation(query, variables, operation_name, extensions, sha256)


def _from_query_string(request: web.Request) -> dict[str, Any]:
    data: dict[str, Any] = {
        key: request.query[key] for key in ("query", "operationName") if key in request.query
    }
    for key in ("variables", "extensions"):
        if key in request.query:
            try:
                data[key] = orjson.loads(request.query[key])
            except orjson.JSONDecodeError:
                raise RequestError(f"The {key} parameter must be JSON") from None
    return data


async def _from_body(request: web.Request) -> Any:
    media = request.content_type.lower()
    if media != JSON and not media.endswith("+json"):
        raise RequestError("POST bodies must be application/json", status=415)
    try:
        body = await read_body(request)
    except web.HTTPRequestEntityTooLarge as error:
        raise RequestError(
            f"The body is larger than {request.client_max_size} bytes", status=error.status
        ) from None
    except BadUserInput as error:
        raise RequestError(error.message) from None
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        raise RequestError("The body is not valid JSON (UTF-8, at most 1024 levels deep)") from None


async def handle(
    request: web.Request,
    schema: BaseSchema,
    context: Context,
    *,
    plans: Plans | None,
    max_batch: int,
    persisted: PersistedQueries | None = None,
) -> web.Response:
    """Answer one GraphQL-over-HTTP request."""
    media = response_media_type(request.headers.get("Accept", ""))
    if media is None:
        return _error_response(
            RequestError(f"Accept {GRAPHQL_RESPONSE} or {JSON}", status=406), JSON
        )
    try:
        if request.method == "GET":
            data: Any = _from_query_string(request)
            allowed = _QUERY_ONLY
        elif request.method == "POST":
            data = await _from_body(request)
            allowed = _ANY_OPERATION
        else:
            raise RequestError(
                "GraphQL takes GET and POST", status=405, headers={"Allow": "GET, POST"}
            )
        if isinstance(data, list):
            if not max_batch:
                raise RequestError("Batched requests are not accepted")
            if not data or len(data) > max_batch:
                raise RequestError(f"A batch holds 1 to {max_batch} requests")
            # Every item is checked before the first one runs: a refused item leaves the
            # whole batch undone.
            operations = [_operation(item, persisted) for item in data]
            bodies = [
                await _execute(schema, plans, persisted, context, op, allowed, request)
                for op in operations
            ]
            return _respond(bodies, 200, media)
        operation = _operation(data, persisted)
        body = await _execute(schema, plans, persisted, context, operation, allowed, request)
    except RequestError as error:
        return _error_response(error, media)
    request_error = "data" not in body and not _asks_for_the_text(body)
    status = 400 if media == GRAPHQL_RESPONSE and request_error else 200
    return _respond(body, status, media)


async def _execute(
    schema: BaseSchema,
    plans: Plans | None,
    persisted: PersistedQueries | None,
    context: Context,
    operation: _Operation,
    allowed: frozenset[OperationType],
    request: web.Request,
) -> dict[str, Any]:
    variables, operation_name = operation.variables, operation.operation_name
    if operation_name is not None:
        request[requestkeys.GRAPHQL_OPERATION] = operation_name
    # Only a user's request may run a plan or fill the plan cache: nothing an anonymous
    # caller sends is remembered. Only a caller with a token uses the persisted queries.
    viewer = context.viewer_or_none
    query = operation.query
    if query is None:
        if persisted is None:
            request[requestkeys.GRAPHQL_OUTCOME] = "error"
            return not_supported()
        if viewer is not None and operation.sha256 is not None:
            query = persisted.get(operation.sha256)
        if query is None:
            request[requestkeys.GRAPHQL_OUTCOME] = "error"
            return not_found()
    if (
        plans is not None
        and viewer is not None
        and viewer.has_inbox
        and (plan := await plans.get(query, operation_name)) is not None
    ):
        fast = await plans.run(plan, context, variables)
        if fast is not None:
            if "errors" in fast:  # the database was unavailable
                request[requestkeys.GRAPHQL_OUTCOME] = "error"
            _remember(persisted, operation, viewer is not None)
            return fast
    try:
        result = await schema.execute(
            query,
            variable_values=variables,
            context_value=context,
            operation_name=operation_name,
            allowed_operation_types=allowed,
            operation_extensions=operation.extensions,
        )
    except InvalidOperationTypeError as error:
        status = 405 if request.method == "GET" else 400
        raise RequestError(
            error.as_http_error_reason(request.method), status=status, headers={"Allow": "POST"}
        ) from None
    except MissingQueryError:
        raise RequestError("The request has no query") from None
    except CannotGetOperationTypeError as error:
        raise RequestError(error.as_http_error_reason()) from None
    body = _body(result)
    if "errors" in body:
        request[requestkeys.GRAPHQL_OUTCOME] = "error"
    if "data" in body:  # it parsed, kept within the limits and validated: it may be stored
        _remember(persisted, operation, viewer is not None)
    return body


def _remember(
    persisted: PersistedQueries | None, operation: _Operation, known_caller: bool
) -> None:
    """Store a text sent with its (checked) hash, once it has run, for a caller with a token."""
    if (
        persisted is not None
        and known_caller
        and operation.query is not None
        and operation.sha256 is not None
    ):
        persisted.put(operation.sha256, operation.query)


def _asks_for_the_text(body: dict[str, Any]) -> bool:
    """Whether ``body`` tells a client to send its query text (not a request error)."""
    return any(
        (error.get("extensions") or {}).get("code") in ASKING_FOR_THE_TEXT
        for error in body.get("errors") or ()
    )


def _body(result: ExecutionResult) -> dict[str, Any]:
    errors = [error.formatted for error in result.errors or ()]
    # A request error never started execution: no data entry at all, per the specification.
    request_error = result.data is None and errors and all("path" not in error for error in errors)
    body: dict[str, Any] = {} if request_error else {"data": result.data}
    if errors:
        body["errors"] = errors
    if result.extensions:
        body["extensions"] = result.extensions
    return body


def _error_response(error: RequestError, media: str) -> web.Response:
    formatted = GraphQLError(error.message, extensions={"code": "BAD_USER_INPUT"}).formatted
    response = _respond({"errors": [formatted]}, error.status, media)
    response.headers.update(error.headers)
    return response


def _respond(body: Any, status: int, media: str) -> web.Response:
    response = web.Response(
        body=orjson.dumps(body), status=status, content_type=media, charset="utf-8"
    )
    if any(_unavailable(item) for item in (body if isinstance(body, list) else [body])):
        # GraphQL reports the outage in the body; the header tells any client when to retry.
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def _unavailable(body: dict[str, Any]) -> bool:
    return any(
        (error.get("extensions") or {}).get("code") == ServiceUnavailable.code
        for error in body.get("errors") or ()
    )
