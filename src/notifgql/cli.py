"""The notifgql command: serve, migrate, purge, token, export-schema."""

from __future__ import annotations

import argparse
import asyncio
import errno
import gc
import multiprocessing
import os
import shutil
import signal
import socket
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from aiohttp import web
from pydantic import ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from notifgql.app import create_app
from notifgql.auth import issue_token
from notifgql.db import migrate
from notifgql.db.engine import create_database
from notifgql.errors import NotifGqlError
from notifgql.hosts import is_loopback
from notifgql.ids import opaque_id_problem
from notifgql.notifications.limits import MAX_OPAQUE_ID_LENGTH
from notifgql.notifications.retention import Purged, purge
from notifgql.observability import configure_logging
from notifgql.settings import DEV_JWT_SECRET, Settings

DESCRIPTION = (
    "notifgql: a GraphQL gateway for in-app notifications. Every setting is an environment "
    "variable prefixed NOTIFGQL_ (see README.md)."
)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``notifgql`` console script."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        settings = Settings()
    except ValidationError as error:
        # One line per bad variable, without the value: it may be a password or a secret.
        for problem in error.errors(include_input=False, include_url=False):
            if not problem["loc"]:  # settings that do not go together; the message names them
                print(f"notifgql: invalid settings: {problem['msg']}", file=sys.stderr)
                continue
            name = "NOTIFGQL_" + "_".join(str(part) for part in problem["loc"]).upper()
            print(f"notifgql: invalid setting {name}: {problem['msg']}", file=sys.stderr)
        return 2
    result: int = args.run(settings, args)
    return result


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="notifgql", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"notifgql {package_version()}")
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

    commands.add_parser(
        "purge",
        help="delete expired, withdrawn and long-read notifications (NOTIFGQL_RETENTION_DAYS)",
    ).set_defaults(run=_purge)

    token = commands.add_parser("token", help="print one signed token")
    ids = f"1 to {MAX_OPAQUE_ID_LENGTH} characters, no control characters"
    token.add_argument("--recipient", required=True, help=f"recipient id, the token's sub ({ids})")
    token.add_argument(
        "--organization", required=True, help=f"organization id, the token's org ({ids})"
    )
    token.add_argument("--role", choices=("user", "service"), default="user")
    token.add_argument("--ttl", type=int, help="seconds until it expires (default: never)")
    token.set_defaults(run=_token)

    commands.add_parser("export-schema", help="print the GraphQL SDL").set_defaults(
        run=_export_schema
    )
    return parser


def package_version() -> str:
    """The installed notifgql's version, from its package metadata."""
    try:
        return version("notifgql")
    except PackageNotFoundError:  # running from a source tree that was never installed
        from notifgql import __version__

        return __version__


def redact(database_url: str) -> str:
    """``database_url`` with its password, if any, replaced by ``***``."""
    return make_url(database_url).render_as_string(hide_password=True)


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
    overrides = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    settings = settings.model_copy(update=overrides)
    if not 1 <= settings.port <= 65535:
        print(f"notifgql: port {settings.port} is out of range (1-65535)", file=sys.stderr)
        return 2
    if settings.jwt_secret == DEV_JWT_SECRET and not is_loopback(settings.host):
        print(
            f"notifgql: refusing to serve on {settings.host}: with the public development "
            "JWT secret anyone could sign tokens; set NOTIFGQL_JWT_SECRET to a secret of "
            "your own, or bind a loopback address (--host 127.0.0.1)",
            file=sys.stderr,
        )
        return 2
    try:
        listeners = _listen(settings.host, settings.port)
    except OSError as error:
        print(
            f"notifgql: cannot listen on {settings.host}:{settings.port}: {_why(error)}",
            file=sys.stderr,
        )
        return 1
    configure_logging(settings.log_level)

    # Migrations and demo data run once, here, before any worker serves.
    try:
        demo_token = asyncio.run(_prepare(settings, demo=args.demo))
    except (OSError, DBAPIError, NotifGqlError) as error:
        for listener in listeners:
            listener.close()
        print(_database_problem(settings, error), file=sys.stderr)
        return 1
    settings = settings.model_copy(update={"auto_migrate": False})
    base = f"http://{settings.host}:{settings.port}"
    print(f"notifgql on {redact(settings.database_url)}, {args.workers} worker(s)")
    print(f"GraphQL endpoint and GraphiQL: {base}/graphql")
    if demo_token is not None:
        print(f"Demo inbox in your browser: {base}/inbox#token={demo_token}")
    print(f"Get a token: {_command_name()} token --recipient <id> --organization <id>", flush=True)

    if args.workers == 1:
        _tune_garbage_collector()
        web.run_app(create_app(settings), sock=listeners, print=None, access_log=None)
        return 0
    return _serve_workers(settings, listeners, args.workers)


def _listen(host: str, port: int) -> list[socket.socket]:
    """Listening sockets on every address ``host`` names (bound here, before any work)."""
    addresses = list(
        dict.fromkeys(
            (family, address[:2])
            for family, _, _, _, address in socket.getaddrinfo(
                host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
            )
        )
    )
    listeners: list[socket.socket] = []
    try:
        for family, address in addresses:
            listener = socket.create_server(address, family=family, backlog=2048)
            listeners.append(listener)
    except OSError:
        for listener in listeners:
            listener.close()
        raise
    return listeners


def _why(error: OSError) -> str:
    """A short, human reason for a socket or connection error."""
    reasons = {
        errno.EADDRINUSE: "the port is already in use (is another server running?)",
        errno.EADDRNOTAVAIL: "this machine has no such address",
        errno.EACCES: "permission denied (ports below 1024 need privileges)",
        errno.ECONNREFUSED: "connection refused",
    }
    if isinstance(error, socket.gaierror):
        return "unknown host name"
    if isinstance(error, TimeoutError):
        return "no answer in time"
    if error.errno in reasons:
        return reasons[error.errno]
    return error.strerror or str(error) or type(error).__name__


def _database_problem(settings: Settings, error: OSError | DBAPIError | NotifGqlError) -> str:
    """One line saying which database could not be used, and why (never its password)."""
    if isinstance(error, OSError):
        reason = _why(error)
    elif isinstance(error, NotifGqlError):
        # Already classified by the engine (unavailable, storage fault): its message is safe.
        reason = error.message
    else:
        # The driver's own message, first line only: the rest is SQL and a help link.
        reason = str(error.orig).splitlines()[0] if error.orig is not None else ""
        reason = reason.split(">: ", 1)[-1] or type(error).__name__
    return f"notifgql: cannot use the database {redact(settings.database_url)}: {reason}"


def _command_name() -> str:
    """How to run this command from here: plain ``notifgql`` when it is on the PATH."""
    beside = Path(sys.executable).parent / "notifgql"
    if not beside.exists() or shutil.which("notifgql") == str(beside):
        return "notifgql"
    try:
        return str(beside.relative_to(Path.cwd()))
    except ValueError:
        return str(beside)


async def _prepare(settings: Settings, *, demo: bool) -> str | None:
    """Migrate, and load the demo inbox with ``demo``: its token, or None."""
    database = create_database(settings)
    try:
        if settings.auto_migrate:
            await migrate.upgrade(database)
        if demo:
            from notifgql.demo import DEMO_ORGANIZATION, DEMO_RECIPIENT, load_demo

            loaded = await load_demo(database)
            token = issue_token(
                settings.jwt_secret, subject=DEMO_RECIPIENT, organization_id=DEMO_ORGANIZATION
            )
            state = "loaded" if loaded else "already present"
            print(
                f"Demo inbox {state}: recipient {DEMO_RECIPIENT}, organization {DEMO_ORGANIZATION}."
            )
            print(f"Demo token (send as 'Authorization: Bearer <token>'):\n  {token}")
            return token
        return None
    finally:
        await database.dispose()


def _serve_workers(settings: Settings, listeners: list[socket.socket], workers: int) -> int:
    """Fork ``workers`` processes that accept on the same listening sockets."""
    context = multiprocessing.get_context("fork")
    children = [
        context.Process(target=_worker, args=(settings, listeners), name=f"notifgql-worker-{n}")
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
    for listener in listeners:
        listener.close()
    return max((child.exitcode or 0 for child in children), default=0)


def _worker(settings: Settings, listeners: list[socket.socket]) -> None:
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _tune_garbage_collector()
    web.run_app(create_app(settings), sock=listeners, print=None, access_log=None)


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

    try:
        revision = asyncio.run(run())
    except (OSError, DBAPIError, NotifGqlError) as error:
        print(_database_problem(settings, error), file=sys.stderr)
        return 1
    print(f"database at revision {revision}", file=sys.stderr)
    return 0


def _purge(settings: Settings, _args: argparse.Namespace) -> int:
    head = migrate.head_revision()
    url = make_url(settings.database_url)
    if (
        settings.is_sqlite
        and url.database not in (None, "", ":memory:")
        and not Path(str(url.database)).exists()
    ):
        # Opening it would create an empty file where the operator expected their data.
        print(
            f"notifgql: cannot use the database {redact(settings.database_url)}: no such file",
            file=sys.stderr,
        )
        return 1

    async def run() -> tuple[str | None, Purged | None]:
        database = create_database(settings)
        try:
            # Purging an older schema would miss tables; changing it is migrate's job.
            revision = await migrate.current_revision(database)
            if revision != head:
                return revision, None
            purged = await purge(
                database,
                retention_days=settings.retention_days,
                history_days=settings.change_history_days,
            )
            return revision, purged
        finally:
            await database.dispose()

    try:
        revision, purged = asyncio.run(run())
    except (OSError, DBAPIError, NotifGqlError) as error:
        print(_database_problem(settings, error), file=sys.stderr)
        return 1
    if revision != head:
        print(
            f"notifgql: the database {redact(settings.database_url)} is at revision "
            f"{revision or 'none'}, not {head}: run notifgql migrate first",
            file=sys.stderr,
        )
        return 1
    if purged is None:
        print(
            "notifgql: another process is purging this database; try again later", file=sys.stderr
        )
        return 1
    print(
        f"purged notifications={purged.notifications} activities={purged.activities} "
        f"idempotency_keys={purged.idempotency_keys} removals={purged.removals}"
    )
    return 0


def _token(settings: Settings, args: argparse.Namespace) -> int:
    for option, value in (("--recipient", args.recipient), ("--organization", args.organization)):
        problem = opaque_id_problem(value)
        if problem is not None:
            print(f"notifgql: {option} {problem}", file=sys.stderr)
            return 2
    if args.ttl is not None and args.ttl <= 0:
        print("notifgql: --ttl must be a positive number of seconds", file=sys.stderr)
        return 2
    print(
        issue_token(
            settings.jwt_secret,
            subject=args.recipient,
            organization_id=args.organization,
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
