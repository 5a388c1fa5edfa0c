"""Where a server's time goes, from py-spy's collapsed stacks (``--format raw``)."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

# Which layer a frame belongs to, by its file; the first match wins.
LAYERS = [
    ("notifgql", re.compile(r"notifgql/")),
    ("ceiling (bench)", re.compile(r"bench/ceiling\.py")),
    ("strawberry", re.compile(r"strawberry/")),
    ("graphql-core", re.compile(r"graphql/")),
    ("sqlalchemy", re.compile(r"sqlalchemy/")),
    ("asyncpg", re.compile(r"asyncpg/")),
    ("aiohttp", re.compile(r"aiohttp/|multidict/|yarl/")),
    ("jwt", re.compile(r"jwt/")),
    ("pydantic", re.compile(r"pydantic")),
    ("asyncio", re.compile(r"asyncio/|selectors\.py")),
]
_FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")
# Leaf frames that stand for work below Python. A sampled thread inside send() is often not
# running at all: the send woke its peer (PostgreSQL, wrk) and the scheduler switched to it,
# so this share is partly waiting for a core; /proc's utime+stime is the true CPU figure.
LEAF_LAYERS = {
    "_SelectorSocketTransport.write": "socket send() (syscall, incl. preemption by the peer)",
    "_SelectorSocketTransport._read_ready__data_received": (
        "socket recv() + C protocol parsers (aiohttp, asyncpg)"
    ),
}
# Phases of a request, by the frame that encloses them (inclusive shares).
PHASES = [
    ("JWT verification", r"^decode_token \(notifgql/auth\.py|^Keys\.claims \(bench/"),
    ("GraphQL parse", r"^_parse_operation_document \(strawberry/"),
    ("GraphQL validation", r"^validate_document \(strawberry/"),
    ("GraphQL execution by graphql-core", r"^Schema\._execute_operation "),
    ("compiled plan (graphql/compiled.py)", r"^Plans\.run \(notifgql/graphql/compiled\.py"),
    ("resolver Query.notifications", r"^Query\.notifications \(notifgql/"),
    ("resolver Query.notificationCounts", r"^Query\.notification_counts \(notifgql/"),
    ("read connection checkout (asyncpg pool)", r"^DriverPool\.connection \(notifgql/"),
    ("SQL execution on asyncpg (reads)", r"^DriverReader\.rows \(notifgql/"),
    ("SQL execution through SQLAlchemy + asyncpg", r"^AsyncConnection\.execute \(sqlalchemy/"),
    ("SQLAlchemy statement cache keys", r"^HasCacheKey\._generate_cache_key \(sqlalchemy/"),
    ("jsonb decoding (SQLAlchemy's codec, stdlib json)", r"_jsonb_decoder \(sqlalchemy/"),
    ("rows to Notification objects (from_model)", r"^Notification\.from_model \(notifgql/"),
    ("row values by name (Row._mapping)", r"^Row\._mapping \(sqlalchemy/"),
    ("datetimes to ISO 8601 strings", r"^_iso \(notifgql/"),
    ("cursors (HMAC)", r"^CursorCodec\.encode \(notifgql/|^Keys\.encode_cursor \(bench/"),
    ("response JSON encoding (orjson)", r"^NotifGqlView\.encode_json \(notifgql/"),
    ("rows to JSON dicts (ceiling)", r"^_node \(bench/"),
    ("SQL execution through asyncpg (ceiling)", r"^Connection\.fetch \(asyncpg/"),
    ("HTTP response write (aiohttp)", r"^RequestHandler\.finish_response \(aiohttp/"),
]


def layer_of(file: str) -> str:
    """The layer a source file belongs to."""
    for name, pattern in LAYERS:
        if pattern.search(file):
            return name
    return "other (stdlib, C)"


def _parse(text: str) -> list[tuple[list[tuple[str, str]], int]]:
    stacks = []
    for line in text.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = []
        for raw in stack.split(";"):
            match = _FRAME.match(raw)
            if match is None:
                continue  # process / thread pseudo-frames
            frames.append((match["function"], match["file"]))
        if frames:
            stacks.append((frames, int(count)))
    return stacks


def _short(function: str, file: str) -> str:
    tail = "/".join(file.split("/")[-2:])
    return f"{function} ({tail})"


def summarize(text: str, top: int = 25) -> dict[str, Any]:
    """Shares of samples: by layer (self and inclusive) and the heaviest functions."""
    stacks = _parse(text)
    total = sum(count for _, count in stacks) or 1
    self_layers: Counter[str] = Counter()
    inclusive_layers: Counter[str] = Counter()
    self_functions: Counter[str] = Counter()
    inclusive_functions: Counter[str] = Counter()
    phases: Counter[str] = Counter()
    compiled = [(name, re.compile(pattern)) for name, pattern in PHASES]
    for frames, count in stacks:
        function, file = frames[-1]
        self_layers[LEAF_LAYERS.get(function) or layer_of(file)] += count
        names = [f"{f} ({p})" for f, p in frames]
        for phase, pattern in compiled:
            if any(pattern.search(name) for name in names):
                phases[phase] += count
        self_functions[_short(function, file)] += count
        for name in {layer_of(file) for _, file in frames}:
            inclusive_layers[name] += count
        for name in {_short(function, file) for function, file in frames}:
            inclusive_functions[name] += count

    def shares(counter: Counter[str], n: int | None = None) -> list[tuple[str, float]]:
        return [(name, count / total) for name, count in counter.most_common(n)]

    return {
        "samples": total,
        "phases": [(name, phases[name] / total) for name, _ in PHASES if phases[name]],
        "self_by_layer": shares(self_layers),
        "inclusive_by_layer": shares(inclusive_layers),
        "self_functions": shares(self_functions, top),
        "inclusive_functions": shares(inclusive_functions, top * 2),
    }


def markdown(profiles: dict[str, dict[str, Any]]) -> str:
    """A readable summary of each server's profile."""
    lines = [
        "# Profiles under load",
        "",
        "Written by `bench/run` (full run) from py-spy (`record --rate 200`, collapsed stacks) "
        "while wrk drove a scenario at 32 connections: `notifgql-list.svg` and "
        "`ceiling-list.svg` (the list scenario), `notifgql-counts.svg` (notificationCounts). "
        "Shares are of all samples of the busy (non-idle) main thread. "
        "py-spy samples wall-clock time of a thread that is not blocked: time inside send() "
        "includes moments when the thread was runnable but preempted by the process it just "
        "woke, so the socket rows overstate CPU (see bench/README.md).",
        "",
    ]
    for name, summary in profiles.items():
        lines += [f"## {name} ({summary['samples']:,} samples)", ""]
        lines += ["| Layer | self | inclusive |", "|---|--:|--:|"]
        inclusive = dict(summary["inclusive_by_layer"])
        for layer, share in summary["self_by_layer"]:
            whole = f"{inclusive[layer]:.1%}" if layer in inclusive else "—"
            lines.append(f"| {layer} | {share:.1%} | {whole} |")
        if summary.get("phases"):
            lines += ["", "Phases of a request (inclusive):", ""]
            lines += ["| Phase | share |", "|---|--:|"]
            lines += [f"| {name} | {share:.1%} |" for name, share in summary["phases"]]
        lines += ["", "Heaviest functions by self time:", ""]
        lines += ["| Function | self |", "|---|--:|"]
        lines += [f"| `{f}` | {share:.1%} |" for f, share in summary["self_functions"]]
        lines += ["", "Heaviest functions including callees:", ""]
        lines += ["| Function | inclusive |", "|---|--:|"]
        lines += [f"| `{f}` | {share:.1%} |" for f, share in summary["inclusive_functions"]]
        lines.append("")
    return "\n".join(lines)
