"""bench/sync_resume.py's pure helpers: catch-up bookkeeping, figures, its one-line verdicts."""

from __future__ import annotations

import pytest
from bench import sync_resume
from bench.sync_resume import Board, Client


def _client(recipient: str, board: Board) -> Client:
    return Client(recipient, token="t", board=board)


def _answer(*ids: str, next_: str = "n") -> dict[str, object]:
    return {"changed": [{"id": i} for i in ids], "removed": [], "next": next_, "hasMore": False}


def test_a_client_catches_up_when_its_last_expected_id_arrived() -> None:
    board = Board()
    early, late = _client("a", board), _client("b", board)
    board.start(["a", "b"])
    early.answer(_answer("1", next_="p0"), now=10.1)  # before they are expected
    early.answer(_answer("2", "1", next_="p1"), now=10.5)
    early.expect(frozenset({"1", "2"}))
    late.expect(frozenset({"3"}))
    assert board.waiting == {"b"}
    late.answer(_answer(next_="p2"), now=10.2)
    assert not board.done.is_set()
    late.answer(_answer("3", next_="p3"), now=12.0)
    assert (early.caught_up_at, late.caught_up_at) == (10.5, 12.0)
    assert early.arrivals == {"1": 2, "2": 1}
    assert board.done.is_set()
    assert (early.next, late.next, late.first_answer_at) == ("p1", "p3", 10.2)


def test_phase_result_counts_duplicates_misdeliveries_and_resent_changes() -> None:
    board = Board()
    a, b = _client("a", board), _client("b", board)
    expected = {"a": frozenset({"1", "2"}), "b": frozenset({"3", "4"})}
    board.start(["a", "b"])
    a.expect(expected["a"])
    b.expect(expected["b"])
    a.answer(_answer("1", "2", "1", "3"), now=1.5)  # 1 twice; 3 is b's
    b.answer(_answer("4", "old"), now=2.5)  # 3 never comes; "old" is from before
    result = sync_resume.phase_result("resume", [a, b], expected, t0=0.5)
    assert result["caught_up"] == 1
    assert (result["p50_s"], result["max_s"]) == (1.0, 1.0)
    assert result["caught_up_per_second"] == [0, 1]
    assert (result["missing"], result["duplicates"]) == (1, 1)
    assert (result["misdelivered"], result["unexpected"]) == (1, 1)
    assert not sync_resume.verdict(result)
    assert sync_resume.summary_line(result).endswith("(target ≤ 5 s: MISSED)")


def test_summary_line_of_a_clean_phase() -> None:
    result = {
        "phase": "live",
        "subscribers": 2,
        "caught_up": 2,
        "p50_s": 0.8,
        "p90_s": 1.4,
        "max_s": 2.1,
        "missing": 0,
        "duplicates": 0,
        "misdelivered": 0,
        "unexpected": 0,
    }
    assert sync_resume.summary_line(result) == (
        "live: 2/2 caught up, p50 0.80 s, p90 1.40 s, max 2.10 s (target ≤ 5 s: met)"
    )
    assert not sync_resume.verdict(result | {"max_s": 5.01})


@pytest.mark.parametrize(
    ("fraction", "value"), [(0.5, 5.0), (0.9, 9.0), (0.99, 10.0), (1.0, 10.0), (0.01, 1.0)]
)
def test_percentile_is_the_nearest_rank(fraction: float, value: float) -> None:
    assert sync_resume.percentile([float(n) for n in range(10, 0, -1)], fraction) == value


def test_publishing_plan_interleaves_recipients() -> None:
    assert sync_resume.publishing_plan(["a", "b"], 2, "x") == [
        ("a", "x 1/2"),
        ("b", "x 1/2"),
        ("a", "x 2/2"),
        ("b", "x 2/2"),
    ]


def test_admin_target_swaps_the_database_and_keeps_the_query() -> None:
    url = "postgresql+asyncpg://u@h:5/app?ssl=disable"
    assert sync_resume.admin_target(url) == ("postgresql://u@h:5/postgres?ssl=disable", "app")


def test_arguments() -> None:
    args = sync_resume.parse_args(["--database-url", "postgres://u@h/db", "--phase", "live"])
    assert (args.database_url, args.phases) == ("postgresql+asyncpg://u@h/db", ["live"])
    assert sync_resume.parse_args([]).phases == ["resume", "live"]
