"""Clients that would hurt a weaker service: slow senders and readers, the largest batches.

The service runs as in production, on a SQLite site of its own with enough
orders for a report of several megabytes, larger than the kernel's socket
buffers, so that the report really waits for its reader: proxied as
docker-compose runs it (``start_proxied_stack``: nginx in front of a check
pool and an analysis pool), or gunicorn facing the clients itself, as
``make run`` and Render run it.
"""

import http.client
import json
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, closing
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from config.tests.hostile import (
    RULES,
    BatchLoop,
    CheckClient,
    SlowHeaders,
    SlowReportReader,
    report_request,
)
from config.tests.servers import (
    GunicornServer,
    ProxiedStack,
    http_request,
    manage,
    prepare_site,
    start_gunicorn,
    start_proxied_stack,
)

pytestmark = pytest.mark.server

ORDERS = 100_000
# A worker timeout far shorter than the time the slow client takes to read.
WORKER_TIMEOUT = "5"
READ_BYTES = 64 * 1024
READ_PAUSE = 0.1
SLOW_READ_SECONDS = 15.0
# How long a check may take to come back while hostile clients press on: far
# longer than a check takes, far shorter than the worker timeout (30 s), which
# alone would free a worker held by a slow client.
CHECK_TIMEOUT = 10.0
# How long hostile clients get to take hold.
HOLD_TIMEOUT = 60.0
# How long a check may wait for the one worker a report's reader holds: far
# longer than the report's deadline and grace (6 s here), far shorter than
# the worker timeout (60 s here) or the slow read of one batch of rows.
CUT_OFF_CHECK_TIMEOUT = 30.0


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


@pytest.fixture(scope="module")
def checkout_key(large_site: tuple[Path, dict[str, str]]) -> str:
    """Return an API key of the large site with the ``check`` scope, as a checkout system has."""
    _, env = large_site
    return manage(env, "create_api_key", "checkout", "--scopes", "check").splitlines()[-1]


@pytest.fixture
def slow_timeout_server(large_site: tuple[Path, dict[str, str]]) -> Iterator[GunicornServer]:
    """Serve the large site with gunicorn alone, with a 5 s worker timeout."""
    site, env = large_site
    log_path = site / f"gunicorn-{time.monotonic_ns()}.log"
    with start_gunicorn({**env, "GUNICORN_TIMEOUT": WORKER_TIMEOUT}, log_path) as server:
        yield server


@pytest.fixture
def proxied_stack(
    large_site: tuple[Path, dict[str, str]], tmp_path: Path
) -> Iterator[ProxiedStack]:
    """Serve the large site as docker-compose does, with one worker in the analysis pool."""
    _, env = large_site
    with start_proxied_stack(env, tmp_path, analysis_workers=1) as stack:
        yield stack


class SlowReader:
    """A client that asks for the report and reads it slowly, in a thread of its own."""

    def __init__(self, url: str, key: str) -> None:
        """Connect to *url* with a small receive buffer and send the request with *key*."""
        parts = urlsplit(url)
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.connect((parts.hostname, parts.port))
        self.sock.sendall(report_request(url, key))
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
    """With gunicorn alone, the worker's heartbeats between pieces keep the timeout off it."""
    site, _ = large_site
    with SlowReader(slow_timeout_server.url, analyst_key) as reader:
        pass

    header, *rows = reader.lines()
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


def test_a_report_read_slowly_through_the_proxy_completes_and_frees_its_worker_at_once(
    proxied_stack, large_site, analyst_key
):
    """The proxy takes the whole report from the only analysis worker, then feeds the reader."""
    site, _ = large_site
    with SlowReader(proxied_stack.url, analyst_key) as reader:
        assert reader.first_bytes.wait(timeout=60)
        # The same report again needs the one analysis worker the first one used.
        second = http_request(
            f"{proxied_stack.url}/rules/report/",
            {"rules": RULES},
            timeout=60,
            headers={"Authorization": f"Api-Key {analyst_key}"},
        )
        answered_while_the_first_is_read = reader.thread.is_alive()

    assert answered_while_the_first_is_read
    assert second.status == 200
    header, *rows = reader.lines()
    assert header == {"columns": ["order_id", *RULES, "passed"]}
    assert len(rows) == _stored_orders(site) > ORDERS
    # A row, not the error record of a report cut short.
    assert isinstance(rows[-1], list)
    assert len(second.body.splitlines()) == len(rows) + 1


def test_checks_keep_answering_while_slow_clients_and_the_largest_batches_press_on(
    proxied_stack, analyst_key, checkout_key
):
    """Slow headers, slow report readers and a loop of the largest batch, all at once.

    There are more hostile clients of each kind than the pool they aim at has
    workers; facing gunicorn directly, they held every worker until the
    worker timeout killed it (30 s), and the slow readers for their report's
    whole length.
    """
    url = proxied_stack.url
    statuses = []
    with ExitStack() as attackers:
        slow_headers = [attackers.enter_context(SlowHeaders(url, pause=0.5)) for _ in range(4)]
        readers = [
            attackers.enter_context(SlowReportReader(url, analyst_key, rate=16 * 1024))
            for _ in range(2)
        ]
        batches = attackers.enter_context(BatchLoop(url, checkout_key))
        for client in slow_headers:
            assert client.sending.wait(HOLD_TIMEOUT)
        for reader in readers:
            assert reader.reading.wait(HOLD_TIMEOUT)
        checks = CheckClient(url, timeout=CHECK_TIMEOUT)
        # Checks go on until two of the largest batches have been answered beside them.
        while batches.answered < 2 and not batches.errors:
            statuses.append(checks.check()[0])
        checks.close()
        readers_rounds = [reader.rounds for reader in readers]

    assert batches.errors == []
    assert set(statuses) == {200}
    # Each slow reader was still on its first report throughout.
    assert readers_rounds == [1, 1]


def _cut_off_reader(url: str, key: str) -> tuple[socket.socket, http.client.HTTPResponse]:
    """Ask for the report with a small receive buffer; return the socket and the begun response."""
    parts = urlsplit(url)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((parts.hostname, parts.port))
    sock.sendall(report_request(url, key))
    response = http.client.HTTPResponse(sock)
    response.begin()
    return sock, response


@pytest.mark.parametrize("bytes_per_second", [0, 1024], ids=["stalled", "trickling"])
def test_a_streamed_report_is_cut_off_at_its_deadline_however_slowly_it_is_read(
    large_site, analyst_key, tmp_path, bytes_per_second
):
    """With gunicorn alone and one worker, a report's reader cannot keep it past the deadline.

    A trickling reader takes a piece within the worker timeout, so the
    worker's heartbeats keep it alive; a stalled one, but for the deadline,
    would hold it until the worker timeout killed it. Either way, the worker
    is free once ``REPORT_MAX_SECONDS`` (1 s here) and the grace for the
    error record (5 s) have passed, and the reader can tell that the report
    is cut short.
    """
    _, env = large_site
    settings = {"WEB_CONCURRENCY": "1", "GUNICORN_TIMEOUT": "60", "REPORT_MAX_SECONDS": "1"}
    with start_gunicorn({**env, **settings}, tmp_path / "gunicorn.log") as server:
        sock, response = _cut_off_reader(server.url, analyst_key)
        hurry = threading.Event()
        received = bytearray()
        outcome: list[BaseException] = []

        def read() -> None:
            """Read *bytes_per_second* until told to hurry, then the rest at once."""
            try:
                while not hurry.wait(0.5 if bytes_per_second else 60):
                    received.extend(response.read1(bytes_per_second // 2))
                while chunk := response.read1(READ_BYTES):
                    received.extend(chunk)
            except http.client.IncompleteRead as error:
                outcome.append(error)

        reader = threading.Thread(target=read)
        reader.start()
        try:
            status = http_request(
                f"{server.url}/rules/check/",
                {"order_id": 1, "rules": RULES},
                timeout=CUT_OFF_CHECK_TIMEOUT,
            ).status
        finally:
            hurry.set()
            reader.join(timeout=60)
            sock.close()

    assert status == 200
    assert [type(error) for error in outcome] == [http.client.IncompleteRead]
    assert 0 < bytes(received).count(b"\n") < ORDERS
    log = server.log()
    assert '"message":"stream cut off"' in log
    assert "WORKER TIMEOUT" not in log
