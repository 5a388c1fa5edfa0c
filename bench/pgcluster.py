"""A PostgreSQL cluster the benchmark starts itself (built on tests/servers.py's helpers).

The cluster lives in ``bench/.work/pg`` when the ``postgres`` account can reach that folder,
so that the generated dataset survives between runs; otherwise in a temp dir, rebuilt each
time. It listens on loopback only, on a free port, with trust authentication.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from tests.servers import as_postgres, free_port, pg_tool

# Benchmark settings: durability off (as in the test suite; see bench/README.md), memory
# for the whole dataset, pg_stat_statements to check which SQL each server sends.
SERVER_SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "max_connections": "200",
    "shared_buffers": "1GB",
    "effective_cache_size": "4GB",
    "work_mem": "16MB",
    "maintenance_work_mem": "512MB",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_wal_size": "4GB",
    "checkpoint_timeout": "30min",
    "autovacuum": "on",
    "jit": "off",
    "shared_preload_libraries": "pg_stat_statements",
    "pg_stat_statements.track_utility": "on",
}


def _postgres_can_use(folder: Path) -> bool:
    if os.geteuid() != 0:
        return True
    probe = subprocess.run(
        as_postgres(["test", "-x", str(folder), "-a", "-w", str(folder)]), check=False
    )
    return probe.returncode == 0


class Cluster:
    """One PostgreSQL server for the run."""

    def __init__(self, work: Path) -> None:
        initdb, pg_ctl = pg_tool("initdb"), pg_tool("pg_ctl")
        if initdb is None or pg_ctl is None:
            raise RuntimeError("PostgreSQL server programs (initdb, pg_ctl) are not installed")
        self._initdb, self._pg_ctl = initdb, pg_ctl
        self.persistent = True
        folder = work / "pg"
        folder.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            account = pwd.getpwnam("postgres")
            os.chown(folder, account.pw_uid, account.pw_gid)
        if not _postgres_can_use(folder):
            folder = Path(tempfile.mkdtemp(prefix="notifgql-bench-pg-"))
            self.persistent = False
            if os.geteuid() == 0:
                account = pwd.getpwnam("postgres")
                os.chown(folder, account.pw_uid, account.pw_gid)
        self.dir = folder
        self.data = folder / "data"
        self.port = free_port()

    def start(self) -> None:
        """Create the cluster if needed, then start it and wait for connections."""
        if not (self.data / "PG_VERSION").exists():
            shutil.rmtree(self.data, ignore_errors=True)
            command = [self._initdb, "-D", str(self.data), "-A", "trust", "-U", "postgres"]
            command += ["--no-sync", "-E", "UTF8", "--locale=C"]
            subprocess.run(as_postgres(command), check=True, capture_output=True)
        self.stop("immediate")  # a server left behind by an interrupted run
        options = f"-p {self.port} -k {self.dir} " + " ".join(
            f"-c {name}={value}" for name, value in SERVER_SETTINGS.items()
        )
        command = [self._pg_ctl, "-D", str(self.data), "-o", options]
        command += ["-l", str(self.dir / "log"), "-w", "-t", "120", "start"]
        subprocess.run(as_postgres(command), check=True, capture_output=True)

    def stop(self, mode: str = "fast") -> None:
        """Stop the server, if it runs."""
        command = [self._pg_ctl, "-D", str(self.data), "-m", mode, "-w", "stop"]
        subprocess.run(as_postgres(command), check=False, capture_output=True)

    def remove(self) -> None:
        """Stop the server; delete its files unless they are kept for the next run."""
        self.stop()
        if not self.persistent:
            shutil.rmtree(self.dir, ignore_errors=True)

    def postmaster_pid(self) -> int | None:
        """The server's main process id."""
        for _ in range(50):
            try:
                return int((self.data / "postmaster.pid").read_text().split()[0])
            except (OSError, ValueError, IndexError):
                time.sleep(0.1)
        return None

    def url(self, database: str = "postgres") -> str:
        """The SQLAlchemy URL of ``database`` on this cluster."""
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"
