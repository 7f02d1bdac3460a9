"""Writes to a SQLite file take turns on its lock file; transactions and memory do not wait."""

import fcntl
import os
import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from api.sqlite_writes import write_turn
from api.tests.turns import turn_held

WAIT = 0.3


def database(path: Path, *, vendor: str = "sqlite", atomic: bool = False) -> Any:
    """Return what ``write_turn`` reads of a connection to the database file *path*."""
    return SimpleNamespace(
        vendor=vendor,
        in_atomic_block=atomic,
        is_in_memory_db=lambda: str(path) == ":memory:",
        settings_dict={"NAME": str(path)},
    )


def write_in_thread(connection: Any) -> threading.Event:
    """Start a write within ``write_turn`` in a thread; return the event it sets once in."""
    entered = threading.Event()

    def write() -> None:
        with write_turn(connection):
            entered.set()

    threading.Thread(target=write, daemon=True).start()
    return entered


def test_a_write_waits_for_the_turn_another_writer_holds(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    with turn_held(path):
        entered = write_in_thread(database(path))
        assert not entered.wait(WAIT)

    assert entered.wait(5)


def test_the_turn_is_free_again_after_a_write(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    with write_turn(database(path)):
        pass

    other = os.open(f"{path}-writes.lock", os.O_RDWR)
    try:
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)  # raises if still held
    finally:
        os.close(other)


def test_a_failed_write_gives_the_turn_back(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    with pytest.raises(RuntimeError), write_turn(database(path)):
        raise RuntimeError("the statement failed")

    assert write_in_thread(database(path)).wait(5)


@pytest.mark.parametrize(
    ("name", "vendor", "atomic"),
    [
        ("db.sqlite3", "sqlite", True),
        (":memory:", "sqlite", False),
        ("db.sqlite3", "postgresql", False),
    ],
    ids=["in a transaction", "in memory", "PostgreSQL"],
)
def test_a_write_that_needs_no_turn_does_not_wait(
    tmp_path: Path, name: str, vendor: str, atomic: bool
) -> None:
    path = tmp_path / "db.sqlite3"
    target = path if name == "db.sqlite3" else Path(name)
    with turn_held(path):
        assert write_in_thread(database(target, vendor=vendor, atomic=atomic)).wait(5)


def test_without_a_lock_file_a_write_goes_on(tmp_path: Path) -> None:
    # No folder to make the lock file in: the write is SQLite's alone, as before.
    assert write_in_thread(database(tmp_path / "gone" / "db.sqlite3")).wait(5)
