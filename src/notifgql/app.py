"""The aiohttp application: every door on one port."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from notifgql import appkeys, inbox
from notifgql.cors import cors_middleware, parse_origins
from notifgql.db import migrate
from notifgql.db.driver_pool import asyncpg_dsn
from notifgql.db.engine import create_database
from notifgql.errors import RETRY_AFTER_SECONDS, ServiceUnavailable
from notifgql.graphiql import GraphiQL
from notifgql.graphql.compiled import Plans
from notifgql.graphql.persisted import PersistedQueries
from notifgql.graphql.schema import build_schema
from notifgql.graphql.slots import SubscriptionSlots
from notifgql.graphql.view import NotifGqlView
from notifgql.home import home
from notifgql.notifications import clock
from notifgql.notifications.broker_postgres import PostgresBroker
from notifgql.notifications.broker_redis import RedisBroker
from notifgql.notifications.changes import ChangeTokens
from notifgql.notifications.counts_hub import CountsHub, read_counts
from notifgql.notifications.local_broker import LocalBroker
from notifgql.notifications.pagination import CursorCodec
from notifgql.notifications.retention import purge_periodically
from notifgql.observability import Metrics, install_request_ids, request_middleware
from notifgql.rest import add_routes as add_rest_routes
from notifgql.settings import Settings
from notifgql.tokens import create_authenticator


def create_app(settings: Settings) -> web.Application:
    """Build the application for ``settings``; resources open and close with it."""
    install_request_ids()
    metrics = Metrics()
    middlewares = [request_middleware(metrics)]
    if origins := parse_origins(settings.cors_origins):
        middlewares.append(
            cors_middleware(origins, allow_credentials=settings.cors_allow_credentials)
        )
    app = web.Application(client_max_size=settings.max_body_bytes, middlewares=middlewares)
    app[appkeys.SETTINGS] = settings
    app[appkeys.METRICS] = metrics
    app[appkeys.CURSORS] = CursorCodec(settings.jwt_secret)
    app[appkeys.ACTIVITY_CURSORS] = CursorCodec(settings.jwt_secret, purpose="activity")
    app[appkeys.CHANGE_TOKENS] = ChangeTokens(settings.jwt_secret, settings.change_history_days)
    app[appkeys.SUBSCRIPTION_SLOTS] = SubscriptionSlots(settings.max_subscriptions_per_viewer)
    authenticator = create_authenticator(settings)
    app[appkeys.AUTHENTICATOR] = authenticator
    app.cleanup_ctx.append(_authenticator)
    app.cleanup_ctx.append(_database)
    app.cleanup_ctx.append(_broker)
    app.cleanup_ctx.append(_retention)
    app.cleanup_ctx.append(_clock)

    schema = build_schema(settings)
    app[appkeys.DOCUMENTS] = schema.documents
    plans = None
    if settings.compiled_queries:
        fallbacks = metrics.plan_fallbacks
        plans = Plans(
            schema._schema,
            schema.documents,
            on_fallback=lambda reason: fallbacks.labels(reason).inc(),
        )
    persisted = None
    if settings.persisted_queries:
        persisted = app[appkeys.PERSISTED_QUERIES] = PersistedQueries(settings.persisted_queries)
    graphiql = GraphiQL() if settings.graphiql else None
    view = NotifGqlView(
        schema=schema,
        authenticator=authenticator,
        graphiql=graphiql,
        plans=plans,
        persisted=persisted,
    )
    app.router.add_route("*", "/graphql", view)
    if graphiql is not None:
        graphiql.add_routes(app)
    app.on_shutdown.append(view.close_websockets)
    app.router.add_get("/", home)
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/readyz", _readyz)
    app.router.add_get("/metrics", _metrics)
    add_rest_routes(app)
    inbox.add_routes(app)
    return app


async def _authenticator(app: web.Application) -> AsyncIterator[None]:
    authenticator = app[appkeys.AUTHENTICATOR]
    await authenticator.open()
    yield
    await authenticator.close()


async def _database(app: web.Application) -> AsyncIterator[None]:
    settings = app[appkeys.SETTINGS]
    database = create_database(settings)
    if settings.auto_migrate:
        await migrate.upgrade(database)
    app[appkeys.DATABASE] = database
    yield
    await database.dispose()


async def _broker(app: web.Application) -> AsyncIterator[None]:
    broker = _create_broker(app[appkeys.SETTINGS])
    await broker.start()
    app[appkeys.BROKER] = broker
    counts_hub = CountsHub(broker, read_counts(app[appkeys.DATABASE]))
    app[appkeys.COUNTS_HUB] = counts_hub
    yield
    await counts_hub.close()
    await broker.stop()


async def _retention(app: web.Application) -> AsyncIterator[None]:
    """Purge periodically in the background, unless NOTIFGQL_PURGE_INTERVAL_SECONDS is 0."""
    settings = app[appkeys.SETTINGS]
    if not settings.purge_interval_seconds:
        yield
        return
    task = asyncio.create_task(
        purge_periodically(
            app[appkeys.DATABASE],
            retention_days=settings.retention_days,
            interval=settings.purge_interval_seconds,
            history_days=settings.change_history_days,
            publisher=app[appkeys.BROKER],
        ),
        name="notifgql-purge",
    )
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _clock(app: web.Application) -> AsyncIterator[None]:
    """Wake snoozes and note expiries in the background, from the start: some may be due."""
    stop = asyncio.Event()
    database = app[appkeys.DATABASE]
    task = asyncio.create_task(
        clock.run(database, app[appkeys.BROKER], stop), name="notifgql-clock"
    )
    yield
    stop.set()
    try:
        # The round in progress ends within the database's own bound, or is cut short.
        await asyncio.wait_for(asyncio.shield(task), database.timeout + 1)
    except TimeoutError:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _create_broker(settings: Settings) -> LocalBroker:
    """Redis when configured, else the database's own fan-out: LISTEN/NOTIFY or in process."""
    queue_size = settings.subscription_queue_size
    if settings.broker_url is not None:
        return RedisBroker(
            settings.broker_url,
            channel=settings.broker_channel,
            queue_size=queue_size,
            timeout=settings.db_timeout,
        )
    if not settings.is_sqlite:
        return PostgresBroker(
            asyncpg_dsn(settings.database_url),
            channel=settings.broker_channel,
            queue_size=queue_size,
            timeout=settings.db_timeout,
        )
    return LocalBroker(queue_size)


async def _metrics(request: web.Request) -> web.Response:
    app = request.app
    metrics = app[appkeys.METRICS]
    slots = app[appkeys.SUBSCRIPTION_SLOTS]
    metrics.subscriptions.set(slots.open_count)
    metrics.subscriptions_live.set(slots.live_count)
    metrics.pool_in_use.set(app[appkeys.DATABASE].connections_in_use())
    return web.Response(body=metrics.render(), headers={"Content-Type": CONTENT_TYPE_LATEST})


async def _healthz(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def _readyz(request: web.Request) -> web.Response:
    database = request.app[appkeys.DATABASE]
    try:
        database.check_storage()
    except ServiceUnavailable as error:
        # The SQLite file is gone, replaced or read-only: writes would be refused.
        return _not_ready({"status": "unavailable", "database": error.message})
    try:
        # Bounded: a probe that hangs on a frozen database is no answer at all.
        async with asyncio.timeout(request.app[appkeys.SETTINGS].db_timeout):
            revision = await migrate.current_revision(database)
    except Exception:
        return _not_ready({"status": "unavailable", "database": "unreachable"})
    head = migrate.head_revision()
    if revision != head:
        return _not_ready(
            {"status": "unavailable", "database": "migrations pending", "revision": revision}
        )
    return web.json_response({"status": "ok", "revision": revision})


def _not_ready(body: dict[str, object]) -> web.Response:
    return web.json_response(body, status=503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
