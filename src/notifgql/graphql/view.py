"""Strawberry's aiohttp view, given our context, WebSocket authentication and a clean close."""

from __future__ import annotations

import asyncio
import time
import weakref
from typing import Any, cast

import orjson
from aiohttp import WSCloseCode, web
from strawberry.aiohttp.views import GraphQLView
from strawberry.exceptions import ConnectionRejectionError
from strawberry.schema import BaseSchema
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.unset import UNSET, UnsetType

from notifgql import appkeys, requestkeys
from notifgql.auth import Viewer
from notifgql.errors import ServiceUnavailable, Unauthenticated
from notifgql.graphiql import GraphiQL
from notifgql.graphql import http
from notifgql.graphql.compiled import Plans
from notifgql.graphql.context import Context
from notifgql.graphql.persisted import PersistedQueries
from notifgql.graphql.ws_legacy import LegacyWSHandler
from notifgql.graphql.ws_transport import TransportWSHandler
from notifgql.tokens import Authenticator

# WebSocket pings find clients that vanished without closing (a laptop lid, a dead NAT).
HEARTBEAT_SECONDS = 30.0
# The legacy graphql-ws protocol's "ka" frame; Strawberry's default of 1 s is chatty.
LEGACY_KEEP_ALIVE_SECONDS = 15.0
# Closes a graphql-transport-ws connection whose token cannot be checked now. The protocol's
# own codes echo HTTP statuses (4400, 4401, 4403, 4429), so 503 becomes 4503; graphql-ws
# clients retry it, as they retry any code that is not one of the protocol's fatal ones.
SERVICE_UNAVAILABLE_CLOSE = 4503


class NotifGqlView(GraphQLView[Context, None]):
    """The ``/graphql`` endpoint: POST, GET (queries only), GraphiQL, WebSocket."""

    graphql_transport_ws_handler_class = TransportWSHandler
    graphql_ws_handler_class = LegacyWSHandler

    def __init__(
        self,
        schema: BaseSchema,
        *,
        authenticator: Authenticator,
        graphiql: GraphiQL | None,
        plans: Plans | None = None,
        persisted: PersistedQueries | None = None,
    ) -> None:
        # Strawberry's own GraphiQL page loads its files from a CDN: ours (graphiql) does not.
        super().__init__(schema, graphql_ide=None, keep_alive_interval=LEGACY_KEEP_ALIVE_SECONDS)
        self.graphiql = graphiql
        self.authenticator = authenticator
        self.plans = plans
        self.persisted = persisted
        self._sockets: weakref.WeakSet[web.WebSocketResponse] = weakref.WeakSet()
        self._closing: set[asyncio.Task[bool]] = set()
        # The timer that closes each socket when its token expires, cancelled if it ends first.
        self._expiries: dict[web.WebSocketResponse, asyncio.TimerHandle] = {}

    async def get_context(
        self, request: web.Request, response: web.Response | web.WebSocketResponse
    ) -> Context:
        # For a WebSocket this runs once, at the upgrade: one context per connection.
        app = request.app
        viewer: Viewer | None = None
        error: Unauthenticated | ServiceUnavailable | None = None
        try:
            viewer = await self.authenticator.viewer_from_header(
                request.headers.get("Authorization")
            )
        except (Unauthenticated, ServiceUnavailable) as exc:
            error = exc
        return Context(
            database=app[appkeys.DATABASE],
            broker=app[appkeys.BROKER],
            cursors=app[appkeys.CURSORS],
            activity_cursors=app[appkeys.ACTIVITY_CURSORS],
            change_tokens=app[appkeys.CHANGE_TOKENS],
            counts=app[appkeys.COUNTS_HUB],
            slots=app[appkeys.SUBSCRIPTION_SLOTS],
            viewer_or_none=viewer,
            auth_error=error,
            websocket=response if isinstance(response, web.WebSocketResponse) else None,
        )

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """Authenticate the connection: connection_init's Authorization, else the upgrade's.

        A refusal closes the socket: 4403 on graphql-transport-ws (4503 when the identity
        provider's keys cannot be fetched); on the legacy graphql-ws, a connection_error
        frame carrying the code, then close.
        """
        params = context.connection_params or {}
        authorization = params.get("Authorization", params.get("authorization"))
        if authorization is not None:
            try:
                given = authorization if isinstance(authorization, str) else None
                context.viewer_or_none = await self.authenticator.viewer_from_header(given)
                context.auth_error = None
            except (Unauthenticated, ServiceUnavailable) as exc:
                context.viewer_or_none, context.auth_error = None, exc
        if context.viewer_or_none is None:
            refusal = context.auth_error or Unauthenticated("Authentication required")
            socket = context.websocket
            if (
                isinstance(refusal, ServiceUnavailable)
                and socket is not None
                and socket.ws_protocol == GRAPHQL_TRANSPORT_WS_PROTOCOL
            ):
                # "Try again", not "Forbidden": the token may well be good. Strawberry's own
                # close (4403), which follows the rejection, finds the socket closed already.
                await socket.close(code=SERVICE_UNAVAILABLE_CLOSE, message=b"Service Unavailable")
            raise ConnectionRejectionError(
                {"message": refusal.message, "extensions": {"code": refusal.code}}
            )
        expires_at = context.viewer_or_none.expires_at
        if expires_at is not None and context.websocket is not None:
            self._close_at(expires_at, context.websocket)
        return cast(UnsetType, UNSET)

    def _close_at(self, expires_at: float, socket: web.WebSocketResponse) -> None:
        """Honour the token's exp on a connection that outlives it: close it then (4403)."""
        # A weak reference, so that a connection that ends first is not kept until then.
        ref = weakref.ref(socket)

        def expire() -> None:
            live = ref()
            if live is not None and not live.closed:
                task = asyncio.create_task(live.close(code=4403, message=b"Token expired"))
                self._closing.add(task)
                task.add_done_callback(self._closing.discard)

        delay = max(0.0, expires_at - time.time())
        self._expiries[socket] = asyncio.get_running_loop().call_later(delay, expire)

    async def create_websocket_response(
        self, request: web.Request, subprotocol: str | None
    ) -> web.WebSocketResponse:
        socket = web.WebSocketResponse(
            protocols=[subprotocol] if subprotocol else [], heartbeat=HEARTBEAT_SECONDS
        )
        await socket.prepare(request)
        self._sockets.add(socket)
        request[_SOCKET] = socket
        return socket

    async def close_websockets(self, _app: web.Application) -> None:
        """On shutdown, say goodbye with a close frame (1001) instead of dropping sockets."""
        await asyncio.gather(
            *(
                socket.close(code=WSCloseCode.GOING_AWAY, message=b"Server shutting down")
                for socket in list(self._sockets)
            ),
            return_exceptions=True,
        )

    async def __call__(self, request: web.Request) -> web.StreamResponse:
        # WebSocket upgrades stay Strawberry's, GraphiQL is ours (notifgql.graphiql); plain
        # HTTP follows the GraphQL-over-HTTP specification in notifgql.graphql.http.
        if _upgrading(request) and self.is_websocket_request(request):
            try:
                return await super().__call__(request)
            finally:
                socket = request.get(_SOCKET)
                if socket is not None and (timer := self._expiries.pop(socket, None)):
                    timer.cancel()
        if _wants_graphiql(request):
            if self.graphiql is not None:
                return self.graphiql.page()
            return await super().__call__(request)
        context = await self.get_context(request, web.Response())
        if context.viewer_or_none is not None:
            request[requestkeys.VIEWER] = context.viewer_or_none
        max_batch = request.app[appkeys.SETTINGS].max_batch
        return await http.handle(
            request,
            self.schema,
            context,
            plans=self.plans,
            max_batch=max_batch,
            persisted=self.persisted,
        )

    def encode_json(self, data: Any) -> str:
        # A str, not bytes: Strawberry sends bytes as binary WebSocket frames, and
        # graphql-ws clients only accept text frames.
        return orjson.dumps(data).decode()


# Where a WebSocket request keeps its socket, for the view to clean up after it.
_SOCKET = web.RequestKey("websocket", web.WebSocketResponse)


def _upgrading(request: web.Request) -> bool:
    """Whether the request asks to switch protocols: only then is it worth the full WebSocket
    handshake check, which builds a response object for every plain request."""
    return "Upgrade" in request.headers


def _wants_graphiql(request: web.Request) -> bool:
    # A GET that names a persisted query by its hash is a request, whatever it accepts.
    return (
        request.method == "GET"
        and "query" not in request.query
        and "extensions" not in request.query
        and "text/html" in request.headers.get("Accept", "")
    )
