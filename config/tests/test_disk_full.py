"""A full disk: writes answer 503 ``database_unavailable``, and work again once space is back.

Readiness says so first: below ``DISK_FREE_MIN_BYTES`` free it answers 503
``disk_low``, while writes still work.

The SQLite file lives on a small tmpfs in a user and mount namespace of its
own (``unshare``), and gunicorn runs inside that namespace; the test reaches
the tmpfs through ``/proc/<pid>/root``. Where the system allows no such
namespace, the test is skipped.
"""

import errno
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest

from config.tests.scrapes import Scrape
from config.tests.servers import REPO_ROOT, GunicornServer, http_request, start_gunicorn

pytestmark = pytest.mark.server

TMPFS_SIZE = "1m"
# Readiness's floor on the tmpfs: under what the database leaves free of it.
FLOOR = 256 * 1024
READY = {"status": "ok", "database": "ok", "throttle_store": "ok"}
DISK_LOW = {
    "error": "Service Unavailable",
    "code": "disk_low",
    "detail": "The database's volume is nearly full (under DISK_FREE_MIN_BYTES free): "
    "free space or grow the volume.",
}
ORDER = {"total": "10.00", "items_count": 2}
UNAVAILABLE = {
    "error": "Service Unavailable",
    "code": "database_unavailable",
    "detail": "The database is not available. Try again shortly.",
}
# Mount a tmpfs of size $1 on $2, copy the database $3 onto it, then run the rest.
MOUNT_AND_RUN = 'mount -t tmpfs -o size="$1" tmpfs "$2" && cp "$3" "$2/" && shift 3 && exec "$@"'
CREATE_TOKEN = """
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
import sys
sys.stdout.write(Token.objects.create(user=get_user_model().objects.create_superuser("writer")).key)
"""


def in_namespace(*command: str) -> list[str]:
    """Return *command* run in a new user and mount namespace, as its root."""
    return ["unshare", "--user", "--map-root-user", "--mount", *command]


@pytest.fixture
def tmpfs_allowed(tmp_path: Path) -> None:
    """Skip the test unless this system lets us mount a tmpfs in a namespace."""
    if shutil.which("unshare") is None:
        pytest.skip("needs unshare (util-linux) to mount a small tmpfs")
    probe = subprocess.run(
        in_namespace("mount", "-t", "tmpfs", "-o", "size=4k", "tmpfs", str(tmp_path)),
        capture_output=True,
        text=True,
        timeout=30,
    )
    if probe.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs in a user namespace here: {probe.stderr.strip()}")


def post_order(url: str, token: str) -> tuple[int, dict]:
    """Create an order through the API; return the status and the JSON body."""
    reply = http_request(
        f"{url}/orders/", ORDER, timeout=10, headers={"Authorization": f"Token {token}"}
    )
    return reply.status, reply.json()


def fill(directory: Path, name: str = "filler") -> Path:
    """Write a file in *directory* until its file system has no byte left; return the file.

    Large pieces first, then ever smaller ones: a write of 64 KiB that does not
    fit may leave enough room for a database page.
    """
    filler = directory / name
    with filler.open("wb", buffering=0) as file:
        for piece in (64 * 1024, 4096, 512, 1):
            try:
                while True:
                    file.write(bytes(piece))
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
    return filler


@dataclass
class SmallDisk:
    """A gunicorn whose SQLite file is alone on a 1 MiB tmpfs, the tmpfs, and a writer's token."""

    server: GunicornServer
    disk: Path
    token: str

    def ready(self) -> tuple[int, dict]:
        """Ask for readiness; return the status and the JSON body."""
        reply = http_request(f"{self.server.url}/health/ready", timeout=10)
        return reply.status, reply.json()

    def post_order(self) -> tuple[int, dict]:
        """Create an order through the API; return the status and the JSON body."""
        return post_order(self.server.url, self.token)


@pytest.fixture
def small_disk(gunicorn_site, tmp_path, tmpfs_allowed) -> Iterator[SmallDisk]:
    """Serve a copy of the site's database from a 1 MiB tmpfs, its floor at FLOOR bytes."""
    site, env = gunicorn_site
    database = tmp_path / "db.sqlite3"
    with (
        closing(sqlite3.connect(site / "db.sqlite3")) as source,
        closing(sqlite3.connect(database)) as copy,
    ):
        source.backup(copy)
    token = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", CREATE_TOKEN],
        cwd=REPO_ROOT,
        env={**env, "DATABASE_URL": f"sqlite:///{database}"},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout.split()[-1]
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    with start_gunicorn(
        {
            **env,
            "DATABASE_URL": f"sqlite:///{mount_point / 'db.sqlite3'}",
            "DISK_FREE_MIN_BYTES": str(FLOOR),
        },
        tmp_path / "gunicorn.log",
        prefix=in_namespace(
            "sh", "-c", MOUNT_AND_RUN, "sh", TMPFS_SIZE, str(mount_point), str(database)
        ),
    ) as server:
        # The tmpfs as gunicorn sees it, inside its namespace.
        disk = Path(f"/proc/{server.process.pid}/root") / mount_point.relative_to("/")
        yield SmallDisk(server, disk, token)


def test_a_full_disk_fails_writes_with_503_until_space_is_freed(small_disk):
    before = small_disk.post_order(), small_disk.ready()

    # A failed write may free room (SQLite drops its write-ahead log when its
    # connection closes): the disk is filled again before each write.
    fillers, while_full = [], []
    for attempt in range(2):
        fillers.append(fill(small_disk.disk, f"filler-{attempt}"))
        while_full.append(small_disk.post_order())
    ready_while_full = small_disk.ready()
    for filler in fillers:
        filler.unlink()
    after = small_disk.post_order(), small_disk.ready()

    assert before[0][0] == 201
    assert before[1] == (200, READY)
    assert while_full == [(503, UNAVAILABLE)] * 2
    assert ready_while_full == (503, DISK_LOW)
    assert after[0][0] == 201
    assert after[0][1]["id"] == before[0][1]["id"] + 1
    assert after[1] == (200, READY)


def test_readiness_answers_disk_low_below_the_floor_while_writes_still_work(small_disk):
    free = shutil.disk_usage(small_disk.disk).free
    filler = small_disk.disk / "filler"
    filler.write_bytes(bytes(free - FLOOR // 2))

    ready_below_floor = small_disk.ready()
    written_below_floor = small_disk.post_order()
    scrape = Scrape(http_request(f"{small_disk.server.url}/metrics", timeout=10).body.decode())
    filler.unlink()
    ready_after = small_disk.ready()

    assert ready_below_floor == (503, DISK_LOW)
    assert written_below_floor[0] == 201
    assert scrape.total("rule_engine_database_volume_free_bytes") < FLOOR
    assert scrape.total("rule_engine_database_volume_free_min_bytes") == FLOOR
    assert scrape.total("rule_engine_decision_log_bytes") > 0
    assert ready_after == (200, READY)
