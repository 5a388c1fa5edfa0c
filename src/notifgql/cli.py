"""The ``notifgql`` command: serve, migrate, token, export-schema."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from aiohttp import web
from pydantic import ValidationError

from notifgql import appkeys
from notifgql.app import create_app
from notifgql.auth import issue_token
from notifgql.db import migrate
from notifgql.db.engine import create_database
from notifgql.ids import parse_id
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
    logging.basicConfig(level=settings.log_level.upper(), stream=sys.stderr)
    overrides = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    settings = settings.model_copy(update=overrides)
    app = create_app(settings)

    async def _announce(app: web.Application) -> None:
        if args.demo:
            from notifgql.demo import DEMO_ORGANIZATION, DEMO_RECIPIENT, load_demo

            loaded = await load_demo(app[appkeys.DATABASE])
            token = issue_token(
                settings.jwt_secret,
                subject=str(DEMO_RECIPIENT),
                organization_id=DEMO_ORGANIZATION,
            )
            state = "loaded" if loaded else "already present"
            print(
                f"Demo inbox {state}: recipient {DEMO_RECIPIENT}, organization {DEMO_ORGANIZATION}."
            )
            print(f"Demo token (send as 'Authorization: Bearer <token>'):\n  {token}")
        base = f"http://{settings.host}:{settings.port}"
        print(f"notifgql on {settings.database_url}")
        print(f"GraphQL endpoint and GraphiQL: {base}/graphql")
        print("Get a token: notifgql token --recipient <id> --organization <id>", flush=True)

    app.on_startup.append(_announce)
    web.run_app(app, host=settings.host, port=settings.port, print=None)
    return 0


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
