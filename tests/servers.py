"""Throwaway servers for the suite: a PostgreSQL cluster made with initdb, and a Redis."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

PG_BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pg_tool(name: str) -> str | None:
    """The path of a PostgreSQL server program, newest version first."""
    for directory in PG_BIN_DIRS:
        if (directory / name).exists():
            return str(directory / name)
    return shutil.which(name)


def as_postgres(command: list[str]) -> list[str]:
    """``command`` run as the postgres OS user when we are root."""
    # initdb refuses to run as root; the Debian packages provide a postgres user.
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


class PostgresCluster:
    """A PostgreSQL cluster in a temp dir, trust auth, on its own loopback port."""

    def __init__(self) -> None:
        initdb = pg_tool("initdb")
        pg_ctl = pg_tool("pg_ctl")
        if initdb is None or pg_ctl is None:
            raise RuntimeError("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
        self._initdb, self._pg_ctl = initdb, pg_ctl
        self.dir = Path(tempfile.mkdtemp(prefix="notifgql-pg-"))
        self.port = free_port()
        if os.geteuid() == 0:
            pg = pwd.getpwnam("postgres")
            os.chown(self.dir, pg.pw_uid, pg.pw_gid)
        self.data = self.dir / "data"

    def init(self) -> None:
        """Create the cluster's files."""
        subprocess.run(
            as_postgres(
                [
                    self._initdb,
                    "-D",
                    str(self.data),
                    "-A",
                    "trust",
                    "-U",
                    "postgres",
                    "--no-sync",
                    "-E",
                    "UTF8",
                ]
            ),
            check=True,
            capture_output=True,
        )

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        options = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        subprocess.run(
            as_postgres(
                [
                    self._pg_ctl,
                    "-D",
                    str(self.data),
                    "-o",
                    options,
                    "-l",
                    str(self.dir / "log"),
                    "-w",
                    "-t",
                    "60",
                    "start",
                ]
            ),
            check=True,
            capture_output=True,
        )

    def stop(self, mode: str = "fast") -> None:
        """Stop the server."""
        subprocess.run(
            as_postgres([self._pg_ctl, "-D", str(self.data), "-m", mode, "-w", "stop"]),
            check=False,
            capture_output=True,
        )

    def begin_smart_shutdown(self) -> None:
        """Ask for a smart shutdown and return at once: the server refuses new connections
        (57P03) while it waits for the open ones to end."""
        subprocess.run(
            as_postgres([self._pg_ctl, "-D", str(self.data), "-m", "smart", "-W", "stop"]),
            check=True,
            capture_output=True,
        )

    def url(self, database: str = "postgres") -> str:
        """The SQLAlchemy URL of ``database`` on this cluster."""
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    def remove(self) -> None:
        """Stop the server and delete its files."""
        self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)


@contextlib.contextmanager
def postgres_cluster() -> Iterator[PostgresCluster]:
    """A running throwaway cluster for the block."""
    cluster = PostgresCluster()
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        cluster.remove()


class RedisServer:
    """A redis-server in a temp dir, no persistence, on its own loopback port."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed")
        self._binary = binary
        self.dir = Path(tempfile.mkdtemp(prefix="notifgql-redis-"))
        self.port = free_port()
        self._process: subprocess.Popen[str] | None = None
        self._pump: threading.Thread | None = None

    def start(self, timeout: float = 30.0) -> None:
        """Start the server and wait until it says it accepts connections."""
        self._process = subprocess.Popen(
            [
                self._binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.dir),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        said_ready = threading.Event()
        ended = threading.Event()
        output = self._process.stdout
        assert output is not None

        def pump() -> None:
            # Redis logs this line once it listens, so no polling is needed; reading on
            # also keeps a full pipe from ever blocking the server.
            for line in output:
                if "Ready to accept connections" in line:
                    said_ready.set()
            ended.set()
            said_ready.set()

        self._pump = threading.Thread(target=pump, daemon=True)
        self._pump.start()
        if not said_ready.wait(timeout) or ended.is_set():
            self.stop()
            raise RuntimeError("redis-server did not start")

    def url(self) -> str:
        """The redis:// URL of this server."""
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        """Stop the server and delete its files."""
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if self._pump is not None:
            self._pump.join(timeout=10)  # it ends at the log's end, once the server exits
        if self._process is not None and self._process.stdout is not None:
            self._process.stdout.close()
        shutil.rmtree(self.dir, ignore_errors=True)


@contextlib.contextmanager
def redis_server() -> Iterator[RedisServer]:
    """A running throwaway Redis for the block."""
    server = RedisServer()
    try:
        server.start()
        yield server
    finally:
        server.stop()
