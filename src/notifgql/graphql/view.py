"""Strawberry's aiohttp view, given our context and a faster JSON encoder."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web
from strawberry.aiohttp.views import GraphQLView

from notifgql import appkeys
from notifgql.auth import Viewer, viewer_from_header
from notifgql.errors import Unauthenticated
from notifgql.graphql.context import Context


class NotifGqlView(GraphQLView[Context, None]):
    """The ``/graphql`` endpoint: POST, GET (queries only), GraphiQL, WebSocket."""

    async def get_context(
        self, request: web.Request, response: web.Response | web.WebSocketResponse
    ) -> Context:
        app = request.app
        viewer: Viewer | None = None
        error: Unauthenticated | None = None
        try:
            viewer = viewer_from_header(
                app[appkeys.SETTINGS].jwt_secret, request.headers.get("Authorization")
            )
        except Unauthenticated as exc:
            error = exc
        return Context(
            database=app[appkeys.DATABASE],
            broker=app[appkeys.BROKER],
            cursors=app[appkeys.CURSORS],
            viewer_or_none=viewer,
            auth_error=error,
        )

    def encode_json(self, data: Any) -> bytes:
        return orjson.dumps(data)
