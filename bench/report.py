"""The results as Markdown (for bench/README.md) and as bench/run's last line."""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bench.harness import Results, Sample

BEGIN = "<!-- bench:results:begin (written by bench/run; do not edit by hand) -->"
END = "<!-- bench:results:end -->"

TITLES = {
    "list": "notifications(first: 30), every field + pageInfo, random viewers",
    "counts": "notificationCounts, random viewers",
    "jsonapi": "JSON:API list, page 1, random viewers",
    "create": "createNotification (publishes/s)",
    "publish": "publish to 1 recipient, a new group each call (publishes/s)",
}


def median(values: Sequence[float]) -> float:
    """The median, NaN for nothing."""
    return statistics.median(values) if values else math.nan


def spread(values: Sequence[float], digits: int = 0) -> str:
    """``median (min–max)`` of a series, or the single value."""
    if not values:
        return "n/a"
    if len(values) == 1:
        return f"{values[0]:,.{digits}f}"
    return f"{median(values):,.{digits}f} ({min(values):,.{digits}f}–{max(values):,.{digits}f})"


def ratios(
    top: Sequence[Sample], bottom: Sequence[Sample], key: Callable[[Sample], float]
) -> list[float]:
    """Per-round ratios of two interleaved series."""
    return [key(a) / key(b) for a, b in zip(top, bottom, strict=False) if key(b)]


def rps(sample: Sample) -> float:
    """Requests per second."""
    return sample.rps


def p50(sample: Sample) -> float:
    """Median latency, ms."""
    return sample.p50_ms


def _values(samples: Sequence[Sample], name: str) -> list[float]:
    return [float(getattr(s, name)) for s in samples if getattr(s, name) is not None]


# Each scenario's ratio: (numerator target, denominator target, Sample field).
RATIOS: dict[str, tuple[str, str, str]] = {
    "list": ("notifgql", "ceiling", "rps"),
    "counts": ("notifgql", "ceiling", "rps"),
    "deep": ("deep", "page1", "p50_ms"),
    "jsonapi": ("notifgql", "ceiling", "rps"),
    "create": ("notifgql", "ceiling", "rps"),
    "publish": ("notifgql", "ceiling", "rps"),
    # Badges of a tabbed inbox: what five tabs cost against one (throughput of one ÷ five).
    "tabs": ("one", "five", "rps"),
    # The change feed after 100 changes against page 1 of the list, same inboxes.
    "changes": ("page1", "changes", "rps"),
}
# The figures of the last line, in order: (scenario, label).
HEADLINE = (
    ("list", "list ratio"),
    ("counts", "counts ratio"),
    ("deep", "deep/page1"),
    ("jsonapi", "jsonapi ratio"),
)


def round_ratio(key: str, runs: dict[str, list[Sample]]) -> float | None:
    """The ratio of ``key`` in one round: the mean of each side's runs in that round."""
    if key not in RATIOS:
        return None
    top, bottom, name = RATIOS[key]
    over, under = _values(runs.get(top, []), name), _values(runs.get(bottom, []), name)
    if not over or not under or not statistics.fmean(under):
        return None
    return statistics.fmean(over) / statistics.fmean(under)


def per_round(results: Results, key: str) -> list[float]:
    """The per-round ratios of scenario ``key`` (empty when it did not run)."""
    if key in results.rounds:
        return list(results.rounds[key])
    pair = results.scenarios.get(key)
    if not pair or key not in RATIOS:
        return []
    top, bottom, name = RATIOS[key]
    return ratios(pair.get(top, []), pair.get(bottom, []), lambda s: float(getattr(s, name)))


def headline(results: Results) -> dict[str, float]:
    """R, C, D and J of the last line: medians of per-round ratios."""
    return {key: median(per_round(results, key)) for key, _ in HEADLINE}


def spreads(results: Results) -> str:
    """Each figure of the last line with the min–max and IQR of its per-round ratios."""
    parts = []
    for key, label in HEADLINE:
        values = sorted(per_round(results, key))
        if not values:
            parts.append(f"{label} n/a")
            continue
        text = f"{label} {median(values):.2f} (min–max {values[0]:.2f}–{values[-1]:.2f}"
        if len(values) >= 4:
            q1, _, q3 = statistics.quantiles(values, n=4)
            text += f", IQR {q1:.2f}–{q3:.2f}"
        parts.append(text + f", {len(values)} rounds)")
    busy = outside(results)
    if busy is not None:
        parts.append(f"other processes kept {busy:.1f} cores busy")
    return "per-round ratios: " + "; ".join(parts)


def outside(results: Results) -> float | None:
    """Cores other processes kept busy during the headline rounds (the first measured)."""
    for key, _ in HEADLINE:
        value = results.outside_cores.get(key)
        if value is not None and not math.isnan(value):
            return value
    return None


def last_line(results: Results) -> str:
    """``list ratio R.RR counts ratio C.CC deep/page1 D.DD jsonapi ratio J.JJ``."""
    h = headline(results)
    return " ".join(f"{label} {h[key]:.2f}" for key, label in HEADLINE)


# The publish figures, on their own line before the spread line: (key, label).
PUBLISH = (
    ("publish", "publish ratio"),
    ("publish1000", "publish1000/bare"),
    ("grouped", "grouped/bare"),
)


def publish_ratios(results: Results, key: str) -> list[float]:
    """Per-round (throughput) or per-trial (latency) ratios of a publish figure."""
    if key == "publish":
        return per_round(results, key)
    return list(results.publish_latency.get(key, {}).get("ratios", []))


def has_publish(results: Results) -> bool:
    """Whether any publish figure was measured."""
    return any(publish_ratios(results, key) for key, _ in PUBLISH)


def _spread_text(label: str, values: list[float], unit: str) -> str:
    values = sorted(values)
    if not values:
        return f"{label} n/a"
    text = f"{label} {median(values):.2f} (min–max {values[0]:.2f}–{values[-1]:.2f}"
    if len(values) >= 4:
        q1, _, q3 = statistics.quantiles(values, n=4)
        text += f", IQR {q1:.2f}–{q3:.2f}"
    return text + f", {len(values)} {unit})"


def publish_spreads(results: Results) -> str:
    """Each publish figure with the min–max (and IQR) of its per-round or per-trial ratios."""
    parts = [
        _spread_text(
            label, publish_ratios(results, key), "rounds" if key == "publish" else "trials"
        )
        for key, label in PUBLISH
    ]
    busy = results.outside_cores.get("publish")
    if busy is not None and not math.isnan(busy):
        parts.append(f"other processes kept {busy:.1f} cores busy during the publish rounds")
    return "publish ratios: " + "; ".join(parts)


def publish_line(results: Results) -> str:
    """``publish ratio P.PP publish1000/bare L.LL grouped/bare G.GG``."""
    return " ".join(f"{label} {median(publish_ratios(results, key)):.2f}" for key, label in PUBLISH)


def tabs_ratios(results: Results) -> list[float]:
    """Per-round ratios of the tabs figure: five tabs' cost over one tab's."""
    return per_round(results, "tabs")


def changes_ratios(results: Results) -> list[float]:
    """Per-round ratios of the change-feed figure: its cost over page 1's."""
    return per_round(results, "changes")


def tabs_spread(results: Results) -> str:
    """The tabs and change-feed figures with their min–max (and IQR) over rounds."""
    return (
        "tabs ratios: "
        + _spread_text("tabs5/tabs1", tabs_ratios(results), "rounds")
        + "; "
        + _spread_text("changes/page1", changes_ratios(results), "rounds")
    )


def tabs_line(results: Results) -> str:
    """``tabs5/tabs1 T.TT changes/page1 S.SS``."""
    return (
        f"tabs5/tabs1 {median(tabs_ratios(results)):.2f} "
        f"changes/page1 {median(changes_ratios(results)):.2f}"
    )


def tabs_markdown(results: Results) -> list[str]:
    """The tabs and change-feed scenarios, a sentence each."""
    lines: list[str] = []
    feed = results.scenarios.get("changes")
    if feed:
        first, after = feed["page1"], feed["changes"]
        lines += [
            "",
            "The change feed after 100 changes in the 50,000-notification inboxes (every field"
            f" of 100 notifications): {spread(_values(after, 'rps'))} req/s, p50 "
            f"{median(_values(after, 'p50_ms')):.1f} ms, against page 1 of the list there "
            f"{spread(_values(first, 'rps'))} req/s, p50 {median(_values(first, 'p50_ms')):.1f}"
            f" ms: **{spread(changes_ratios(results), 2)}** × page 1's cost.",
        ]
    found = results.scenarios.get("tabs")
    if not found:
        return lines
    one, five = found["one"], found["five"]
    return [
        *lines,
        "",
        "Badges for a tabbed inbox (notifgql against itself, random viewers): one tab "
        f"{spread(_values(one, 'rps'))} req/s, p50 {median(_values(one, 'p50_ms')):.1f} ms; "
        f"five tabs {spread(_values(five, 'rps'))} req/s, p50 "
        f"{median(_values(five, 'p50_ms')):.1f} ms; five tabs cost "
        f"**{spread(tabs_ratios(results), 2)}** × one (median of per-round ratios).",
    ]


def load(meta: dict[str, Any]) -> str:
    """How the load was applied, in one sentence."""
    head = (
        f"Load: wrk, {meta.get('connections')} connections, {meta.get('warmup_s')} s warm-up per "
        "server"
    )
    if meta.get("abba"):
        return (
            f"{head}, then up to {meta.get('rounds')} rounds (fewer only when more would "
            "overrun the 3-minute budget) in which list, counts, deep and JSON:API "
            f"take turns, each running its two targets A B B A for {meta.get('seconds')} s a run; "
            f"createNotification {meta.get('other_rounds')} such round, publish "
            f"{meta.get('publish_rounds')}. Figures: median over "
            "rounds (min–max), ratios computed per round; one process per server."
        )
    return (
        f"{head}, then {meta.get('rounds')} interleaved round(s) of {meta.get('seconds')} s "
        f"(list, counts, deep) or {meta.get('other_rounds')} of {meta.get('other_seconds')} s "
        "(the others). Figures: median over rounds (min–max); one process per server."
    )


def _mark(ok: bool | None) -> str:
    return "n/a" if ok is None else ("met" if ok else "**missed**")


def markdown(meta: dict[str, Any], results: Results) -> str:
    """The results section of bench/README.md."""
    lines: list[str] = []
    preset = meta.get("preset", {})
    v = meta.get("versions", {})
    lines += [
        f"Run: {meta.get('date')}, `bench/run{' --quick' if meta.get('mode') == 'quick' else ''}`"
        f", revision {meta.get('revision')}, {meta.get('elapsed_s', '?')} s.",
        f"Machine: {meta.get('cores')} cores ({meta.get('cpu')}); PostgreSQL "
        f"{meta.get('postgres')}; Python {v.get('python')}, strawberry-graphql "
        f"{v.get('strawberry-graphql')}, graphql-core {v.get('graphql-core')}, SQLAlchemy "
        f"{v.get('sqlalchemy')}, asyncpg {v.get('asyncpg')}, aiohttp {v.get('aiohttp')}.",
        f"Dataset: {preset.get('total', 0):,} notifications, {preset.get('recipients', 0):,} "
        f"inboxes in {preset.get('organizations')} organizations ({preset.get('whales')} of "
        f"{preset.get('whale_size', 0):,}, one of {preset.get('mark_inbox_size', 0):,} for "
        f"markAllSeen); random viewers among {preset.get('viewers', 0):,} inboxes.",
        load(meta)
        + (
            f" Other processes kept {busy:.1f} of {meta.get('cores')} cores busy meanwhile."
            if (busy := outside(results)) is not None
            else ""
        ),
        "",
        "| Scenario | Ceiling req/s | notifgql req/s | notifgql ÷ ceiling | "
        "notifgql p50 / p99 / max ms | Ceiling p50 / p99 ms | Server CPU µs/req notifgql / "
        "ceiling | PostgreSQL CPU µs/req notifgql / ceiling | notifgql peak RSS MB | Errors |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for key, title in TITLES.items():
        pair = results.scenarios.get(key)
        if not pair:
            continue
        ours, top = pair["notifgql"], pair["ceiling"]
        lines.append(
            f"| {title} | {spread(_values(top, 'rps'))} | {spread(_values(ours, 'rps'))} | "
            f"{spread(per_round(results, key), 2)} | "
            f"{median(_values(ours, 'p50_ms')):.1f} / {median(_values(ours, 'p99_ms')):.1f} / "
            f"{max(_values(ours, 'max_ms')):.0f} | "
            f"{median(_values(top, 'p50_ms')):.1f} / {median(_values(top, 'p99_ms')):.1f} | "
            f"{median(_values(ours, 'cpu_us_per_request')):,.0f} / "
            f"{median(_values(top, 'cpu_us_per_request')):,.0f} | "
            f"{median(_values(ours, 'db_cpu_us_per_request')):,.0f} / "
            f"{median(_values(top, 'db_cpu_us_per_request')):,.0f} | "
            f"{max(_values(ours, 'rss_mb')):.0f} | "
            f"{sum(s.errors for s in ours)} / {sum(s.errors for s in top)} |"
        )
    deep = results.scenarios.get("deep")
    if deep:
        page1, down = deep["page1"], deep["deep"]
        lines += [
            "",
            f"Deep page: notifications(first: 30, after: cursor {meta.get('deep_offset', 0):,} "
            "items down) in the 50,000-notification inboxes, against page 1 of the same inboxes "
            "(same load; the ceiling's pair, in the full run, shows the database's share).",
            "",
            "| | req/s | p50 ms | p99 ms | max ms |",
            "|---|--:|--:|--:|--:|",
        ]
        pairs = [("notifgql", page1, down)]
        if "ceiling-page1" in deep:
            pairs.append(("ceiling", deep["ceiling-page1"], deep["ceiling-deep"]))
        for who, first, far in pairs:
            for label, samples in (("page 1", first), ("10,000 deep", far)):
                lines.append(
                    f"| {who}, {label} | {spread(_values(samples, 'rps'))} | "
                    f"{median(_values(samples, 'p50_ms')):.1f} | "
                    f"{median(_values(samples, 'p99_ms')):.1f} | "
                    f"{max(_values(samples, 'max_ms')):.0f} |"
                )
            down_ratios = per_round(results, "deep") if who == "notifgql" else []
            lines.append(
                f"| {who}, deep ÷ page 1 (p50) | | "
                f"{spread(down_ratios or ratios(far, first, p50), 2)} | | |"
            )
    mark = results.mark_all_seen
    if mark:
        lines += [
            "",
            f"markAllSeen on an inbox of {mark['rows']:,} unseen notifications (one request at "
            "a time; the inbox is reset and vacuumed before each trial, sides alternate): "
            f"notifgql {spread(mark['notifgql_ms'])} ms, bare UPDATE through asyncpg "
            f"{spread(mark['bare_ms'])} ms, ratio **{mark['ratio']:.2f}**.",
        ]
    lines += tabs_markdown(results)
    lines += publish_markdown(results)
    workers = results.workers
    lines.append("")
    if workers.get("available"):
        samples = workers["samples"]
        one, two, top = samples["notifgql"], samples["notifgql-2"], samples["ceiling"]
        lines.append(
            "`notifgql serve --workers N`, list scenario: 1 worker "
            f"{spread(_values(one, 'rps'))} req/s ({median(ratios(one, top, rps)):.2f} of the "
            f"ceiling), 2 workers {spread(_values(two, 'rps'))} req/s "
            f"({median(ratios(two, top, rps)):.2f} of the ceiling; "
            f"{median(ratios(two, one, rps)):.2f}× one worker; peak RSS "
            f"{max(_values(two, 'rss_mb')):.0f} MB for all processes)."
        )
    elif workers:
        lines.append(
            "`notifgql serve --workers N`: n/a — `notifgql serve` had no `--workers` flag "
            "when this ran."
        )
    statements = results.checks.get("statements_per_list_request")
    if isinstance(statements, dict):
        lines += [
            "",
            "SQL statements per list request (pg_stat_statements): "
            + "; ".join(
                f"{who}: " + ", ".join(f"{name} × {count:g}" for name, count in found.items())
                for who, found in statements.items()
            )
            + ".",
        ]
    publish_statements = results.checks.get("statements_per_publish")
    if isinstance(publish_statements, dict):
        lines += [
            "",
            "SQL statements per publish to 1 recipient (pg_stat_statements): "
            + "; ".join(
                f"{who}: " + ", ".join(f"{name} × {count:g}" for name, count in found.items())
                for who, found in publish_statements.items()
            )
            + ".",
        ]
    lines += ["", *targets(results)]
    return "\n".join(lines) + "\n"


def publish_markdown(results: Results) -> list[str]:
    """The one-at-a-time publish figures, a sentence each."""
    lines: list[str] = []
    texts = {
        "publish1000": "Publish to {n:,} recipients, a new group (one call at a time, {t} "
        "calls per side, sides alternating; published rows deleted and tables vacuumed before "
        "each call)",
        "grouped": "Publish to an existing group of {n:,} recipients who all have it, every row "
        "an ON CONFLICT update (one call at a time, {t} calls per side, sides alternating)",
    }
    for key, text in texts.items():
        found = results.publish_latency.get(key)
        if not found:
            continue
        lines += [
            "",
            text.format(n=found["recipients"], t=len(found["notifgql_ms"]))
            + f": notifgql {spread(found['notifgql_ms'], 1)} ms, the same statements through "
            f"the ceiling {spread(found['bare_ms'], 1)} ms, ratio (median of per-call "
            f"ratios) **{spread(found['ratios'], 2)}**.",
        ]
    return lines


def targets(results: Results) -> list[str]:
    """The performance targets, reported (not asserted)."""
    h = headline(results)
    ours = [
        sample
        for key in ("list", "counts", "jsonapi", "create", "publish")
        for sample in results.scenarios.get(key, {}).get("notifgql", [])
    ]
    ours += [s for key in ("page1", "deep") for s in results.scenarios.get("deep", {}).get(key, [])]
    rss = max((s.rss_mb for s in ours if s.rss_mb is not None), default=math.nan)
    slowest = max((s.max_ms for s in ours), default=math.nan)
    # p99 against p50 per scenario (medians over rounds); the worst scenario is reported.
    tails: list[tuple[float, str]] = []
    for key in ("list", "counts", "jsonapi", "create"):
        samples = results.scenarios.get(key, {}).get("notifgql", [])
        if samples:
            tails.append(
                (median(_values(samples, "p99_ms")) / median(_values(samples, "p50_ms")), key)
            )
    for key in ("page1", "deep"):
        samples = results.scenarios.get("deep", {}).get(key, [])
        if samples:
            tails.append(
                (median(_values(samples, "p99_ms")) / median(_values(samples, "p50_ms")), key)
            )
    tail, tail_name = max(tails, default=(math.nan, ""))
    errors = sum(s.errors for s in ours)
    mark = results.mark_all_seen.get("ratio", math.nan)
    publish = median(publish_ratios(results, "publish"))
    many = median(publish_ratios(results, "publish1000"))
    tabs = median(tabs_ratios(results))
    feed = median(changes_ratios(results))

    def row(name: str, value: str, ok: bool | None) -> str:
        return f"| {name} | {value} | {_mark(ok)} |"

    def known(value: float) -> bool:
        return not math.isnan(value)

    return [
        "| Target (reported, not asserted) | Measured | |",
        "|---|--:|---|",
        row(
            "list ≥ 0.6 × ceiling",
            f"{h['list']:.2f}",
            h["list"] >= 0.6 if known(h["list"]) else None,
        ),
        row(
            "counts ≥ 0.8 × ceiling",
            f"{h['counts']:.2f}",
            h["counts"] >= 0.8 if known(h["counts"]) else None,
        ),
        row(
            "JSON:API list ≥ 0.6 × ceiling",
            f"{h['jsonapi']:.2f}",
            h["jsonapi"] >= 0.6 if known(h["jsonapi"]) else None,
        ),
        row(
            "deep page ≤ 1.5 × page 1",
            f"{h['deep']:.2f}",
            h["deep"] <= 1.5 if known(h["deep"]) else None,
        ),
        row(
            "badges for five tabs ≤ 2 × one tab",
            f"{tabs:.2f}",
            tabs <= 2 if known(tabs) else None,
        ),
        row(
            "inboxChanges after 100 changes ≤ 1.5 × page 1 of the list",
            f"{feed:.2f}",
            feed <= 1.5 if known(feed) else None,
        ),
        row(
            "markAllSeen ≤ 1.5 × bare statements",
            f"{mark:.2f}",
            mark <= 1.5 if known(mark) else None,
        ),
        row(
            "publish to 1 recipient ≥ 0.5 × ceiling",
            f"{publish:.2f}",
            publish >= 0.5 if known(publish) else None,
        ),
        row(
            "publish to 1,000 recipients ≤ 1.5 × bare statements",
            f"{many:.2f}",
            many <= 1.5 if known(many) else None,
        ),
        row("server RSS under load < 150 MB", f"{rss:.0f} MB", rss < 150 if known(rss) else None),
        row(
            "no request slower than 1 s (32 connections)",
            f"slowest {slowest:,.0f} ms",
            slowest < 1000 if known(slowest) else None,
        ),
        row(
            "p99 ≤ 5 × p50 (per scenario, medians)",
            f"worst {tail:.1f}× ({tail_name})",
            tail <= 5 if known(tail) else None,
        ),
        row("no failed request", f"{errors} errors", errors == 0 if ours else None),
    ]


def write_readme(readme: Path, section: str) -> None:
    """Put ``section`` between the markers of bench/README.md (appending them if absent)."""
    text = readme.read_text() if readme.exists() else ""
    block = f"{BEGIN}\n{section}{END}"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        text = head + block + tail
    else:
        text = text.rstrip("\n") + "\n\n## Results\n\n" + block + "\n"
    readme.write_text(text)
