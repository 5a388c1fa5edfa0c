"""The benchmark's dataset: notifications shaped like real inboxes, made inside PostgreSQL.

The table comes from ``notifgql migrate`` (so its indexes are production's); the rows come
from one ``INSERT ... SELECT`` over ``generate_series``, driven by an array of inbox sizes
drawn here. Inbox sizes are skewed as real ones are: most inboxes hold tens of
notifications, a long tail holds thousands, and a few "whales" hold 50,000 each; one more
inbox of ``mark_inbox_size`` rows is kept for the markAllSeen scenario only. Rows are
inserted in creation order, so one inbox's rows lie scattered over the whole table as in a
long-lived database, and ids grow with time.

A finished dataset is marked in the ``bench_dataset`` table; a later run with the same
preset and generator version reuses it (after deleting what a previous run published).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

import asyncpg

GENERATOR_VERSION = 5
NOW = "2026-11-01 00:00:00+00"


@dataclass(frozen=True, slots=True)
class Preset:
    """How big the dataset is."""

    name: str
    total: int
    organizations: int
    recipients: int
    whales: int
    whale_size: int
    mark_inbox_size: int
    viewers: int  # how many inboxes the random-viewer scenarios pick among

    @property
    def key(self) -> str:
        """What identifies a finished dataset of this preset."""
        return f"{self.name}:v{GENERATOR_VERSION}:{self.total}:{self.recipients}"


FULL = Preset(
    name="full",
    total=1_000_000,
    organizations=100,
    recipients=10_000,
    whales=5,
    whale_size=50_000,
    mark_inbox_size=100_000,
    viewers=2_000,
)
QUICK = Preset(
    name="quick",
    total=200_000,
    organizations=20,
    recipients=2_000,
    whales=2,
    whale_size=50_000,
    mark_inbox_size=20_000,
    viewers=500,
)


@dataclass(frozen=True, slots=True)
class Inbox:
    """One recipient in one organization, and how many notifications it holds.

    The ids are text, as notifgql stores them; they are numbers written in decimal, so that
    they stay short and sort like the inboxes of a database whose ids were once integers.
    """

    organization_id: str
    recipient_id: str
    size: int


@dataclass(frozen=True, slots=True)
class Layout:
    """Every inbox of a preset, and the roles some of them play in the scenarios."""

    inboxes: list[Inbox]
    whales: list[Inbox]
    mark_inbox: Inbox
    viewers: list[Inbox]


def layout(preset: Preset) -> Layout:
    """The inboxes of ``preset``; the same every time (fixed seed)."""
    rng = random.Random(20261101)
    inboxes: list[Inbox] = []

    def inbox(index: int, size: int) -> Inbox:
        return Inbox(
            organization_id=str(1 + index % preset.organizations),
            recipient_id=str(10_000 + index),
            size=size,
        )

    whales = [inbox(i, preset.whale_size) for i in range(preset.whales)]
    mark_inbox = inbox(preset.whales, preset.mark_inbox_size)
    rest_count = preset.recipients - preset.whales - 1
    rest_total = preset.total - preset.whales * preset.whale_size - preset.mark_inbox_size
    # Log-normal sizes: the median inbox holds tens; the tail reaches a few thousand.
    mean = rest_total / rest_count
    median = min(25.0, mean * 0.6)
    sigma = math.sqrt(2 * math.log(mean / median))
    raw = [min(rng.lognormvariate(math.log(median), sigma), 20_000.0) for _ in range(rest_count)]
    scale = rest_total / sum(raw)
    sizes = [max(1, round(value * scale)) for value in raw]
    drift = rest_total - sum(sizes)
    order = sorted(range(rest_count), key=lambda i: -sizes[i])
    step = 1 if drift > 0 else -1
    position = 0
    while drift:
        index = order[position % rest_count]
        if sizes[index] + step >= 1:
            sizes[index] += step
            drift -= step
        position += 1
    rest = [inbox(preset.whales + 1 + i, size) for i, size in enumerate(sizes)]
    inboxes = [*whales, mark_inbox, *rest]
    viewers = rng.sample(rest, min(preset.viewers, len(rest)))
    return Layout(inboxes=inboxes, whales=whales, mark_inbox=mark_inbox, viewers=viewers)


def _array(values: list[str]) -> str:
    return "ARRAY[" + ", ".join("'" + value.replace("'", "''") + "'" for value in values) + "]"


def _pick(values: list[str], draw: str) -> str:
    return f"({_array(values)})[1 + floor({draw} * {len(values)})::int]"


ACTORS = [
    "Alice Martin",
    "Bruno Costa",
    "Chen Wei",
    "Dana Kowalski",
    "Émilie Durand",
    "Farid Haddad",
    "Grace O'Neill",
    "Hiroshi Tanaka",
    "Ingrid Johansson",
    "Jamal Wright",
    "Katarzyna Nowak",
    "Luis Fernández",
    "Maya Patel",
    "Noah Schmidt",
    "Olivia Brown",
    "Pierre Lefèvre",
    "Quinn Taylor",
    "Rania Aziz",
    "Sofia Rossi",
    "Tomás Silva",
    "Uma Krishnan",
    "Viktor Petrov",
    "Wen Li",
    "Yusuf Demir",
    "Zoë Müller",
]
TARGET_TYPES = ["task", "task", "task", "comment", "project", "document", "invoice", "milestone"]
VERBS = [
    "commented on",
    "assigned you to",
    "mentioned you in",
    "completed",
    "updated the due date of",
    "approved",
    "requested changes on",
    "shared",
    "moved",
    "reopened",
]
TARGET_TITLES = [
    "Fix login redirect loop",
    "Q3 marketing plan",
    "Migrate billing to the new provider",
    "Onboarding checklist for new hires",
    "Update privacy policy (GDPR)",
    "Design review: settings page",
    "Customer interview notes — ACME",
    "Invoice #2024-0117",
    "Release 4.2 checklist",
    "Reduce API latency under load",
    "Quarterly board deck",
    "Translate help center to German",
    "Spike: offline mode for mobile",
    "Renew SSL certificates",
    "Hiring plan 2027",
    "Bug: CSV export drops unicode",
    "Partner integration kickoff",
    "Office move logistics",
    "Accessibility audit follow-ups",
    "Data retention policy draft",
]
PROJECTS = [
    "Website relaunch",
    "Mobile app v3",
    "Platform reliability",
    "Sales enablement",
    "Finance operations",
    "Customer success",
    "Internal tools",
    "Brand refresh",
]
SENTENCES = [
    "Can you take a look before Friday's sync?",
    "I left a few comments on the second section; the numbers in table 2 look off.",
    "This is blocked until the API change is deployed to staging.",
    "Moved to the next sprint, see the planning notes for the reasoning.",
    "Thanks! Merged and deployed, closing this one.",
    "The customer confirmed the fix works on their side.",
    "We need legal's sign-off on the wording of clause 4.",
    "Attached the updated mockups — feedback welcome, especially on the empty states.",
    'Reminder: the "freeze" starts Monday at 09:00 CET.',
    "Could you estimate this? Rough t-shirt size is fine.",
    "Budget approved for Q4; procurement will reach out.",
    "Re-ran the benchmark: p99 went from 480 ms to 95 ms.",
]
# Tabs of the inbox (bench's tabs scenario): four in five notifications have a category.
CATEGORIES = ["mentions", "approvals", "billing", "comments", "updates"]
REASONS = ["mentioned", "assigned", "subscribed", "author", "watching", "review_requested"]
STATUSES = ["open", "in_progress", "in_review", "done", "blocked"]


def insert_sql() -> str:
    """One INSERT ... SELECT that makes every row of the inboxes given as arrays."""
    actor_name = _pick(ACTORS, "s.u_actor")
    target_type = _pick(TARGET_TYPES, "s.u_type")
    target_title = _pick(TARGET_TITLES, "s.u_title")
    verb = _pick(VERBS, "s.u_verb")
    project = _pick(PROJECTS, "s.u_parent")
    sentence_a = _pick(SENTENCES, "s.u_text")
    sentence_b = _pick(SENTENCES, "s.u_text2")
    reason = _pick(REASONS, "s.u_reason")
    status_from = _pick(STATUSES, "s.u_cs")
    status_to = _pick(STATUSES, "s.u_cs2")
    category = _pick(CATEGORIES, "s.u_category / 0.8")
    last_action_at = (
        "CASE WHEN s.u_last < 0.10 "
        f"THEN least(s.created_at + s.u_last_lag * interval '14 days', '{NOW}') END"
    )
    return f"""
INSERT INTO notifications (
    organization_id, recipient_id, actor_id, actor_name, title, description, excerpt,
    target_type, target_id, target_title, target_label, parent_type, parent_id, parent_title,
    root_type, root_id, project_id, resource, reason, important, mention, action_required,
    made_by_automation, new_activities_count, first_unread_activity_id, changeset,
    read_at, seen_at, dismissed_at, last_action_at, created_at, activity_at, group_key,
    category
)
SELECT
    s.org,
    s.rcpt,
    CASE WHEN s.automated THEN NULL ELSE (1000 + floor(s.u_actor * 25)::bigint)::text END,
    CASE WHEN s.automated THEN NULL ELSE {actor_name} END,
    CASE WHEN s.automated
         THEN 'Automation: ' || {target_type} || ' "' || {target_title} || '" is overdue'
         ELSE {actor_name} || ' ' || {verb} || ' ' || {target_type} || ' "' || {target_title} || '"'
    END,
    CASE WHEN s.u_desc < 0.6 THEN {sentence_a} || ' ' || {sentence_b} END,
    left({sentence_b}, 120),
    {target_type},
    s.target_id,
    {target_title},
    CASE WHEN s.u_desc < 0.7 THEN 'PRJ-' || (s.target_id % 5000) END,
    CASE WHEN s.u_parent < 0.5 THEN 'project' END,
    CASE WHEN s.u_parent < 0.5 THEN 1 + floor(s.u_parent * 10000)::bigint END,
    CASE WHEN s.u_parent < 0.5 THEN {project} END,
    'workspace',
    s.org::bigint * 10,
    1 + floor(s.u_project * 5000)::bigint,
    {target_type} || 's',
    {reason},
    s.u_flags < 0.08,
    s.u_flags2 < 0.15,
    s.u_flags3 < 0.10,
    s.automated,
    floor(s.u_nac ^ 3 * 8)::int,
    CASE WHEN floor(s.u_nac ^ 3 * 8) > 0 THEN s.target_id * 10 + 7 END,
    CASE WHEN s.u_cs < 0.4 THEN '[]'::jsonb
         WHEN s.u_cs < 0.8 THEN jsonb_build_object(
             'status', jsonb_build_array({status_from}, {status_to}))
         ELSE jsonb_build_object(
             'assignee_id', jsonb_build_array(NULL, 1000 + floor(s.u_actor * 25)),
             'due_on', jsonb_build_array('2026-11-30', '2026-12-07'),
             'estimate_hours', 2.5)
    END,
    CASE WHEN s.u_read < 0.85 * least(1, s.age / 10)
         THEN least(s.created_at + s.u_lag * interval '3 days', '{NOW}')
    END,
    CASE WHEN s.u_read < 0.85 * least(1, s.age / 10)
         THEN least(s.created_at + s.u_lag * interval '3 days', '{NOW}')
         WHEN s.u_read < 0.95 * least(1, s.age / 3)
         THEN least(s.created_at + s.u_lag * interval '1 day', '{NOW}')
    END,
    CASE WHEN s.u_dismiss < 0.08 THEN least(s.created_at + s.u_lag * interval '5 days', '{NOW}')
    END,
    {last_action_at},
    s.created_at,
    coalesce({last_action_at}, s.created_at),
    'notification:' || gen_random_uuid(),
    CASE WHEN s.u_category < 0.8 THEN {category} END
FROM (
    SELECT
        r.org, r.rcpt,
        random() < 0.1 AS automated,
        random() AS u_actor, random() AS u_type, random() AS u_title, random() AS u_verb,
        random() AS u_desc, random() AS u_text, random() AS u_text2, random() AS u_parent,
        random() AS u_project, random() AS u_reason, random() AS u_flags,
        random() AS u_flags2, random() AS u_flags3, random() AS u_nac, random() AS u_cs,
        random() AS u_cs2, random() AS u_read, random() AS u_dismiss, random() AS u_lag,
        1 + floor(random() * 5000000)::bigint AS target_id,
        random() AS u_last, random() AS u_last_lag, random() AS u_category,
        '{NOW}'::timestamptz - (random() ^ 1.5) * interval '365 days' AS created_at
    FROM unnest($1::text[], $2::text[], $3::int[]) AS r(org, rcpt, n)
    CROSS JOIN LATERAL generate_series(1, r.n) AS g(i)
    OFFSET 0
) AS s0
CROSS JOIN LATERAL (
    SELECT s0.*, extract(epoch FROM '{NOW}'::timestamptz - s0.created_at) / 86400.0 AS age
) AS s
ORDER BY s.created_at
"""


async def ensure(dsn: str, preset: Preset, log: object = print) -> tuple[Layout, bool]:
    """Fill the notifications table for ``preset`` unless it already holds it.

    The table must exist (``notifgql migrate``). Returns the layout and whether rows were
    generated now. Refuses to touch a table holding rows that are not a benchmark dataset.
    """
    plan = layout(preset)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS bench_dataset (key text NOT NULL, max_id bigint NOT NULL)"
        )
        marker = await conn.fetchrow("SELECT key, max_id FROM bench_dataset")
        if marker is not None and marker["key"] == preset.key:
            deleted = await conn.execute(
                "DELETE FROM notifications WHERE id > $1", marker["max_id"]
            )
            if deleted != "DELETE 0":
                await conn.execute("VACUUM ANALYZE notifications")
            return plan, False
        rows = await conn.fetchval("SELECT EXISTS (SELECT 1 FROM notifications)")
        if rows and marker is None:
            raise RuntimeError(
                "the benchmark database's notifications table holds rows that are not a "
                "benchmark dataset; give the benchmark a database of its own"
            )
        printer = log if callable(log) else print
        printer(f"generating the {preset.name} dataset: {preset.total:,} notifications ...")
        await conn.execute("DELETE FROM bench_dataset")
        await conn.execute("TRUNCATE notifications RESTART IDENTITY")
        await conn.execute("SELECT setseed(0.20261101)")
        await conn.execute(
            insert_sql(),
            [inbox.organization_id for inbox in plan.inboxes],
            [inbox.recipient_id for inbox in plan.inboxes],
            [inbox.size for inbox in plan.inboxes],
        )
        await conn.execute("VACUUM ANALYZE notifications")
        max_id = await conn.fetchval("SELECT max(id) FROM notifications")
        await conn.execute("INSERT INTO bench_dataset VALUES ($1, $2)", preset.key, max_id)
        return plan, True
    finally:
        await conn.close()
