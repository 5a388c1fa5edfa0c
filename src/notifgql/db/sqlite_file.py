"""The SQLite file a process serves: is it still the file it opened, and may it be written?

SQLite keeps using whatever file its open descriptors point at. If the file is deleted or
replaced while the process serves, pooled connections write into a file that no longer
has a name (acknowledged, then lost at the next restart) and fresh connections create a
new, empty one. If the files turn read-only, connections opened before keep writing
through their read-write descriptors, while fresh ones silently fall back to read-only
opens, whose wal-index (the ``-shm`` file) is mapped read-only and shared with every
later connection of the process. So the engine asks this module before every
transaction, and refuses (503) rather than let SQLite guess.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote

from notifgql.errors import ServiceUnavailable

FileId = tuple[int, int]
_SIDE_FILES = ("-wal", "-shm")


class StorageUnavailable(OSError):
    """The file cannot be opened for writing now; an OSError, so it classifies as a 503."""


def file_id(path: Path) -> FileId | None:
    """(st_dev, st_ino) of ``path``, or None when it does not exist."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return None
    return info.st_dev, info.st_ino


class SqliteFile:
    """One database file and the identity it had when the process first opened it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        # The file as the process found it (or, if there was none, as its first connection
        # created it): a file that appears later under the same name is another database,
        # whatever it holds, and is refused until the process restarts.
        self.expected: FileId | None = file_id(path)

    def opened(self) -> FileId | None:
        """Note a new connection; returns the identity of the file it opened."""
        found = file_id(self.path)
        if self.expected is None:
            self.expected = found
        return found

    def open_uri(self) -> str | None:
        """Where later connections open: read-write, never creating a file that vanished.

        None until the first connection has created or found the file.
        """
        if self.expected is None:
            return None
        return f"file:{quote(str(self.path))}?mode=rw"

    def refuse_to_open(self) -> None:
        """Raise StorageUnavailable unless a new connection may open the file read-write."""
        if self.expected is None:
            return
        if (reason := self.problem(self.expected, writing=True)) is not None:
            raise StorageUnavailable(reason)

    def writable(self) -> bool:
        """Whether SQLite can write the file, its WAL and wal-index, and create them."""
        names = [self.path, self.path.parent]
        names += [
            side
            for suffix in _SIDE_FILES
            if (side := self.path.with_name(self.path.name + suffix)).exists()
        ]
        # As open(2) will judge: effective ids and capabilities, not the real ids.
        effective = os.access in os.supports_effective_ids
        return all(os.access(name, os.W_OK, effective_ids=effective) for name in names)

    def problem(self, opened: FileId | None, *, writing: bool) -> str | None:
        """Why a connection to ``opened`` must not be used now, or None when it may."""
        current = file_id(self.path)
        if current is None:
            return "The database file is missing"
        if current != self.expected or opened != self.expected:
            return "The database file was replaced"
        if writing and not self.writable():
            return "The database is read-only"
        return None

    def check(self, opened: FileId | None, *, writing: bool) -> None:
        """Raise ServiceUnavailable when :meth:`problem` finds one."""
        if (reason := self.problem(opened, writing=writing)) is not None:
            raise ServiceUnavailable(f"{reason}; try again later")
