"""The REST doors: two older APIs' dialects over the same domain layer."""

from __future__ import annotations

from aiohttp import web

from notifgql.rest import crm, jsonapi, openapi


def add_routes(app: web.Application) -> None:
    """Mount both dialects, their error renderers and their OpenAPI documents."""
    jsonapi.add_routes(app)
    crm.add_routes(app)
    openapi.add_routes(app)
