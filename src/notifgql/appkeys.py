"""The typed names of aiohttp application state; the only ones there are."""

from __future__ import annotations

from aiohttp import web

from notifgql.db.engine import Database
from notifgql.graphql.documents import Documents
from notifgql.graphql.persisted import PersistedQueries
from notifgql.graphql.slots import SubscriptionSlots
from notifgql.notifications.changes import ChangeTokens
from notifgql.notifications.counts_hub import CountsHub
from notifgql.notifications.local_broker import LocalBroker
from notifgql.notifications.pagination import CursorCodec
from notifgql.observability import Metrics
from notifgql.settings import Settings
from notifgql.tokens import Authenticator

SETTINGS = web.AppKey("settings", Settings)
DATABASE = web.AppKey("database", Database)
BROKER = web.AppKey("broker", LocalBroker)
CURSORS = web.AppKey("cursors", CursorCodec)
ACTIVITY_CURSORS = web.AppKey("activity_cursors", CursorCodec)
CHANGE_TOKENS = web.AppKey("change_tokens", ChangeTokens)
METRICS = web.AppKey("metrics", Metrics)
DOCUMENTS = web.AppKey("documents", Documents)
# Absent while NOTIFGQL_PERSISTED_QUERIES is 0.
PERSISTED_QUERIES = web.AppKey("persisted_queries", PersistedQueries)
COUNTS_HUB = web.AppKey("counts_hub", CountsHub)
SUBSCRIPTION_SLOTS = web.AppKey("subscription_slots", SubscriptionSlots)
AUTHENTICATOR = web.AppKey("authenticator", Authenticator)
