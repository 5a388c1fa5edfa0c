"""bench/run hands the ceiling its JWT secret in a way a leading ``-`` cannot break."""

from __future__ import annotations

import sys

import pytest
from bench import ceiling, harness

DASHED = "-Xq3vT8_kLmN0pQrS-tUvW"  # what secrets.token_urlsafe returns about once in 64 runs


def test_the_harness_keeps_the_secret_off_the_ceilings_command_line() -> None:
    command = harness.ceiling_command("postgresql://bench@127.0.0.1:5432/bench")
    args = ceiling.parse_args(
        [*command[3:], "--port", "8080"], environ={ceiling.SECRET_ENV: DASHED}
    )
    assert args.secret == DASHED
    assert command[:3] == [sys.executable, "-m", "bench.ceiling"]
    assert not any(DASHED in part for part in command)


def test_a_secret_starting_with_a_dash_is_accepted_in_the_equals_form() -> None:
    args = ceiling.parse_args(
        ["--port", "8080", "--dsn", "postgresql://x", f"--secret={DASHED}"], environ={}
    )
    assert args.secret == DASHED


def test_the_command_line_secret_wins_over_the_environment() -> None:
    args = ceiling.parse_args(
        ["--port", "8080", "--dsn", "postgresql://x", "--secret=given"],
        environ={ceiling.SECRET_ENV: DASHED},
    )
    assert args.secret == "given"


def test_no_secret_at_all_is_refused() -> None:
    with pytest.raises(SystemExit):
        ceiling.parse_args(["--port", "8080", "--dsn", "postgresql://x"], environ={})
