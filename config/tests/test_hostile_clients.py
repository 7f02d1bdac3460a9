"""Clients that would hurt a weaker service: a slow reader of a large report, a writer beside it.

The service runs as in production (gunicorn, ``gunicorn.conf.py``) on a
SQLite site of its own with enough orders for a report of several megabytes,
larger than the kernel's socket buffers, so that the report really waits for
its reader.
"""

import http.client
import json
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from config.tests.servers import GunicornServer, manage, prepare_site, start_gunicorn

pytestmark = pytest.mark.server

ORDERS = 100_000
RULES = ["min_total_100", "min_items_2", "divisible_by_5"]
# A worker timeout far shorter than the time the slow client takes to read.
WORKER_TIMEOUT = "5"
READ_BYTES = 64 * 1024
READ_PAUSE = 0.1
SLOW_READ_SECONDS = 15.0


@pytest.fixture(scope="module")
def large_site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """Return a site with many orders: its folder and environment."""
    site = tmp_path_factory.mktemp("large-site")
    env = prepare_site(site)
    manage(env, "seed_orders", "--count", str(ORDERS), "--seed", "7")
    return site, env


@pytest.fixture(scope="module")
def analyst_key(large_site: tuple[Path, dict[str, str]]) -> str:
    """Return an API key of the large site with the ``analyze`` scope, which reports need."""
    _, env = large_site
    return manage(env, "create_api_key", "analyst", "--scopes", "analyze").splitlines()[-1]


@pytest.fixture
def slow_timeout_server(large_site: tuple[Path, dict[str, str]]) -> Iterator[GunicornServer]:
    """Serve the large site with a 5 s worker timeout."""
    site, env = large_site
    log_path = site / f"gunicorn-{time.monotonic_ns()}.log"
    with start_gunicorn({**env, "GUNICORN_TIMEOUT": WORKER_TIMEOUT}, log_path) as server:
        yield server


def _report_request(url: str, key: str) -> bytes:
    """Return the raw HTTP request of a JSON-lines report of every order, sent with *key*."""
    parts = urlsplit(url)
    body = json.dumps({"rules": RULES}).encode()
    head = (
        f"POST /rules/report/ HTTP/1.1\r\nHost: {parts.hostname}:{parts.port}\r\n"
        f"Authorization: Api-Key {key}\r\n"
        "Content-Type: application/json\r\nConnection: close\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


class SlowReader:
    """A client that asks for the report and reads it slowly, in a thread of its own."""

    def __init__(self, url: str, key: str) -> None:
        """Connect to *url* with a small receive buffer and send the request with *key*."""
        parts = urlsplit(url)
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.connect((parts.hostname, parts.port))
        self.sock.sendall(_report_request(url, key))
        self.response = http.client.HTTPResponse(self.sock)
        self.received = bytearray()
        self.first_bytes = threading.Event()
        self.thread = threading.Thread(target=self._read)

    def _read(self) -> None:
        """Read the whole answer, pausing between reads so that it lasts."""
        started = time.monotonic()
        self.response.begin()
        while chunk := self.response.read1(READ_BYTES):
            self.received += chunk
            self.first_bytes.set()
            # Stretch the read over SLOW_READ_SECONDS at least.
            if time.monotonic() - started < SLOW_READ_SECONDS:
                time.sleep(READ_PAUSE)
        self.first_bytes.set()

    def __enter__(self) -> "SlowReader":
        """Start reading."""
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        """Wait for the whole answer, then close the connection."""
        self.thread.join(timeout=300)
        self.sock.close()

    def lines(self) -> list[dict]:
        """Return the report's JSON lines."""
        assert self.response.status == 200
        return [json.loads(line) for line in bytes(self.received).splitlines()]


def _stored_orders(site: Path) -> int:
    """Return how many orders the site's database holds."""
    with closing(sqlite3.connect(site / "db.sqlite3")) as database:
        return database.execute("SELECT COUNT(*) FROM orders_order").fetchone()[0]


def test_a_report_read_slowly_for_longer_than_the_worker_timeout_completes(
    slow_timeout_server, large_site, analyst_key
):
    site, _ = large_site
    started = time.monotonic()
    with SlowReader(slow_timeout_server.url, analyst_key) as reader:
        pass
    took = time.monotonic() - started

    header, *rows = reader.lines()
    assert took > float(WORKER_TIMEOUT) * 2
    assert header == {"columns": ["order_id", *RULES, "passed"]}
    assert len(rows) == _stored_orders(site) > ORDERS
    # A row, not the error record of a report cut short.
    assert isinstance(rows[-1], list)
    assert "WORKER TIMEOUT" not in slow_timeout_server.log()


def test_an_order_written_while_a_report_streams_is_stored_at_once(
    slow_timeout_server, large_site, analyst_key
):
    site, _ = large_site
    with SlowReader(slow_timeout_server.url, analyst_key) as reader:
        assert reader.first_bytes.wait(timeout=60)
        # A writer that would wait at most a tenth of a second for the write lock.
        with closing(sqlite3.connect(site / "db.sqlite3", timeout=0.1)) as writer, writer:
            writer.execute(
                "INSERT INTO orders_order (total, items_count, created_at, updated_at) "
                "VALUES ('42.00', 2, datetime('now'), datetime('now'))"
            )
        written_while_streaming = reader.thread.is_alive()

    assert written_while_streaming
    with closing(sqlite3.connect(site / "db.sqlite3")) as reader_db:
        assert (
            reader_db.execute(
                "SELECT COUNT(*) FROM orders_order WHERE total = '42.00' AND items_count = 2"
            ).fetchone()[0]
            >= 1
        )
    assert len(reader.lines()) >= ORDERS
