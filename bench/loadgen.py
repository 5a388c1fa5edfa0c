"""wrk, driven with bench/wrk/requests.lua, and what one run of it measured."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

LUA = Path(__file__).with_name("wrk") / "requests.lua"


@dataclass(frozen=True, slots=True)
class WrkResult:
    """One wrk run: throughput, latency percentiles (µs) and errors of every kind."""

    requests: int
    duration_us: int
    bytes: int
    connect_errors: int
    read_errors: int
    write_errors: int
    status_errors: int
    timeouts: int
    graphql_errors: int
    p50_us: int
    p90_us: int
    p99_us: int
    p999_us: int
    max_us: int
    mean_us: float

    @property
    def rps(self) -> float:
        """Completed requests per second."""
        return self.requests / (self.duration_us / 1e6)

    @property
    def errors(self) -> int:
        """Every failed request: socket errors, timeouts, HTTP >= 400, GraphQL errors."""
        return (
            self.connect_errors
            + self.read_errors
            + self.write_errors
            + self.status_errors
            + self.timeouts
            + self.graphql_errors
        )


def wrk_path() -> str:
    """The wrk program; bench/run installs it when missing."""
    path = shutil.which("wrk")
    if path is None:
        raise RuntimeError("wrk is not installed (bench/run installs it with apt-get)")
    return path


def run(
    url: str,
    requests: Path,
    *,
    seconds: int,
    connections: int,
    seed: int = 1,
    timeout: str = "10s",
) -> WrkResult:
    """Replay ``requests`` against ``url`` for ``seconds`` with ``connections`` open."""
    command = [
        wrk_path(),
        "-t1",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        timeout,
        "-s",
        str(LUA),
        url,
        "--",
        str(requests),
        str(seed),
    ]
    finished = subprocess.run(command, check=False, capture_output=True, text=True)
    for line in finished.stdout.splitlines():
        if line.startswith("WRK_RESULT "):
            fields = json.loads(line.removeprefix("WRK_RESULT "))
            return WrkResult(**fields)
    raise RuntimeError(
        f"wrk failed (exit {finished.returncode}):\n{finished.stdout}\n{finished.stderr}"
    )
