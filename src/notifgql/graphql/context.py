"""The per-request GraphQL context."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web
from strawberry.types import Info as StrawberryInfo

from notifgql.auth import Viewer
from notifgql.db.engine import Database
from notifgql.errors import ServiceUnavailable, Unauthenticated
from notifgql.graphql.slots import SubscriptionSlots
from notifgql.notifications.changes import ChangeTokens
from notifgql.notifications.counts_hub import CountsHub
from notifgql.notifications.local_broker import LocalBroker
from notifgql.notifications.pagination import CursorCodec


@dataclass(slots=True)
class Context:
    """What resolvers may use. It holds the engine, never a connection: sibling resolvers
    run concurrently and each opens its own short connection."""

    database: Database
    broker: LocalBroker
    cursors: CursorCodec
    activity_cursors: CursorCodec
    change_tokens: ChangeTokens
    counts: CountsHub
    slots: SubscriptionSlots
    viewer_or_none: Viewer | None
    # Why there is no viewer: a bad token, or an identity provider that cannot be reached.
    auth_error: Unauthenticated | ServiceUnavailable | None = None
    # A WebSocket's connection_init payload; Strawberry sets it, on_ws_connect reads it.
    connection_params: dict[str, object] | None = None
    # The connection itself, for closing it when its token expires; None over HTTP.
    websocket: web.WebSocketResponse | None = None

    @property
    def viewer(self) -> Viewer:
        """The authenticated viewer; raises UNAUTHENTICATED when the request has none."""
        if self.viewer_or_none is None:
            raise self.auth_error or Unauthenticated("Authentication required")
        return self.viewer_or_none

    @property
    def inbox_viewer(self) -> Viewer:
        """The viewer as the owner of an inbox; FORBIDDEN for a service token, before any
        input is looked at, so that the answer never depends on the arguments."""
        return self.viewer.require_inbox()


Info = StrawberryInfo[Context, None]
