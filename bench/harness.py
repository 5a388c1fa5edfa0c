"""bench/run's engine: dataset, servers, verification, load, report.

Run through ``bench/run`` (which provides the venv, wrk and PostgreSQL); ``bench/run --help``
lists the options. See bench/README.md for what is measured and how.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import re
import secrets
import signal
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import orjson

from bench import dataset, loadgen, pgcluster, procstat, profile, report
from bench.dataset import Inbox, Layout, Preset
from notifgql.auth import Viewer
from notifgql.notifications.changes import ChangeTokens
from notifgql.notifications.changes import Position as ChangePosition

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
WORK = BENCH / ".work"
PROFILES = BENCH / "profiles"
VENV_BIN = Path(sys.executable).parent
CONNECTIONS = 32
DEEP_OFFSET = 10_000
PAGE = 30
SETTLE = 0.05  # seconds between two runs: the previous server answers what wrk left in flight
# What the quick run keeps for markAllSeen, createNotification and stopping, out of its budget,
# and what it keeps besides for the publish scenarios when they run.
RESERVE_S = 22.0
TABS_RESERVE_S = 12.0
CHANGES_RESERVE_S = 12.0
PUBLISH_RESERVE_S = 18.0

NODE_FIELDS = (
    "id title description excerpt targetType targetId targetTitle targetLabel parentType "
    "parentId parentTitle rootType rootId projectId resource reason read readAt seen seenAt "
    "dismissed dismissedAt important mention actionRequired madeByAutomation "
    "newActivitiesCount firstUnreadActivityId changeset lastActionAt createdAt organizationId "
    "recipientId actor { id name }"
)
LIST_QUERY = (
    "query List($first: Int, $after: String) { notifications(first: $first, after: $after) "
    f"{{ edges {{ cursor node {{ {NODE_FIELDS} }} }} "
    "pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }"
)
WALK_QUERY = (
    "query Walk($first: Int, $after: String) { notifications(first: $first, after: $after) "
    "{ pageInfo { endCursor } } }"
)
COUNTS_QUERY = (
    "query Counts { notificationCounts { total unread unseen important mentions actionRequired } }"
)
# A tabbed inbox's badges: one aliased count per tab, by category (see dataset.CATEGORIES).
TABS = tuple(dataset.CATEGORIES)


def tabs_query(tabs: Sequence[str]) -> str:
    """One request with each tab's unread badge."""
    counts = " ".join(
        f'{tab}: notificationCounts(filter: {{category: "{tab}"}}) {{ unread }}' for tab in tabs
    )
    return f"query Tabs {{ {counts} }}"


# The change feed after CHANGES changes in a whale inbox, every Notification field. Like
# the list's page 1 (no totalCount), it leaves out the counts, which a client keeping its
# copy up to date from the changes does not need, and which cost as much as counting the
# inbox anywhere.
CHANGES = 100
CHANGES_QUERY = (
    "query Changes($since: String) { inboxChanges(since: $since) "
    f"{{ changed {{ {NODE_FIELDS} }} removed next hasMore }} }}"
)
TOGGLE_QUERY = "mutation Toggle($id: ID!) {{ {}(id: $id) {{ id }} }}"
TAB_QUERY = tabs_query(TABS[:1])
TABS_QUERY = tabs_query(TABS)
MARK_QUERY = "mutation MarkAllSeen { markAllSeen { count } }"
CREATE_QUERY = (
    "mutation Create($input: CreateNotificationInput!) "
    "{ createNotification(input: $input) { id createdAt } }"
)
PUBLISH_QUERY = (
    "mutation Publish($input: PublishInput!) "
    "{ publish(input: $input) { created updated activityId } }"
)
PUBLISH_MANY = 1_000  # recipients of the one-call publish
GROUPED = 100  # recipients of the grouped publish, every one an update
# markAllSeen, as notifgql sends it: in one transaction, first the inbox's next version
# (notifgql's bump, the ceiling's BUMP_SQL: $1 organization, $3 the recipients; $2, $4: 1),
# which locks the inbox's row until the commit, then the UPDATE stamping the rows with it.
BARE_BUMP_SQL = (
    "INSERT INTO inboxes (organization_id, recipient_id, version) SELECT $1::VARCHAR AS anon_1, "
    "anon_2.value, $2::INTEGER AS anon_3 \nFROM unnest($3::TEXT[]) AS anon_2(value) \n"
    "WHERE anon_2.value IS NOT NULL ORDER BY anon_2.value ON CONFLICT (organization_id, "
    "recipient_id) DO UPDATE SET version = (inboxes.version + $4::BIGINT) "
    "RETURNING inboxes.recipient_id, inboxes.version"
)
# markAllSeen's UPDATE: the inbox's unseen rows, locked in id order first ($1: now, $2: the
# version, $5: now).
_MARKED = (
    "notifications.organization_id = $3::VARCHAR AND notifications.recipient_id = $4::VARCHAR "
    "AND notifications.withdrawn_at IS NULL AND (notifications.expires_at IS NULL OR "
    "notifications.expires_at > $5::TIMESTAMP WITH TIME ZONE) AND "
    "(notifications.snoozed_until IS NULL OR "
    "notifications.snoozed_until <= $5::TIMESTAMP WITH TIME ZONE) AND notifications.seen_at IS NULL"
)
BARE_MARK_SQL = (
    "UPDATE notifications SET seen_at=$1::TIMESTAMP WITH TIME ZONE, change_version=$2::BIGINT "
    f"WHERE notifications.id IN (SELECT notifications.id \nFROM notifications \nWHERE {_MARKED} "
    f"ORDER BY notifications.id FOR UPDATE) AND {_MARKED}"
)
TOKENS_SCRIPT = """
import contextlib, io, sys
from notifgql.cli import main
for line in sys.stdin:
    recipient, organization, role = line.split()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["token", "--recipient", recipient, "--organization", organization,
                     "--role", role])
    if code:
        sys.exit(code)
    print(out.getvalue().strip(), flush=True)
"""


class BenchFailure(Exception):
    """Something that makes the figures meaningless: stop, loudly."""


def say(message: str) -> None:
    """Progress, on stderr (stdout carries the results)."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True, slots=True)
class Config:
    """How long and how big."""

    quick: bool
    preset: Preset
    warmup: int  # seconds of wrk per target before each scenario's rounds
    seconds: int  # seconds of each measured wrk run
    rounds: int  # rounds of the headline scenarios (list, counts, deep; jsonapi in quick)
    other_rounds: int  # rounds of the others
    other_seconds: int
    mark_trials: int
    # publish to 1 recipient: rounds of `other_seconds` runs; to 1,000 recipients and to an
    # existing group of 100: timed calls per side, one at a time.
    publish_rounds: int
    publish_trials: int
    tabs_rounds: int  # rounds of `other_seconds` runs: one tab's badge against five tabs'
    grouped_trials: int
    profile: bool
    # Quick: every round runs each headline scenario's servers A B B A (a ratio per round
    # that a linear drift cannot bias), and the scenarios take turns within each round, so
    # a burst of outside load spoils a round of each rather than every round of one.
    # Full: a round is one run per server, the order alternating from round to round.
    abba: bool = False
    budget_s: float | None = None  # the whole run, from start to last line
    profile_seconds: int = 10
    write_readme: bool = False
    scenarios: tuple[str, ...] = ()

    @staticmethod
    def make(args: argparse.Namespace) -> Config:
        """The preset the command line asks for, with its overrides."""
        if args.quick:
            # Many short rounds rather than a few long ones: on a shared 2-core machine the
            # outside load changes within seconds, a ratio of two runs a second apart sees
            # almost the same machine, and the median over rounds drops the rounds that a
            # burst hit on one side only. 2½ to 2¾ minutes, never over 3 (see bench/README.md).
            config = Config(
                quick=True,
                preset=dataset.QUICK,
                warmup=1,
                seconds=1,
                rounds=7,
                other_rounds=1,
                other_seconds=1,
                mark_trials=2,
                publish_rounds=2,
                publish_trials=2,
                tabs_rounds=3,
                grouped_trials=5,
                profile=False,
                abba=True,
                budget_s=180.0,
            )
        else:
            config = Config(
                quick=False,
                preset=dataset.FULL,
                warmup=5,
                seconds=8,
                rounds=5,
                other_rounds=3,
                other_seconds=8,
                mark_trials=5,
                publish_rounds=3,
                publish_trials=7,
                tabs_rounds=3,
                grouped_trials=15,
                profile=True,
                write_readme=True,
            )
        changes: dict[str, Any] = {}
        if args.rounds is not None:
            changes |= {
                "rounds": args.rounds,
                "other_rounds": args.rounds,
                "publish_rounds": args.rounds,
                "tabs_rounds": args.rounds,
            }
        if args.seconds is not None:
            changes |= {"seconds": args.seconds, "other_seconds": args.seconds}
        if args.profile is not None:
            changes["profile"] = args.profile
        if args.readme is not None:
            changes["write_readme"] = args.readme
        if args.only:
            changes["scenarios"] = tuple(args.only.split(","))
        return replace(config, **changes)

    def wants(self, scenario: str) -> bool:
        """Whether ``scenario`` runs (all of them unless --only names some)."""
        return not self.scenarios or scenario in self.scenarios

    def wants_publish(self) -> bool:
        """Whether any of the publish scenarios runs."""
        return any(self.wants(name) for name in ("publish", "publish1000", "grouped"))


@dataclass(frozen=True, slots=True)
class Sample:
    """One measured wrk run against one server."""

    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    requests: int
    errors: int
    cpu_us_per_request: float | None
    db_cpu_us_per_request: float | None
    rss_mb: float | None


@dataclass
class Server:
    """A server process this run started (in its own process group)."""

    name: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        """Base URL."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        """The process id (the root of its tree, for CPU and memory)."""
        return self.process.pid

    def stop(self) -> None:
        """Interrupt the server's process group; kill it if it lingers."""
        if self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGINT)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)


@dataclass
class Database:
    """Where the dataset lives."""

    url: str  # postgresql+asyncpg://... for notifgql
    postmaster_pid: int | None
    version: str = ""

    @property
    def dsn(self) -> str:
        """The same, for asyncpg."""
        return self.url.replace("postgresql+asyncpg://", "postgresql://", 1)


@dataclass
class Results:
    """Everything measured, as written to bench/.work/results-<preset>.json."""

    meta: dict[str, Any] = field(default_factory=dict)
    checks: dict[str, Any] = field(default_factory=dict)
    scenarios: dict[str, dict[str, list[Sample]]] = field(default_factory=dict)
    mark_all_seen: dict[str, Any] = field(default_factory=dict)
    # "publish1000" and "grouped": per side its timed calls (ms) and the per-trial ratios.
    publish_latency: dict[str, dict[str, Any]] = field(default_factory=dict)
    workers: dict[str, Any] = field(default_factory=dict)
    profile: dict[str, Any] = field(default_factory=dict)
    # Per scenario, its ratio (report.RATIOS) in each round, in round order.
    rounds: dict[str, list[float]] = field(default_factory=dict)
    # Per scenario, the cores other processes kept busy on average during its rounds.
    outside_cores: dict[str, float] = field(default_factory=dict)


# --------------------------------------------------------------------------- the database


@contextlib.contextmanager
def database(config: Config) -> Iterator[Database]:
    """The PostgreSQL the run uses: NOTIFGQL_BENCH_POSTGRES_URL, or one started here."""
    given = os.environ.get("NOTIFGQL_BENCH_POSTGRES_URL")
    if given:
        url = re.sub(r"^postgres(ql)?(\+asyncpg)?://", "postgresql+asyncpg://", given)
        say(f"using the PostgreSQL database given by NOTIFGQL_BENCH_POSTGRES_URL ({url})")
        yield Database(url=url, postmaster_pid=None)
        return
    cluster = pgcluster.Cluster(WORK)
    where = cluster.dir if cluster.persistent else f"{cluster.dir} (temporary)"
    say(f"starting PostgreSQL in {where} on port {cluster.port}")
    cluster.start()
    try:
        name = f"notifgql_bench_{config.preset.name}"

        async def create() -> None:
            conn = await asyncpg.connect(cluster.url().replace("+asyncpg", ""))
            try:
                exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
                if not exists:
                    await conn.execute(f'CREATE DATABASE "{name}"')
            finally:
                await conn.close()

        asyncio.run(create())
        yield Database(url=cluster.url(name), postmaster_pid=cluster.postmaster_pid())
    finally:
        say("stopping PostgreSQL")
        cluster.remove()


def notifgql_env(db: Database, secret: str) -> dict[str, str]:
    """The environment of every notifgql command: only the settings named here."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("NOTIFGQL_")}
    env |= {
        "NOTIFGQL_DATABASE_URL": db.url,
        "NOTIFGQL_JWT_SECRET": secret,
        "NOTIFGQL_DB_POOL_SIZE": str(CONNECTIONS),
        "NOTIFGQL_LOG_LEVEL": "WARNING",
    }
    return env


def prepare(db: Database, preset: Preset, env: dict[str, str]) -> tuple[Layout, bool]:
    """``notifgql migrate``, pg_stat_statements where possible, then the dataset."""
    migrated = subprocess.run(
        [str(VENV_BIN / "notifgql"), "migrate"], env=env, capture_output=True, text=True
    )
    if migrated.returncode != 0:
        raise BenchFailure(f"notifgql migrate failed:\n{migrated.stdout}{migrated.stderr}")

    async def extension() -> tuple[bool, str]:
        conn = await asyncpg.connect(db.dsn)
        try:
            version = str(await conn.fetchval("SHOW server_version"))
            try:
                await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
                await conn.fetchval("SELECT count(*) FROM pg_stat_statements")
            except asyncpg.PostgresError:
                return False, version
            return True, version
        finally:
            await conn.close()

    has_statements, db.version = asyncio.run(extension())
    layout, generated = asyncio.run(dataset.ensure(db.dsn, preset, log=say))
    say(("generated" if generated else "reusing") + f" the {preset.name} dataset")
    return layout, has_statements


# --------------------------------------------------------------------------- HTTP helpers


def http(
    url: str, *, token: str | None, body: dict[str, Any] | None = None, method: str = "POST"
) -> tuple[int, bytes]:
    """One request; (status, body)."""
    headers = {"Content-Type": "application/json"} if body is not None else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = orjson.dumps(body) if body is not None else None
    request = urllib.request.Request(url, data=data, headers=headers, method=method)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def graphql(url: str, token: str, query: str, variables: dict[str, Any] | None = None) -> Any:
    """A GraphQL request that must succeed; its ``data``."""
    body: dict[str, Any] = {"query": query}
    if variables is not None:
        body["variables"] = variables
    status, raw = http(url, token=token, body=body)
    document = orjson.loads(raw)
    if status != 200 or document.get("errors"):
        raise BenchFailure(f"{url} answered {status}: {raw[:500]!r}")
    return document["data"]


def data_bytes(raw: bytes) -> bytes:
    """The bytes of a GraphQL response's ``data`` member, exactly as the server wrote them."""
    document = orjson.loads(raw)
    prefix = b'{"data":'
    if list(document) == ["data"] and raw.startswith(prefix) and raw.endswith(b"}"):
        return raw[len(prefix) : -1]
    if "data" not in document or document.get("errors"):
        raise BenchFailure(f"not a successful GraphQL response: {raw[:500]!r}")
    # Other top-level members (extensions): compare data alone, re-encoded.
    return orjson.dumps(document["data"])


def wait_ready(server: Server, path: str = "/healthz", timeout: float = 90) -> None:
    """Until the server answers 200 on ``path``; fail if it exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise BenchFailure(f"{server.name} exited; see {server.log}")
        with contextlib.suppress(OSError):
            status, _ = http(server.url + path, token=None, method="GET")
            if status == 200:
                return
        time.sleep(0.2)
    raise BenchFailure(f"{server.name} did not become ready; see {server.log}")


# --------------------------------------------------------------------------- the run


@dataclass
class Requests:
    """The request files each scenario replays, per server."""

    files: dict[str, Path] = field(default_factory=dict)

    def write(self, name: str, lines: Sequence[tuple[str, str, str, bytes]]) -> Path:
        """One file: METHOD, PATH, TOKEN, BODY per line."""
        folder = WORK / "requests"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name}.tsv"
        with path.open("wb") as out:
            for method, target, token, body in lines:
                out.write(f"{method}\t{target}\t{token}\t".encode() + body + b"\n")
        self.files[name] = path
        return path


class Bench:
    """One run of the benchmark."""

    def __init__(
        self,
        config: Config,
        db: Database,
        layout: Layout,
        env: dict[str, str],
        started: float | None = None,
    ) -> None:
        self.config = config
        self.db = db
        self.layout = layout
        self.env = env
        self.servers: list[Server] = []
        self.requests = Requests()
        self.results = Results()
        self.tokens: dict[tuple[int, int], str] = {}
        self.service_tokens: dict[int, str] = {}
        self.deep_cursors: dict[tuple[int, int], str] = {}
        self.change_positions: dict[tuple[str, str], str] = {}
        # The organization each side publishes into: neither pays for the other's rows.
        orgs = sorted({inbox.organization_id for inbox in layout.viewers})
        self.publish_orgs = {"notifgql": orgs[0], "ceiling": orgs[1]}
        self.max_id = 0
        self.started = time.monotonic() if started is None else started

    # ---------------------------------------------------------------- servers

    def start(self, name: str, command: list[str], *, cwd: Path = ROOT) -> Server:
        """Start a server in its own process group, output to bench/.work/logs."""
        port = pgcluster.free_port()
        logs = WORK / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        log = logs / f"{name}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [*command, "--port", str(port)],
                cwd=cwd,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        server = Server(name=name, port=port, process=process, log=log)
        self.servers.append(server)
        wait_ready(server)
        return server

    def start_notifgql(self, name: str, *extra: str) -> Server:
        """``notifgql serve`` as it is deployed."""
        return self.start(name, [str(VENV_BIN / "notifgql"), "serve", *extra])

    def start_ceiling(self) -> Server:
        """The minimal aiohttp + asyncpg + orjson server."""
        return self.start("ceiling", ceiling_command(self.db.dsn))

    def stop_all(self) -> None:
        """Stop every server this run started."""
        for server in reversed(self.servers):
            server.stop()
        self.servers.clear()

    # ---------------------------------------------------------------- inputs

    def make_tokens(self) -> None:
        """Tokens for every viewer, whale and the markAllSeen inbox, via ``notifgql token``."""
        # The command itself once (the contract's CLI), and its code path in one process
        # for the thousands of others, concurrently.
        single = subprocess.Popen(
            [str(VENV_BIN / "notifgql"), "token", "--recipient", "1", "--organization", "1"],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        inboxes = [*self.layout.viewers, *self.layout.whales, self.layout.mark_inbox]
        organizations = sorted({inbox.organization_id for inbox in self.layout.viewers})
        lines = [f"{i.recipient_id} {i.organization_id} user" for i in inboxes]
        lines += [f"bench-publisher {org} service" for org in organizations]
        made = subprocess.run(
            [sys.executable, "-c", TOKENS_SCRIPT],
            input="\n".join(lines) + "\n",
            env=self.env,
            capture_output=True,
            text=True,
        )
        out, err = single.communicate(timeout=120)
        if single.returncode != 0 or out.count(".") != 2:
            raise BenchFailure(f"notifgql token failed: {out}{err}")
        tokens = made.stdout.split()
        if made.returncode != 0 or len(tokens) != len(lines):
            raise BenchFailure(f"making tokens failed: {made.stderr[-2000:]}")
        for inbox, token in zip(inboxes, tokens, strict=False):
            self.tokens[(inbox.organization_id, inbox.recipient_id)] = token
        for org, token in zip(organizations, tokens[len(inboxes) :], strict=True):
            self.service_tokens[org] = token

    def token(self, inbox: Inbox) -> str:
        """The user token of ``inbox``."""
        return self.tokens[(inbox.organization_id, inbox.recipient_id)]

    def make_changes(self, notifgql: Server) -> None:
        """A change-feed position in each whale inbox, then CHANGES changes after it.

        The position is the inbox's current end, sealed as notifgql seals it (the bench
        shares the server's secret): reaching it through the API would page 50,000
        notifications. Each change toggles the read state of one notification of page 1.
        """
        tokens = ChangeTokens(self.env["NOTIFGQL_JWT_SECRET"], history_days=30)

        async def current_versions() -> dict[tuple[str, str], int]:
            conn = await asyncpg.connect(self.db.dsn)
            try:
                rows = await conn.fetch(
                    "SELECT organization_id, recipient_id, version FROM inboxes"
                )
            finally:
                await conn.close()
            return {(row[0], row[1]): int(row[2]) for row in rows}

        versions = asyncio.run(current_versions())
        for whale in self.layout.whales:
            key = (whale.organization_id, whale.recipient_id)
            viewer = Viewer(
                subject=whale.recipient_id, organization_id=whale.organization_id, role="user"
            )
            position = ChangePosition(versions.get(key, 0), 2**63 - 1)
            self.change_positions[key] = tokens.encode(viewer, position, datetime.now(UTC))
            token = self.token(whale)
            listed = graphql(
                notifgql.url + "/graphql",
                token,
                "query($n: Int) { notifications(first: $n) { nodes { id read } } }",
                {"n": CHANGES},
            )
            for node in listed["notifications"]["nodes"]:
                mutation = "unreadNotification" if node["read"] else "readNotification"
                graphql(
                    notifgql.url + "/graphql",
                    token,
                    TOGGLE_QUERY.format(mutation),
                    {"id": node["id"]},
                )
            found = graphql(
                notifgql.url + "/graphql",
                token,
                CHANGES_QUERY,
                {"since": self.change_positions[key]},
            )["inboxChanges"]
            if len(found["changed"]) != CHANGES or found["hasMore"] or found["removed"]:
                raise BenchFailure(
                    f"the change feed after {CHANGES} changes answered {len(found['changed'])} "
                    f"changed, {len(found['removed'])} removed, hasMore {found['hasMore']}"
                )
        say(f"{CHANGES} changes made in each whale inbox; the feed reports each once")

    def walk_cursors(self, notifgql: Server) -> None:
        """The cursor DEEP_OFFSET items down each whale inbox, paging notifgql itself."""
        for whale in self.layout.whales:
            cursor: str | None = None
            for _ in range(DEEP_OFFSET // 200):
                variables = {"first": 200, "after": cursor}
                found = graphql(notifgql.url + "/graphql", self.token(whale), WALK_QUERY, variables)
                cursor = found["notifications"]["pageInfo"]["endCursor"]
            assert cursor is not None
            self.deep_cursors[(whale.organization_id, whale.recipient_id)] = cursor

    def write_requests(self) -> None:
        """The request files of every scenario."""

        def gql(query: str, variables: dict[str, Any] | None = None) -> bytes:
            body: dict[str, Any] = {"query": query}
            if variables is not None:
                body["variables"] = variables
            return orjson.dumps(body)

        viewers = self.layout.viewers
        whales = self.layout.whales
        listing = [(self.token(v), gql(LIST_QUERY, {"first": PAGE})) for v in viewers]
        counts = [(self.token(v), gql(COUNTS_QUERY)) for v in viewers]
        page1 = [(self.token(w), gql(LIST_QUERY, {"first": PAGE})) for w in whales]
        deep = [
            (
                self.token(w),
                gql(
                    LIST_QUERY,
                    {
                        "first": PAGE,
                        "after": self.deep_cursors[(w.organization_id, w.recipient_id)],
                    },
                ),
            )
            for w in whales
        ]
        publishers = viewers[:200]
        create = [
            (self.service_tokens[v.organization_id], gql(CREATE_QUERY, {"input": new_input(v, n)}))
            for n, v in enumerate(publishers)
        ]
        write = self.requests.write
        write("list.notifgql", [("POST", "/graphql", t, b) for t, b in listing])
        write("list.ceiling", [("POST", "/graphql/list", t, b) for t, b in listing])
        write("counts.notifgql", [("POST", "/graphql", t, b) for t, b in counts])
        write("counts.ceiling", [("POST", "/graphql/counts", t, b) for t, b in counts])
        write(
            "tabs1.notifgql", [("POST", "/graphql", self.token(v), gql(TAB_QUERY)) for v in viewers]
        )
        write(
            "tabs5.notifgql",
            [("POST", "/graphql", self.token(v), gql(TABS_QUERY)) for v in viewers],
        )
        write("page1.notifgql", [("POST", "/graphql", t, b) for t, b in page1])
        if self.change_positions:
            feed = [
                (
                    self.token(w),
                    gql(
                        CHANGES_QUERY,
                        {"since": self.change_positions[(w.organization_id, w.recipient_id)]},
                    ),
                )
                for w in whales
            ]
            write("changes.notifgql", [("POST", "/graphql", t, b) for t, b in feed])
        write("deep.notifgql", [("POST", "/graphql", t, b) for t, b in deep])
        write("page1.ceiling", [("POST", "/graphql/list", t, b) for t, b in page1])
        write("deep.ceiling", [("POST", "/graphql/list", t, b) for t, b in deep])
        jsonapi = [("GET", "/api/v2/notifications", self.token(v), b"") for v in viewers]
        write("jsonapi.notifgql", jsonapi)
        write("jsonapi.ceiling", jsonapi)
        write("create.notifgql", [("POST", "/graphql", t, b) for t, b in create])
        write("create.ceiling", [("POST", "/graphql/create", t, b) for t, b in create])
        for side, route in (("notifgql", "/graphql"), ("ceiling", "/graphql/publish")):
            token = self.service_tokens[self.publish_orgs[side]]
            lines = [
                ("POST", route, token, gql(PUBLISH_QUERY, {"input": publish_input([r], n)}))
                for n, r in enumerate(v.recipient_id for v in publishers)
            ]
            write(f"publish.{side}", lines)

    # ---------------------------------------------------------------- checks

    def verify(self, notifgql: Server, ceiling: Server) -> None:
        """The ceiling must answer exactly what notifgql answers: data bytes compared."""
        viewers = sorted(self.layout.viewers, key=lambda inbox: inbox.size)
        small, large = viewers[0], viewers[-1]
        whale = self.layout.whales[0]
        cases: list[tuple[str, Inbox, str, str, dict[str, Any] | None]] = [
            (f"list, inbox of {large.size}", large, "/graphql/list", LIST_QUERY, {"first": PAGE}),
            (f"list, inbox of {small.size}", small, "/graphql/list", LIST_QUERY, {"first": PAGE}),
            ("list, first 200", large, "/graphql/list", LIST_QUERY, {"first": 200}),
            (
                f"list, {DEEP_OFFSET:,} deep",
                whale,
                "/graphql/list",
                LIST_QUERY,
                {
                    "first": PAGE,
                    "after": self.deep_cursors[(whale.organization_id, whale.recipient_id)],
                },
            ),
            ("counts", large, "/graphql/counts", COUNTS_QUERY, None),
        ]
        checked = []
        for label, inbox, route, query, variables in cases:
            body: dict[str, Any] = {"query": query}
            if variables is not None:
                body["variables"] = variables
            token = self.token(inbox)
            status_a, raw_a = http(notifgql.url + "/graphql", token=token, body=body)
            status_b, raw_b = http(ceiling.url + route, token=token, body=body)
            if status_a != 200 or status_b != 200:
                raise BenchFailure(
                    f"verification of {label}: notifgql {status_a}, ceiling {status_b}:\n"
                    f"{raw_a[:400]!r}\n{raw_b[:400]!r}"
                )
            same(label, data_bytes(raw_a), data_bytes(raw_b))
            checked.append(f"{label} ({len(raw_a):,} bytes)")
        # JSON:API: the whole document, with each server's own base URL in the links.
        for inbox in (large, small):
            token = self.token(inbox)
            status_a, raw_a = http(
                notifgql.url + "/api/v2/notifications", token=token, method="GET"
            )
            status_b, raw_b = http(ceiling.url + "/api/v2/notifications", token=token, method="GET")
            if status_a != 200 or status_b != 200:
                raise BenchFailure(
                    f"JSON:API verification: notifgql {status_a}, ceiling {status_b}"
                )
            same(
                f"JSON:API list, inbox of {inbox.size}",
                raw_a.replace(notifgql.url.encode(), b"BASE"),
                raw_b.replace(ceiling.url.encode(), b"BASE"),
            )
            checked.append(f"JSON:API list, inbox of {inbox.size} ({len(raw_a):,} bytes)")
        # createNotification: same shape (ids and times differ by nature).
        v = self.layout.viewers[0]
        body = {"query": CREATE_QUERY, "variables": {"input": new_input(v, 0)}}
        service = self.service_tokens[v.organization_id]
        made_a = orjson.loads(http(notifgql.url + "/graphql", token=service, body=body)[1])
        made_b = orjson.loads(http(ceiling.url + "/graphql/create", token=service, body=body)[1])
        shape_a = list(made_a.get("data", {}).get("createNotification") or {})
        shape_b = list(made_b.get("data", {}).get("createNotification") or {})
        if shape_a != ["id", "createdAt"] or shape_a != shape_b:
            raise BenchFailure(f"createNotification differs: {made_a} vs {made_b}")
        checked.append("createNotification (shape)")
        # publish: the same answer but for the activity's id.
        answers = []
        for side, server, route in (
            ("notifgql", notifgql, "/graphql"),
            ("ceiling", ceiling, "/graphql/publish"),
        ):
            body = {"query": PUBLISH_QUERY, "variables": {"input": publish_input(["1", "2"], 0)}}
            token = self.service_tokens[self.publish_orgs[side]]
            answer = orjson.loads(http(server.url + route, token=token, body=body)[1])
            answers.append(answer)
        made = [(a.get("data") or {}).get("publish") or {} for a in answers]
        for one in made:
            one.pop("activityId", None)
        if made[0] != {"created": 2, "updated": 0} or made[0] != made[1]:
            raise BenchFailure(f"publish differs: {answers[0]} vs {answers[1]}")
        checked.append("publish (counts)")
        # Tabs: each of the five badges is what that tab asks alone, and some are not 0.
        token = self.token(large)
        five = graphql(notifgql.url + "/graphql", token, TABS_QUERY)
        alone = {
            tab: graphql(notifgql.url + "/graphql", token, tabs_query([tab]))[tab] for tab in TABS
        }
        if five != alone or not any(badge["unread"] for badge in five.values()):
            raise BenchFailure(f"five tabs answer {five}, each alone {alone}")
        checked.append("five tabs as each alone")
        self.results.checks["identical"] = checked
        say("ceiling and notifgql answer identical data: " + "; ".join(checked))
        # Every replayed request succeeds on its server.
        for name, path in self.requests.files.items():
            server = notifgql if name.endswith(".notifgql") else ceiling
            for line in path.read_bytes().splitlines()[:3]:
                method, target, bearer, raw = line.split(b"\t", 3)
                status, answer = http(
                    server.url + target.decode(),
                    token=bearer.decode(),
                    body=orjson.loads(raw) if raw else None,
                    method=method.decode(),
                )
                if status != 200 or b'"errors":[' in answer:
                    raise BenchFailure(f"{name}: {status} {answer[:300]!r}")

    def check_statements(self, notifgql: Server, ceiling: Server) -> None:
        """Both servers send the same list SELECT (pg_stat_statements query ids)."""
        viewer = sorted(self.layout.viewers, key=lambda inbox: inbox.size)[-1]
        body = {"query": LIST_QUERY, "variables": {"first": PAGE}}
        n = 20

        async def statements(url: str) -> dict[int, tuple[int, str]]:
            conn = await asyncpg.connect(self.db.dsn)
            try:
                await conn.execute("SELECT pg_stat_statements_reset()")
                for _ in range(n):
                    await asyncio.to_thread(http, url, token=self.token(viewer), body=body)
                rows = await conn.fetch(
                    "SELECT queryid, calls, query FROM pg_stat_statements "
                    "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
                    " AND query NOT LIKE '%pg_stat_statements%'"
                )
                return {int(r["queryid"]): (int(r["calls"]), str(r["query"])) for r in rows}
            finally:
                await conn.close()

        ours = asyncio.run(statements(notifgql.url + "/graphql"))
        theirs = asyncio.run(statements(ceiling.url + "/graphql/list"))
        # The ceiling's own SELECTs: each sent n times (notifgql's clock, which wakes snoozes
        # and notes expiries every 0.25 s, sends its SELECTs in either window meanwhile).
        selects = {
            qid
            for qid, (calls, query) in theirs.items()
            if query.startswith("SELECT") and calls >= n
        }
        if not selects or not selects <= set(ours):
            raise BenchFailure(
                "the ceiling's list SQL is not notifgql's:\n"
                + "\n".join(f"ceiling: {q}" for _, q in theirs.values())
                + "\n"
                + "\n".join(f"notifgql: {q}" for _, q in ours.values())
            )

        def per_request(found: dict[int, tuple[int, str]]) -> dict[str, float]:
            counted: dict[str, float] = {}
            for calls, query in found.values():
                words = query.split()
                name = " ".join(words[:1]) if words[0] in ("SELECT", "UPDATE") else query
                counted[name] = counted.get(name, 0) + calls / n
            return counted

        self.results.checks["statements_per_list_request"] = {
            "notifgql": per_request(ours),
            "ceiling": per_request(theirs),
        }
        say(
            "same list SELECT on both (pg_stat_statements); statements per list request: "
            f"notifgql {per_request(ours)}, ceiling {per_request(theirs)}"
        )

    def check_publish_statements(self, notifgql: Server, ceiling: Server) -> None:
        """Both sides send the same publish statements (pg_stat_statements query ids)."""
        n = 5

        async def statements(side: str, url: str) -> dict[int, tuple[int, str]]:
            token = self.service_tokens[self.publish_orgs[side]]
            conn = await asyncpg.connect(self.db.dsn)
            try:
                await conn.execute("SELECT pg_stat_statements_reset()")
                for i in range(n):
                    body = {"query": PUBLISH_QUERY, "variables": {"input": publish_input(["7"], i)}}
                    await asyncio.to_thread(http, url, token=token, body=body)
                rows = await conn.fetch(
                    "SELECT queryid, calls, query FROM pg_stat_statements "
                    "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
                    " AND query NOT LIKE '%pg_stat_statements%'"
                )
                return {int(r["queryid"]): (int(r["calls"]), str(r["query"])) for r in rows}
            finally:
                await conn.close()

        ours = asyncio.run(statements("notifgql", notifgql.url + "/graphql"))
        theirs = asyncio.run(statements("ceiling", ceiling.url + "/graphql/publish"))
        writes = {qid for qid, (_, query) in theirs.items() if query.startswith(("INSERT", "WITH"))}
        # The activity's INSERT, the inboxes' version bump and the upsert-and-link WITH.
        if len(writes) != 3 or not writes <= set(ours):
            raise BenchFailure(
                "the ceiling's publish SQL is not notifgql's:\n"
                + "\n".join(f"ceiling: {q[:200]}" for _, q in theirs.values())
                + "\n"
                + "\n".join(f"notifgql: {q[:200]}" for _, q in ours.values())
            )

        def per_call(found: dict[int, tuple[int, str]]) -> dict[str, float]:
            counted: dict[str, float] = {}
            for calls, query in found.values():
                name = query.split()[0]
                counted[name] = counted.get(name, 0) + calls / n
            return counted

        self.results.checks["statements_per_publish"] = {
            "notifgql": per_call(ours),
            "ceiling": per_call(theirs),
        }
        say(
            "same publish INSERT and WITH … ON CONFLICT on both (pg_stat_statements); "
            f"statements per call: notifgql {per_call(ours)}, ceiling {per_call(theirs)}"
        )

    # ---------------------------------------------------------------- measuring

    def measure(self, server: Server, requests: Path, seconds: int, seed: int) -> Sample:
        """One wrk run with the server's and PostgreSQL's CPU and the server's peak RSS."""
        with (
            procstat.Usage(server.pid) as usage,
            procstat.Usage(self.db.postmaster_pid, interval=5) as db_usage,
        ):
            result = loadgen.run(
                server.url, requests, seconds=seconds, connections=CONNECTIONS, seed=seed
            )
        done = max(result.requests, 1)
        return Sample(
            rps=result.rps,
            p50_ms=result.p50_us / 1000,
            p90_ms=result.p90_us / 1000,
            p99_ms=result.p99_us / 1000,
            max_ms=result.max_us / 1000,
            requests=result.requests,
            errors=result.errors,
            cpu_us_per_request=usage.cpu / done * 1e6,
            db_cpu_us_per_request=(
                db_usage.cpu / done * 1e6 if self.db.postmaster_pid is not None else None
            ),
            rss_mb=usage.peak_rss / 2**20,
        )

    def compare(
        self,
        key: str,
        entries: list[tuple[str, Server, str]],
        *,
        rounds: int,
        seconds: int,
    ) -> dict[str, list[Sample]]:
        """One scenario: warm-up, then ``rounds`` rounds (see ``interleave``)."""
        return self.interleave({key: entries}, rounds=rounds, seconds=seconds)[key]

    def interleave(
        self,
        groups: dict[str, list[tuple[str, Server, str]]],
        *,
        rounds: int,
        seconds: int,
    ) -> dict[str, dict[str, list[Sample]]]:
        """Warm every target up, then ``rounds`` rounds; each round runs every group in turn.

        Within a round a group's targets run A B B A when the configuration says ``abba``
        (each target twice, mirrored), else once each, the order alternating between rounds.
        The scenario's ratio (``report.RATIOS``) is computed per round from that round's runs
        alone and kept in ``results.rounds``: the figure is the median of those.
        """
        abba = self.config.abba
        for key, entries in groups.items():
            shape = "A B B A" if abba and len(entries) > 1 else "alternating"
            say(
                f"{key}: {self.config.warmup}s warm-up per target, then {rounds} round(s) of "
                f"{seconds}s runs ({shape})"
            )
            for _label, server, name in entries:
                loadgen.run(
                    server.url,
                    self.requests.files[name],
                    seconds=self.config.warmup,
                    connections=CONNECTIONS,
                )
        found: dict[str, dict[str, list[Sample]]] = {
            key: {label: [] for label, _, _ in entries} for key, entries in groups.items()
        }
        per_round: dict[str, list[float]] = {key: [] for key in groups if key in report.RATIOS}
        reserve = RESERVE_S + (PUBLISH_RESERVE_S if self.config.wants_publish() else 0.0)
        reserve += TABS_RESERVE_S if self.config.wants("tabs") else 0.0
        reserve += CHANGES_RESERVE_S if self.config.wants("changes") else 0.0
        deadline = self.started + self.config.budget_s - reserve if self.config.budget_s else None
        round_s = 0.0
        roots = {server.pid for entries in groups.values() for _, server, _ in entries}
        if self.db.postmaster_pid is not None:
            roots.add(self.db.postmaster_pid)
        with procstat.Outside(sorted(roots)) as outside:
            for round_number in range(rounds):
                # The quick run's budget: at least 3 rounds, then none that would overrun it.
                late = deadline is not None and time.monotonic() + round_s > deadline
                if late and round_number >= 3:
                    say(
                        f"stopping after {round_number} rounds: another would end past the "
                        f"run's {self.config.budget_s:.0f}s budget (a busy machine)"
                    )
                    break
                round_started = time.monotonic()
                for key, entries in groups.items():
                    if abba:
                        order = [*entries, *entries[::-1]]
                    else:
                        order = entries if round_number % 2 == 0 else entries[::-1]
                    this_round: dict[str, list[Sample]] = {label: [] for label, _, _ in entries}
                    for label, server, name in order:
                        time.sleep(SETTLE)
                        sample = self.measure(
                            server, self.requests.files[name], seconds, round_number + 1
                        )
                        this_round[label].append(sample)
                        found[key][label].append(sample)
                    ratio = report.round_ratio(key, this_round)
                    if ratio is not None:
                        per_round[key].append(ratio)
                    say(
                        f"  {key} round {round_number + 1}: "
                        + ", ".join(
                            f"{label} {statistics.fmean(s.rps for s in runs):,.0f} req/s "
                            f"p50 {statistics.fmean(s.p50_ms for s in runs):.1f} ms"
                            + (
                                f" ({sum(s.errors for s in runs)} errors)"
                                if any(s.errors for s in runs)
                                else ""
                            )
                            for label, runs in this_round.items()
                        )
                        + (f"; ratio {ratio:.3f}" if ratio is not None else "")
                    )
                round_s = time.monotonic() - round_started
        say(f"  other processes kept {outside.cores:.2f} of {os.cpu_count()} cores busy meanwhile")
        for key, samples in found.items():
            self.results.scenarios[key] = samples
            self.results.outside_cores[key] = outside.cores
            if key in per_round:
                self.results.rounds[key] = per_round[key]
        return found

    def mark_all_seen(self, notifgql: Server) -> None:
        """markAllSeen over a whole inbox against the bare UPDATE sent through asyncpg."""
        inbox = self.layout.mark_inbox
        token = self.token(inbox)
        trials = self.config.mark_trials
        say(f"markAllSeen: {trials} trial(s) each on an inbox of {inbox.size:,}")

        async def run() -> dict[str, list[float]]:
            conn = await asyncpg.connect(self.db.dsn)
            timings: dict[str, list[float]] = {"notifgql": [], "bare": []}
            try:
                for trial in range(trials):
                    sides = ["notifgql", "bare"] if trial % 2 == 0 else ["bare", "notifgql"]
                    for side in sides:
                        await conn.execute(
                            "UPDATE notifications SET seen_at = NULL "
                            "WHERE organization_id = $1 AND recipient_id = $2",
                            inbox.organization_id,
                            inbox.recipient_id,
                        )
                        await conn.execute("VACUUM notifications")
                        started = time.perf_counter()
                        if side == "notifgql":
                            found = await asyncio.to_thread(
                                graphql, notifgql.url + "/graphql", token, MARK_QUERY
                            )
                            changed = int(found["markAllSeen"]["count"])
                        else:
                            async with conn.transaction():
                                ((_, version),) = await conn.fetch(
                                    BARE_BUMP_SQL,
                                    inbox.organization_id,
                                    1,
                                    [inbox.recipient_id],
                                    1,
                                )
                                now = datetime.now(UTC)
                                status = await conn.execute(
                                    BARE_MARK_SQL,
                                    now,
                                    version,
                                    inbox.organization_id,
                                    inbox.recipient_id,
                                    now,
                                )
                            changed = int(status.split()[-1])
                        timings[side].append((time.perf_counter() - started) * 1000)
                        if changed != inbox.size:
                            raise BenchFailure(f"markAllSeen {side} changed {changed} rows")
                await conn.execute("VACUUM ANALYZE notifications")
            finally:
                await conn.close()
            return timings

        timings = asyncio.run(run())
        ours, bare = statistics.median(timings["notifgql"]), statistics.median(timings["bare"])
        self.results.mark_all_seen = {
            "rows": inbox.size,
            "notifgql_ms": timings["notifgql"],
            "bare_ms": timings["bare"],
            "ratio": ours / bare,
        }
        say(f"  markAllSeen {ours:.0f} ms, bare UPDATE {bare:.0f} ms: ratio {ours / bare:.2f}")

    def restore(self) -> None:
        """Delete what the create and publish scenarios created."""

        async def run() -> None:
            conn = await asyncpg.connect(self.db.dsn)
            try:
                await forget_published(conn)
                await conn.execute("VACUUM ANALYZE notifications")
                await conn.execute("VACUUM ANALYZE notification_activities")
                await conn.execute("VACUUM ANALYZE activities")
            finally:
                await conn.close()

        asyncio.run(run())

    def publish_latency(self, notifgql: Server, ceiling: Server) -> None:
        """One call at a time: 1,000 recipients of a new group, and an existing group of 100.

        Each side publishes into its own organization, through its own server, and the sides
        alternate trial by trial. Before each timed call (not timed) the 1,000-recipient
        scenario deletes what earlier calls published, and both vacuum the tables they write,
        so that every call meets the same table.
        """
        recipients = sorted({inbox.recipient_id for inbox in self.layout.inboxes})
        many, grouped = recipients[:PUBLISH_MANY], recipients[:GROUPED]
        sides = {"notifgql": (notifgql, "/graphql"), "ceiling": (ceiling, "/graphql/publish")}

        def call(side: str, value: dict[str, Any]) -> tuple[float, dict[str, Any]]:
            server, route = sides[side]
            token = self.service_tokens[self.publish_orgs[side]]
            body = {"query": PUBLISH_QUERY, "variables": {"input": value}}
            started = time.perf_counter()
            found = graphql(server.url + route, token, PUBLISH_QUERY, body["variables"])
            return (time.perf_counter() - started) * 1000, found["publish"]

        async def run(
            key: str, trials: int, value: dict[str, Any], expect: dict[str, int], clean: bool
        ) -> None:
            conn = await asyncpg.connect(self.db.dsn)
            timings: dict[str, list[float]] = {"notifgql": [], "ceiling": []}
            try:
                for trial in range(-1, trials):  # trial -1: untimed, each side's first call
                    order = ["notifgql", "ceiling"] if trial % 2 == 0 else ["ceiling", "notifgql"]
                    for side in order:
                        if clean:
                            await forget_published(conn)
                        await conn.execute("VACUUM notifications")
                        await conn.execute("VACUUM notification_activities")
                        ms, answer = await asyncio.to_thread(call, side, value)
                        got = {"created": answer["created"], "updated": answer["updated"]}
                        if trial >= 0 and got != expect:
                            raise BenchFailure(f"{key}: {side} answered {got}, not {expect}")
                        if trial >= 0:
                            timings[side].append(ms)
            finally:
                await forget_published(conn)
                await conn.close()
            ratios = [
                a / b for a, b in zip(timings["notifgql"], timings["ceiling"], strict=True) if b
            ]
            self.results.publish_latency[key] = {
                "recipients": sum(expect.values()),
                "notifgql_ms": timings["notifgql"],
                "bare_ms": timings["ceiling"],
                "ratios": ratios,
            }
            say(
                f"  {key}: notifgql {statistics.median(timings['notifgql']):.1f} ms, bare "
                f"{statistics.median(timings['ceiling']):.1f} ms: ratio "
                f"{statistics.median(ratios):.2f} "
                f"(per trial {min(ratios):.2f} to {max(ratios):.2f})"
            )

        if self.config.wants("publish1000"):
            trials = self.config.publish_trials
            say(f"publish to {PUBLISH_MANY:,} recipients: {trials} timed call(s) per side")
            value = publish_input(many, 0)
            asyncio.run(
                run("publish1000", trials, value, {"created": PUBLISH_MANY, "updated": 0}, True)
            )
        if self.config.wants("grouped"):
            trials = self.config.grouped_trials
            say(f"grouped publish, {GROUPED} recipients who have it: {trials} call(s) per side")
            value = publish_input(grouped, 0) | {"groupKey": "bench:grouped"}
            asyncio.run(run("grouped", trials, value, {"created": 0, "updated": GROUPED}, False))

    def workers(self, ceiling: Server, notifgql: Server) -> None:
        """``notifgql serve --workers 2`` against one worker, when the flag exists."""
        helped = subprocess.run(
            [str(VENV_BIN / "notifgql"), "serve", "--help"],
            env=self.env,
            capture_output=True,
            text=True,
        )
        if "--workers" not in helped.stdout:
            self.results.workers = {"available": False}
            say("workers: notifgql serve has no --workers flag; reported as n/a")
            return
        two = self.start_notifgql("notifgql-2-workers", "--workers", "2")
        try:
            samples = self.compare(
                "workers",
                [
                    ("ceiling", ceiling, "list.ceiling"),
                    ("notifgql", notifgql, "list.notifgql"),
                    ("notifgql-2", two, "list.notifgql"),
                ],
                rounds=self.config.other_rounds,
                seconds=self.config.other_seconds,
            )
        finally:
            two.stop()
            self.servers.remove(two)
        self.results.workers = {"available": True, "samples": samples}

    def profile(self, notifgql: Server, ceiling: Server) -> None:
        """py-spy flame graphs (list: both servers; counts: notifgql) and a summary."""
        py_spy = VENV_BIN / "py-spy"
        PROFILES.mkdir(exist_ok=True)
        seconds = self.config.profile_seconds
        outputs: dict[str, Any] = {}
        for name, server, requests in (
            ("notifgql-list", notifgql, "list.notifgql"),
            ("ceiling-list", ceiling, "list.ceiling"),
            ("notifgql-counts", notifgql, "counts.notifgql"),
        ):
            for kind in ("flamegraph", "raw"):
                target = (
                    PROFILES / f"{name}.svg"
                    if kind == "flamegraph"
                    else WORK / f"{name}.collapsed.txt"
                )
                say(f"profile: py-spy {kind} of {name} ({seconds}s)")
                spy = subprocess.Popen(
                    [
                        *(str(py_spy), "record", "--pid", str(server.pid), "--rate", "200"),
                        *("--duration", str(seconds), "--format", kind, "-o", str(target)),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                    text=True,
                )
                loadgen.run(
                    server.url,
                    self.requests.files[requests],
                    seconds=seconds + 2,
                    connections=CONNECTIONS,
                )
                _, errors = spy.communicate(timeout=60)
                if spy.returncode != 0:
                    say(f"py-spy failed: {errors.strip()[-500:]}")
                    self.results.profile = {"error": errors.strip()[-500:]}
                    return
            summary = profile.summarize((WORK / f"{name}.collapsed.txt").read_text())
            outputs[name] = summary
        (PROFILES / "README.md").write_text(profile.markdown(outputs))
        self.results.profile = outputs


def ceiling_command(dsn: str) -> list[str]:
    """``python -m bench.ceiling`` without its port; the secret is not on the command line.

    The ceiling reads it from NOTIFGQL_JWT_SECRET, which notifgql_env sets for every server:
    a random secret starting with ``-`` would be taken for an option as a separate argument.
    """
    return [sys.executable, "-m", "bench.ceiling", "--dsn", dsn, "--pool-size", str(CONNECTIONS)]


def new_input(inbox: Inbox, n: int) -> dict[str, Any]:
    """A notification a service publishes (createNotification's input)."""
    return {
        "recipientId": str(inbox.recipient_id),
        "title": f'Maya Patel commented on task "Release 4.2 checklist" (#{n})',
        "description": "Can you take a look before Friday's sync?",
        "excerpt": "Can you take a look before Friday's sync?",
        "targetType": "task",
        "targetId": str(4_000_000 + n),
        "actorId": "1012",
        "actorName": "Maya Patel",
        "important": n % 10 == 0,
        "changeset": {"status": ["open", "in_review"]},
    }


def publish_input(recipients: Sequence[str], n: int) -> dict[str, Any]:
    """An activity a service publishes (publish's input): without a group key or target,
    each call is a group of its own."""
    return {
        "recipientIds": list(recipients),
        "activity": {
            "title": f'Maya Patel mentioned you in "Release 4.2 checklist" (#{n})',
            "actorId": "1012",
            "actorName": "Maya Patel",
            "excerpt": "Can you take a look before Friday's sync?",
            "changeset": {"status": ["open", "in_review"]},
        },
        "notification": {
            "description": "In the Platform project",
            "reason": "mentioned",
            "mention": True,
        },
    }


async def forget_published(conn: asyncpg.Connection) -> None:
    """Delete every notification past the dataset, every activity and every link to one."""
    max_id = await conn.fetchval("SELECT max_id FROM bench_dataset")
    await conn.execute("DELETE FROM notification_activities")
    await conn.execute("DELETE FROM activities")
    await conn.execute("DELETE FROM notifications WHERE id > $1", max_id)


def same(label: str, ours: bytes, theirs: bytes) -> None:
    """Fail loudly, with the first difference, unless the bytes are identical."""
    if ours == theirs:
        return
    at = next(
        (i for i, (a, b) in enumerate(zip(ours, theirs, strict=False)) if a != b),
        min(len(ours), len(theirs)),
    )
    (WORK / "mismatch.notifgql.json").write_bytes(ours)
    (WORK / "mismatch.ceiling.json").write_bytes(theirs)
    raise BenchFailure(
        f"the ceiling's answer differs from notifgql's for {label} at byte {at}:\n"
        f"  notifgql: …{ours[max(0, at - 80) : at + 80]!r}\n"
        f"  ceiling:  …{theirs[max(0, at - 80) : at + 80]!r}\n"
        f"(both saved in {WORK}/mismatch.*.json)"
    )


def versions() -> dict[str, str]:
    """Versions of what is being measured."""
    from importlib import metadata

    found = {"python": platform.python_version()}
    for package in ("strawberry-graphql", "graphql-core", "sqlalchemy", "asyncpg", "aiohttp"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            found[package] = metadata.version(package)
    return found


def git_revision() -> str:
    """The commit measured, and whether the work tree differed from it."""
    head = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "-C", str(ROOT), "status", "--porcelain", "--", "src"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    return (head or "unknown") + (" + uncommitted changes in src/" if dirty else "")


def cpu_model() -> str:
    """The processor's name."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def main(argv: Sequence[str] | None = None) -> int:
    """``bench/run``."""
    parser = argparse.ArgumentParser(prog="bench/run", description="The notifgql benchmark.")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="small dataset, 7 interleaved A B B A rounds of 1 s runs (under 3 minutes)",
    )
    parser.add_argument("--rounds", type=int, help="measured rounds per scenario")
    parser.add_argument("--seconds", type=int, help="seconds per measured wrk run")
    parser.add_argument(
        "--profile", action=argparse.BooleanOptionalAction, help="py-spy (default: full run)"
    )
    parser.add_argument(
        "--readme",
        action=argparse.BooleanOptionalAction,
        help="write the results table into bench/README.md (default: full run)",
    )
    parser.add_argument(
        "--only",
        help="comma list of scenarios: list,counts,deep,jsonapi,tabs,changes,create,mark,publish,"
        "publish1000,grouped,workers",
    )
    args = parser.parse_args(argv)
    config = Config.make(args)
    started = time.monotonic()
    WORK.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    results: Results
    try:
        with database(config) as db:
            env = notifgql_env(db, secret)
            layout, has_statements = prepare(db, config.preset, env)
            bench = Bench(config, db, layout, env, started)
            try:
                results = run(bench, has_statements)
            finally:
                bench.stop_all()
    except BenchFailure as failure:
        print(f"bench/run: FAILED: {failure}", file=sys.stderr)
        return 1
    results.meta |= {
        "elapsed_s": round(time.monotonic() - started, 1),
        "postgres": db.version,
    }
    out = WORK / f"results-{config.preset.name}.json"
    out.write_bytes(orjson.dumps(asdict(results), option=orjson.OPT_INDENT_2))
    table = report.markdown(results.meta, results)
    print(table)
    if config.write_readme:
        report.write_readme(BENCH / "README.md", table)
        say("results table written into bench/README.md")
    say(f"done in {results.meta['elapsed_s']:.0f}s; raw figures in {out}")
    if report.tabs_ratios(results) or report.changes_ratios(results):
        print(report.tabs_spread(results))
        print(report.tabs_line(results))
    if report.has_publish(results):
        print(report.publish_spreads(results))
        print(report.publish_line(results))
    print(report.spreads(results))
    print(report.last_line(results))
    return 0


def run(bench: Bench, has_statements: bool) -> Results:
    """Every scenario the configuration asks for."""
    config = bench.config
    bench.results.meta = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "mode": "quick" if config.quick else "full",
        "preset": asdict(config.preset),
        "connections": CONNECTIONS,
        "warmup_s": config.warmup,
        "seconds": config.seconds,
        "rounds": config.rounds,
        "other_rounds": config.other_rounds,
        "other_seconds": config.other_seconds,
        "publish_rounds": config.publish_rounds,
        "tabs_rounds": config.tabs_rounds,
        "publish_trials": config.publish_trials,
        "grouped_trials": config.grouped_trials,
        "abba": config.abba,
        "deep_offset": DEEP_OFFSET,
        "cores": os.cpu_count(),
        "cpu": cpu_model(),
        "versions": versions(),
        "revision": git_revision(),
    }
    say("tokens via notifgql token")
    bench.make_tokens()
    say("starting notifgql serve and the ceiling")
    notifgql = bench.start_notifgql("notifgql")
    ceiling = bench.start_ceiling()
    bench.walk_cursors(notifgql)
    if config.wants("changes"):
        bench.make_changes(notifgql)
    bench.write_requests()
    bench.verify(notifgql, ceiling)
    bench.restore()
    if has_statements:
        bench.check_statements(notifgql, ceiling)
        bench.check_publish_statements(notifgql, ceiling)
        bench.restore()
    else:
        bench.results.checks["statements_per_list_request"] = "pg_stat_statements unavailable"
    rounds, seconds = config.rounds, config.seconds
    other_rounds, other_seconds = config.other_rounds, config.other_seconds
    pair = [("ceiling", ceiling), ("notifgql", notifgql)]
    headline: dict[str, list[tuple[str, Server, str]]] = {}
    if config.wants("list"):
        headline["list"] = [(n, s, f"list.{n}") for n, s in pair]
    if config.wants("counts"):
        headline["counts"] = [(n, s, f"counts.{n}") for n, s in pair]
    if config.wants("deep"):
        headline["deep"] = [
            ("page1", notifgql, "page1.notifgql"),
            ("deep", notifgql, "deep.notifgql"),
        ]
        if not config.quick:  # the same pair on the ceiling: the database's share of D
            headline["deep"] += [
                ("ceiling-page1", ceiling, "page1.ceiling"),
                ("ceiling-deep", ceiling, "deep.ceiling"),
            ]
    jsonapi = [(n, s, f"jsonapi.{n}") for n, s in pair] if config.wants("jsonapi") else None
    if config.abba:
        # Quick: the four figures of the last line, their scenarios taking turns each round.
        if jsonapi:
            headline["jsonapi"] = jsonapi
        if headline:
            bench.interleave(headline, rounds=rounds, seconds=seconds)
    else:
        for key, entries in headline.items():
            bench.compare(key, entries, rounds=rounds, seconds=seconds)
        if jsonapi:
            bench.compare("jsonapi", jsonapi, rounds=other_rounds, seconds=other_seconds)
    if config.wants("tabs"):
        bench.compare(
            "tabs",
            [("one", notifgql, "tabs1.notifgql"), ("five", notifgql, "tabs5.notifgql")],
            rounds=config.tabs_rounds,
            seconds=other_seconds,
        )
    if config.wants("changes"):
        bench.compare(
            "changes",
            [("page1", notifgql, "page1.notifgql"), ("changes", notifgql, "changes.notifgql")],
            rounds=config.tabs_rounds,
            seconds=other_seconds,
        )
    if config.wants("mark"):
        bench.mark_all_seen(notifgql)
    if config.wants("create"):
        try:
            bench.compare(
                "create",
                [(n, s, f"create.{n}") for n, s in pair],
                rounds=other_rounds,
                seconds=other_seconds,
            )
        finally:
            bench.restore()
    if config.wants("publish"):
        try:
            bench.compare(
                "publish",
                [(n, s, f"publish.{n}") for n, s in pair],
                rounds=config.publish_rounds,
                seconds=other_seconds,
            )
        finally:
            bench.restore()
    if config.wants("publish1000") or config.wants("grouped"):
        try:
            bench.publish_latency(notifgql, ceiling)
        finally:
            bench.restore()
    if config.wants("workers") and not config.quick:
        bench.workers(ceiling, notifgql)
    if config.profile:
        bench.profile(notifgql, ceiling)
    return bench.results


if __name__ == "__main__":
    sys.exit(main())
