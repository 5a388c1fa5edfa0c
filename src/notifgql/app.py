"""The aiohttp application: every door on one port."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from notifgql import appkeys
from notifgql.db import migrate
from notifgql.db.engine import create_database
from notifgql.graphql.schema import build_schema
from notifgql.graphql.view import NotifGqlView
from notifgql.notifications.broker import LocalBroker
from notifgql.notifications.pagination import CursorCodec
from notifgql.rest import add_routes as add_rest_routes
from notifgql.settings import Settings


def create_app(settings: Settings) -> web.Application:
    """Build the application for ``settings``; resources open and close with it."""
    app = web.Application(client_max_size=1024 * 1024)
    app[appkeys.SETTINGS] = settings
    app[appkeys.CURSORS] = CursorCodec(settings.jwt_secret)
    app.cleanup_ctx.append(_database)
    app.cleanup_ctx.append(_broker)

    view = NotifGqlView(
        schema=build_schema(), graphql_ide="graphiql" if settings.graphiql else None
    )
    app.router.add_route("*", "/graphql", view)
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/readyz", _readyz)
    add_rest_routes(app)
    return app


async def _database(app: web.Application) -> AsyncIterator[None]:
    settings = app[appkeys.SETTINGS]
    database = create_database(settings)
    if settings.auto_migrate:
        await migrate.upgrade(database)
    app[appkeys.DATABASE] = database
    yield
    await database.dispose()


async def _broker(app: web.Application) -> AsyncIterator[None]:
    broker = LocalBroker()
    await broker.start()
    app[appkeys.BROKER] = broker
    yield
    await broker.stop()


async def _healthz(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def _readyz(request: web.Request) -> web.Response:
    database = request.app[appkeys.DATABASE]
    try:
        revision = await migrate.current_revision(database)
    except Exception:
        return web.json_response({"status": "unavailable", "database": "unreachable"}, status=503)
    head = migrate.head_revision()
    if revision != head:
        body = {"status": "unavailable", "database": "migrations pending", "revision": revision}
        return web.json_response(body, status=503)
    return web.json_response({"status": "ok", "revision": revision})
