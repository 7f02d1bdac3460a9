"""The write turn of a SQLite file, held by a test as another worker would hold it."""

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def turn_held(path: Path) -> Iterator[None]:
    """Hold the write turn of the database file *path* until the block ends."""
    other = os.open(f"{path}-writes.lock", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(other, fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.flock(other, fcntl.LOCK_UN)
        os.close(other)
