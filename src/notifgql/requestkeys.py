"""The typed names of per-request state, read by the access log and the metrics."""

from __future__ import annotations

from aiohttp import web

from notifgql.auth import Viewer

VIEWER = web.RequestKey("viewer", Viewer)
GRAPHQL_OPERATION = web.RequestKey("graphql_operation", str)
GRAPHQL_OUTCOME = web.RequestKey("graphql_outcome", str)
