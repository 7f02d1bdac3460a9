"""Throw-away PostgreSQL clusters on 127.0.0.1: a primary, and a streaming replica of it.

``start_primary`` makes a cluster with ``initdb`` and serves it on a free
port; ``start_replica`` copies a running primary with ``pg_basebackup -R``
and serves the copy as a hot standby that follows the primary. Both trust
every local connection, keep nothing durable (no fsync) and live in a
temporary folder that ``stop`` removes. As root, the clusters belong to the
``postgres`` user, since PostgreSQL refuses to run as root.

It imports neither pytest nor Django's settings, like ``servers.py``.
"""

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg2

from config.tests.servers import Stoppable, free_port, wait_until

DATABASE = "rules"
COMMAND_TIMEOUT = 120.0
# What a throw-away cluster does without: durability. The primary already
# streams to replicas (wal_level replica, max_wal_senders 10 are the defaults).
_SETTINGS = """
listen_addresses = '127.0.0.1'
unix_socket_directories = '{folder}'
fsync = off
synchronous_commit = off
"""


class ClusterError(RuntimeError):
    """A cluster could not be made, started or stopped."""


def postgres_bindir() -> Path:
    """Return the folder of PostgreSQL's server programs: ``PG_BINDIR``, or the newest found.

    Raises ``ClusterError`` when none is installed (``make test-postgres``
    installs Debian's).
    """
    candidates = [os.environ.get("PG_BINDIR", "")]
    candidates += sorted(
        (str(path.parent) for path in Path("/usr/lib/postgresql").glob("*/bin/initdb")),
        key=lambda folder: int(Path(folder).parent.name),
        reverse=True,
    )
    found = shutil.which("initdb")
    candidates.append(str(Path(found).parent) if found else "")
    for folder in candidates:
        if folder and (Path(folder) / "initdb").is_file():
            return Path(folder)
    raise ClusterError("no PostgreSQL server is installed (initdb not found); set PG_BINDIR")


def _run_as() -> list[str]:
    """Return the prefix that runs a command as the clusters' owner: ``postgres`` as root."""
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


@dataclass
class Cluster(Stoppable):
    """A running cluster: its data folder, port, server log; stopped and removed by ``stop``."""

    folder: Path
    port: int
    bindir: Path

    @property
    def data(self) -> Path:
        """Return the cluster's data folder."""
        return self.folder / "data"

    @property
    def log_path(self) -> Path:
        """Return the server's log file."""
        return self.folder / "server.log"

    @property
    def url(self) -> str:
        """Return the ``DATABASE_URL`` of the service's database in this cluster."""
        return f"postgres://postgres@127.0.0.1:{self.port}/{DATABASE}"

    def pg_ctl(self, *args: str) -> None:
        """Run ``pg_ctl`` on this cluster; raise ``ClusterError``, with the log, if it fails."""
        command = [*_run_as(), str(self.bindir / "pg_ctl"), "-D", str(self.data), *args]
        completed = subprocess.run(
            command, capture_output=True, text=True, timeout=COMMAND_TIMEOUT, check=False
        )
        if completed.returncode != 0:
            log = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
            raise ClusterError(f"pg_ctl {' '.join(args)} failed:\n{completed.stderr}\n{log}")

    def start(self) -> None:
        """Start the server and return once it accepts connections."""
        self.pg_ctl("-l", str(self.log_path), "-w", "-t", "60", "-o", f"-p {self.port}", "start")

    def halt(self) -> None:
        """Stop the server, its files kept (``fast``: sessions are ended, not waited for)."""
        self.pg_ctl("-m", "fast", "-w", "stop")

    def stop(self) -> None:
        """Stop the server if it runs, and remove the cluster's folder."""
        if (self.data / "postmaster.pid").exists():
            self.pg_ctl("-m", "immediate", "-w", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Return the rows of *sql* run on the service's database, in autocommit."""
        connection = psycopg2.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname=DATABASE, connect_timeout=5
        )
        connection.autocommit = True
        with closing(connection), connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall() if cursor.description else []


def _new_folder(kind: str) -> Path:
    """Return a new temporary folder that the clusters' owner may write in."""
    folder = Path(tempfile.mkdtemp(prefix=f"{kind}-cluster."))
    folder.chmod(0o755)
    if os.geteuid() == 0:
        shutil.chown(folder, user=pwd.getpwnam("postgres").pw_uid)
    return folder


def _started(folder: Path, bindir: Path, prepare: Callable[[], None]) -> Cluster:
    """Run *prepare*, which fills ``folder/data``, then start it on a free port.

    Another process may take the free port before the server binds it, so a
    start is tried a few times. Whatever was made is removed if it fails.
    """
    cluster = Cluster(folder, free_port(), bindir)
    try:
        prepare()
        with (cluster.data / "postgresql.auto.conf").open("a") as conf:
            conf.write(_SETTINGS.format(folder=folder))
        for attempt in range(3):
            try:
                cluster.start()
                break
            except ClusterError:
                if attempt == 2:
                    raise
                cluster.port = free_port()
    except BaseException:
        cluster.stop()
        raise
    return cluster


def _run(command: list[str]) -> None:
    """Run a PostgreSQL program as the clusters' owner; raise ``ClusterError`` if it fails."""
    completed = subprocess.run(
        [*_run_as(), *command], capture_output=True, text=True, timeout=COMMAND_TIMEOUT
    )
    if completed.returncode != 0:
        raise ClusterError(f"{command[0]} failed:\n{completed.stdout}{completed.stderr}")


def start_primary() -> Cluster:
    """Make a cluster with the service's (empty) database and start it, ready to be copied."""
    bindir = postgres_bindir()
    folder = _new_folder("primary")
    data = folder / "data"
    initdb = [str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust"]
    cluster = _started(
        folder, bindir, lambda: _run([*initdb, "--encoding=UTF8", "--no-locale", "--no-sync"])
    )
    try:
        _run([str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(cluster.port), DATABASE])
    except BaseException:
        cluster.stop()
        raise
    return cluster


def start_replica(primary: Cluster) -> Cluster:
    """Copy *primary* (``pg_basebackup -R``) and start the copy as its streaming replica.

    The replica is a hot standby: it answers reads, refuses writes, and
    replays what the primary writes, as long as both run.
    """
    folder = _new_folder("replica")
    basebackup = [
        str(primary.bindir / "pg_basebackup"),
        *("-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres"),
        *("-D", str(folder / "data"), "--write-recovery-conf", "--wal-method=stream"),
        # At once: a spread checkpoint would keep the copy waiting for a minute and more.
        *("--checkpoint=fast", "--no-sync"),
    ]
    return _started(folder, primary.bindir, lambda: _run(basebackup))


def replayed_up_to(replica: Cluster, position: str) -> bool:
    """Return whether *replica* has replayed the primary's WAL up to *position*."""
    [(behind,)] = replica.query(
        "SELECT pg_wal_lsn_diff(%s::pg_lsn, pg_last_wal_replay_lsn())", (position,)
    )
    return behind <= 0


def wait_for_replay(primary: Cluster, replica: Cluster, timeout: float = 30.0) -> None:
    """Return once *replica* has replayed all *primary* had committed; raise after *timeout* s.

    The target is the primary's insert position, not its write position: with
    ``synchronous_commit = off`` a commit may still sit in the WAL buffers
    (up to ``wal_writer_delay``), past the write position, and a replica
    "caught up" to that would not yet show it.
    """
    [(position,)] = primary.query("SELECT pg_current_wal_insert_lsn()::text")
    if not wait_until(lambda: replayed_up_to(replica, position), timeout):
        raise ClusterError(f"the replica did not catch up in {timeout} s")
