"""CPU time and memory of a process tree, read from /proc (Linux)."""

from __future__ import annotations

import contextlib
import math
import os
import threading
import time
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after the last ')'.
    return text[text.rindex(")") + 2 :].split()


def tree(root: int) -> list[int]:
    """``root`` and every process descending from it."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(int(entry.name))
        if fields is not None:
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, stack = [], [root]
    while stack:
        pid = stack.pop()
        found.append(pid)
        stack.extend(children.get(pid, []))
    return found


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """User + system CPU seconds of each live process in ``pids``."""
    used = {}
    for pid in pids:
        fields = _stat_fields(pid)
        if fields is not None:
            # utime and stime are fields 14 and 15 of /proc/<pid>/stat (indexes 11, 12 here).
            used[pid] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return used


def cpu_delta(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds spent between two readings; processes born in between count from 0."""
    return sum(value - before.get(pid, 0.0) for pid, value in after.items())


def machine_busy_seconds() -> float:
    """CPU seconds all cores have been busy since boot: /proc/stat's total less idle and iowait.

    Steal time (the hypervisor running someone else) counts as busy: it was not ours either.
    """
    with contextlib.suppress(OSError, ValueError, IndexError):
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
        return (sum(values) - values[3] - values[4]) / CLOCK_TICKS
    return math.nan


class Outside:
    """How many cores the rest of the machine kept busy while a block ran.

    Everything busy on the machine, less the CPU of the given process trees (the servers and
    PostgreSQL), of this process and of the children it has waited for (wrk): what other
    people's work took from the benchmark, in cores (0 to the number of cores).
    """

    def __init__(self, roots: list[int]) -> None:
        self.roots = roots
        self.cores = math.nan

    def _ours(self) -> dict[int, float]:
        return cpu_seconds([pid for root in self.roots for pid in tree(root)])

    def __enter__(self) -> Outside:
        self._started = time.monotonic()
        self._busy = machine_busy_seconds()
        self._times = os.times()
        self._trees = self._ours()
        return self

    def __exit__(self, *_exc: object) -> None:
        times = os.times()
        ours = cpu_delta(self._trees, self._ours()) + sum(
            getattr(times, name) - getattr(self._times, name)
            for name in ("user", "system", "children_user", "children_system")
        )
        elapsed = time.monotonic() - self._started
        if elapsed > 0:
            self.cores = max(0.0, (machine_busy_seconds() - self._busy - ours) / elapsed)


def rss_bytes(pids: list[int]) -> int:
    """Resident memory of ``pids``, summed."""
    total = 0
    for pid in pids:
        try:
            resident = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
        except (OSError, IndexError, ValueError):
            continue
        total += resident * PAGE_SIZE
    return total


class Usage:
    """CPU seconds and peak RSS of a process tree while a block runs."""

    def __init__(self, root: int | None, interval: float = 0.2) -> None:
        self.root = root
        self.interval = interval
        self.cpu = 0.0
        self.peak_rss = 0
        self._before: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Usage:
        if self.root is not None:
            self._before = cpu_seconds(tree(self.root))
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        if self.root is None or self._thread is None:
            return
        self._stop.set()
        self._thread.join()
        self.cpu = cpu_delta(self._before, cpu_seconds(tree(self.root)))

    def _sample(self) -> None:
        assert self.root is not None
        pids = tree(self.root)
        while not self._stop.is_set():
            self.peak_rss = max(self.peak_rss, rss_bytes(pids))
            if self._stop.wait(self.interval):
                break
            pids = tree(self.root)
