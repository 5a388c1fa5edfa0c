"""CPU time and memory of a process tree, read from /proc (Linux)."""

from __future__ import annotations

import os
import threading
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
