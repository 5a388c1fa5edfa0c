"""The ``notifgql`` command: serve, migrate, token, export-schema."""

from __future__ import annotations

import argparse
import asyncio
import gc
import multiprocessing
import os
import signal
import socket
import sys
from collections.abc import Sequence

from aiohttp import web
from pydantic import ValidationError

from notifgql.app import create_app
from notifgql.auth import issue_token
from notifgql.db import migrate
from notifgql.db.engine import create_database
from notifgql.ids import parse_id
from notifgql.observability import configure_logging
from notifgql.settings import Settings


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``notifgql`` console script."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        settings = Settings()
    except ValidationError as error:
        print(f"notifgql: invalid settings:\n{error}", file=sys.stderr)
        return 2
    result: int = args.run(settings, args)
    return result


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="notifgql", description=__doc__)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the HTTP server")
    serve.add_argument("--host", help="interface to bind (default: NOTIFGQL_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default: NOTIFGQL_PORT or 8080)")
    serve.add_argument("--demo", action="store_true", help="load demo notifications when empty")
    serve.add_argument(
        "--workers", type=int, default=1, help="processes sharing the port (default: 1)"
    )
    serve.set_defaults(run=_serve)

    commands.add_parser("migrate", help="bring the database to the newest schema").set_defaults(
        run=_migrate
    )

    token = commands.add_parser("token", help="print one signed token")
    token.add_argument("--recipient", required=True, help="recipient id (the token's sub)")
    token.add_argument("--organization", required=True, help="organization id (the token's org)")
    token.add_argument("--role", choices=("user", "service"), default="user")
    token.add_argument("--ttl", type=int, help="seconds until it expires (default: never)")
    token.set_defaults(run=_token)

    commands.add_parser("export-schema", help="print the GraphQL SDL").set_defaults(
        run=_export_schema
    )
    return parser


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    if settings.env == "production" and (problems := settings.production_problems()):
        for problem in problems:
            print(f"notifgql: refusing to start in production: {problem}", file=sys.stderr)
        return 2
    if args.workers < 1:
        print("notifgql: --workers must be 1 or more", file=sys.stderr)
        return 2
    if args.workers > 1 and settings.is_sqlite and settings.broker_url is None:
        print(
            "notifgql: --workers > 1 needs PostgreSQL (or NOTIFGQL_BROKER_URL): on SQLite, "
            "live events are delivered in process, so extra workers would each see only "
            "their own subscribers",
            file=sys.stderr,
        )
        return 2
    configure_logging(settings.log_level)
    overrides = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    settings = settings.model_copy(update=overrides)

    # Migrations and demo data run once, here, before any worker serves.
    asyncio.run(_prepare(settings, demo=args.demo))
    settings = settings.model_copy(update={"auto_migrate": False})
    base = f"http://{settings.host}:{settings.port}"
    print(f"notifgql on {settings.database_url}, {args.workers} worker(s)")
    print(f"GraphQL endpoint and GraphiQL: {base}/graphql")
    print("Get a token: notifgql token --recipient <id> --organization <id>", flush=True)

    if args.workers == 1:
        _tune_garbage_collector()
        web.run_app(
            create_app(settings),
            host=settings.host,
            port=settings.port,
            print=None,
            access_log=None,
        )
        return 0
    return _serve_workers(settings, args.workers)


async def _prepare(settings: Settings, *, demo: bool) -> None:
    database = create_database(settings)
    try:
        if settings.auto_migrate:
            await migrate.upgrade(database)
        if demo:
            from notifgql.demo import DEMO_ORGANIZATION, DEMO_RECIPIENT, load_demo

            loaded = await load_demo(database)
            token = issue_token(
                settings.jwt_secret, subject=str(DEMO_RECIPIENT), organization_id=DEMO_ORGANIZATION
            )
            state = "loaded" if loaded else "already present"
            print(
                f"Demo inbox {state}: recipient {DEMO_RECIPIENT}, organization {DEMO_ORGANIZATION}."
            )
            print(f"Demo token (send as 'Authorization: Bearer <token>'):\n  {token}")
    finally:
        await database.dispose()


def _serve_workers(settings: Settings, workers: int) -> int:
    """Fork ``workers`` processes that accept on one shared listening socket."""
    listener = socket.create_server((settings.host, settings.port), backlog=2048)
    context = multiprocessing.get_context("fork")
    children = [
        context.Process(target=_worker, args=(settings, listener), name=f"notifgql-worker-{n}")
        for n in range(workers)
    ]
    for child in children:
        child.start()

    def stop(signum: int, _frame: object) -> None:
        for child in children:
            if child.pid is not None and child.is_alive():
                os.kill(child.pid, signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for child in children:
        child.join()
    listener.close()
    return max((child.exitcode or 0 for child in children), default=0)


def _worker(settings: Settings, listener: socket.socket) -> None:
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _tune_garbage_collector()
    web.run_app(create_app(settings), sock=listener, print=None, access_log=None)


def _tune_garbage_collector() -> None:
    """Fewer, shorter full collections for a long-lived server.

    With a thousand WebSocket subscriptions the process holds half a million objects and a
    full collection at the default thresholds paused it for 250-550 ms every few seconds
    (bench/README.md, live delivery); frozen start-up objects are never scanned again.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


def _migrate(settings: Settings, _args: argparse.Namespace) -> int:
    async def run() -> str | None:
        database = create_database(settings)
        try:
            await migrate.upgrade(database)
            return await migrate.current_revision(database)
        finally:
            await database.dispose()

    revision = asyncio.run(run())
    print(f"database at revision {revision}", file=sys.stderr)
    return 0


def _token(settings: Settings, args: argparse.Namespace) -> int:
    organization_id = parse_id(args.organization)
    if organization_id is None:
        print("notifgql: --organization must be a positive integer id", file=sys.stderr)
        return 2
    if args.role == "user" and parse_id(args.recipient) is None:
        print("notifgql: --recipient must be a positive integer id", file=sys.stderr)
        return 2
    if args.ttl is not None and args.ttl <= 0:
        print("notifgql: --ttl must be a positive number of seconds", file=sys.stderr)
        return 2
    print(
        issue_token(
            settings.jwt_secret,
            subject=args.recipient,
            organization_id=organization_id,
            role=args.role,
            ttl_seconds=args.ttl,
        )
    )
    return 0


def _export_schema(_settings: Settings, _args: argparse.Namespace) -> int:
    from notifgql.graphql.schema import export_schema

    sys.stdout.write(export_schema())
    return 0


if __name__ == "__main__":
    sys.exit(main())
