"""OpenAPI 3.1 documents of the two REST dialects, built from their own declarations.

Each dialect module declares its routes (``OPERATIONS``), query parameters (``QUERY``, from
its filter and paging tables), component schemas (``SCHEMAS``, from its field lists) and
error bodies (``error_schema``): the document is assembled from those, so a filter or a
field added there is documented without a second edit. Documents are built once per
process and served as ``application/json``: every HTTP client and JSON tool reads that
type, whereas ``application/vnd.oai.openapi+json`` is a provisional type that some clients
(and browsers, which download it) do not treat as JSON.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache
from http import HTTPStatus
from types import ModuleType
from typing import Any

import orjson
from aiohttp import web

from notifgql import __version__
from notifgql.rest import crm, jsonapi
from notifgql.rest.common import Operation, Schema

JSONAPI_PATH = "/api/v2/openapi.json"
CRM_PATH = "/openapi.json"
CONTENT_TYPE = "application/json"

_SECURITY_SCHEMES: dict[str, Any] = {
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "A user token (a service token is refused with 403).",
    },
    "token": {
        "type": "apiKey",
        "in": "header",
        "name": "X-Auth-Token",
        "description": "The same token in the older header, read when Authorization is absent.",
    },
}


def _parameters(operation: Operation, query: Mapping[str, tuple[Schema, str]]) -> list[Any]:
    found: list[Any] = [
        {
            "name": name[1:-1],
            "in": "path",
            "required": True,
            "schema": {"type": "string"},
            "description": "The notification's id; any other text is a 404.",
        }
        for name in operation.path.split("/")
        if name.startswith("{")
    ]
    for name in operation.query:
        schema, description = query[name]
        found.append({"name": name, "in": "query", "schema": schema, "description": description})
    return found


def _responses(
    operation: Operation, media_type: str, error_schema: Callable[[int], Schema]
) -> dict[str, Any]:
    success: dict[str, Any] = {"description": HTTPStatus(operation.status).phrase}
    if operation.answer is not None:
        reference = {"$ref": f"#/components/schemas/{operation.answer}"}
        success["content"] = {media_type: {"schema": reference}}
    responses: dict[str, Any] = {str(operation.status): success}
    for status in operation.errors:
        answer: dict[str, Any] = {
            "description": HTTPStatus(status).phrase,
            "content": {media_type: {"schema": error_schema(status)}},
        }
        if status == 401:
            answer["headers"] = {
                "WWW-Authenticate": {"schema": {"const": 'Bearer realm="notifgql"'}}
            }
        if status == 503:
            answer["headers"] = {"Retry-After": {"schema": {"type": "integer"}}}
        responses[str(status)] = answer
    return responses


def build(dialect: ModuleType, title: str, description: str, media_type: str) -> dict[str, Any]:
    """The OpenAPI document of ``dialect`` (jsonapi or crm)."""
    paths: dict[str, dict[str, Any]] = {}
    for operation in dialect.OPERATIONS:
        entry: dict[str, Any] = {
            "operationId": operation.operation_id,
            "summary": operation.summary,
            "parameters": _parameters(operation, dialect.QUERY),
            "responses": _responses(operation, media_type, dialect.error_schema),
        }
        if operation.body is not None:
            reference = {"$ref": f"#/components/schemas/{operation.body}"}
            entry["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": reference}},
            }
        if not entry["parameters"]:
            del entry["parameters"]
        paths.setdefault(operation.path, {})[operation.method.lower()] = entry
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": __version__, "description": description},
        "paths": paths,
        "components": {"schemas": dict(dialect.SCHEMAS), "securitySchemes": _SECURITY_SCHEMES},
        "security": [{"bearer": []}, {"token": []}],
    }


@cache
def jsonapi_document() -> bytes:
    """The JSON:API dialect's document, serialized once per process."""
    return orjson.dumps(
        build(
            jsonapi,
            "notifgql: the JSON:API dialect",
            "The older JSON:API notifications API, served over notifgql's inbox.",
            "application/vnd.api+json",
        )
    )


@cache
def crm_document() -> bytes:
    """The CRM dialect's document, serialized once per process."""
    return orjson.dumps(
        build(
            crm,
            "notifgql: the CRM dialect",
            "The older CRM notifications API, served over notifgql's inbox.",
            "application/json",
        )
    )


def _serve(document: Callable[[], bytes]) -> Callable[[web.Request], Any]:
    async def handler(_request: web.Request) -> web.Response:
        return web.Response(body=document(), content_type=CONTENT_TYPE)

    return handler


def add_routes(app: web.Application) -> None:
    """Serve both documents; they describe public routes and need no token."""
    app.router.add_get(JSONAPI_PATH, _serve(jsonapi_document))
    app.router.add_get(CRM_PATH, _serve(crm_document))
