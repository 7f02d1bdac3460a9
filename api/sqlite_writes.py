"""Writes to a SQLite file take turns on a lock file, so a waiting writer wakes at once.

When another process holds SQLite's write lock, SQLite's busy handler sleeps
1, 2, 5, 10 ms and more before it tries again. Two gunicorn workers that each
write on every request (a check's decision, a caller's count) collide often,
and each collision left a worker idle for a millisecond or more: a check's
write takes about 0.1 ms. ``write_turn`` takes an exclusive ``flock`` on
``<database file>-writes.lock`` around one write statement instead, and the
kernel wakes the next writer the moment the last lets go
(bench/results/2026-12-07-decision-log-quiet.md).
"""

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.db.backends.base.base import BaseDatabaseWrapper

# The lock file of each database file, opened once per process (see _lock_file).
_FILES: dict[tuple[int, str], int] = {}
# flock excludes other processes only: this process's threads take turns here first.
_THREADS = threading.Lock()


@contextmanager
def write_turn(connection: BaseDatabaseWrapper) -> Iterator[None]:
    """Hold the write turn of *connection*'s SQLite file while the block writes.

    For one statement outside a transaction, read to its end within the
    block (an ``INSERT ... RETURNING`` holds SQLite's lock until its rows
    are read). Does nothing on PostgreSQL, on an in-memory database, or in
    a transaction (``atomic``): a transaction already holds SQLite's write
    lock from its ``BEGIN IMMEDIATE``, and waiting for the turn while holding
    it could wait for ever on a writer that waits for it. A turn is held for
    one statement, which SQLite's own busy timeout bounds, so a writer waits
    at most for the statements queued before its own. Without a lock file
    (one that cannot be made), the write goes on as SQLite alone would.
    """
    if connection.vendor != "sqlite" or connection.in_atomic_block or connection.is_in_memory_db():
        yield
        return
    try:
        descriptor = _lock_file(str(connection.settings_dict["NAME"]))
    except OSError:
        # No lock file (a full disk, a read-only folder): SQLite's busy wait alone.
        yield
        return
    with _THREADS:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(descriptor, fcntl.LOCK_UN)


def _lock_file(database: str) -> int:
    """Return this process's descriptor of *database*'s lock file, opened the first time.

    Keyed by the process too: a worker forked from a process that had it
    open would share that open file, and its lock with it.
    """
    key = (os.getpid(), database)
    descriptor = _FILES.get(key)
    if descriptor is None:
        descriptor = _FILES[key] = os.open(
            f"{database}-writes.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600
        )
    return descriptor
