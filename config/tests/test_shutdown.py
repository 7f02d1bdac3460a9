"""Stopping gunicorn (SIGTERM): new connections are refused, accepted ones are answered.

Nothing is lost either: every check answered 200 has its decision stored.
"""

import hashlib
import http.client
import inspect
import itertools
import json
import signal
import socket
import sqlite3
import threading
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from gunicorn.workers.sync import SyncWorker

from config.tests.servers import http_request

pytestmark = pytest.mark.server

CLIENTS = 16
# The load of the issue: 16 clients, SIGTERM after 3 s.
SIGNAL_AFTER_SECONDS = 3.0
# Neither a worker's drain period nor gunicorn's graceful timeout ends while a
# test waits: a server that exits has stopped because its queue was empty.
UNENDING = {"SHUTDOWN_DRAIN_SECONDS": "3600", "GUNICORN_GRACEFUL_TIMEOUT": "3600"}
# Bounds on the waits, far above what they take, so a broken shutdown fails, not hangs.
LOG_TIMEOUT = 10.0
EXIT_TIMEOUT = 60.0
CHECK = {"order_id": 1, "rules": ["min_total_100", "min_items_2", "divisible_by_5"]}
CHECK_PREFIX = "shutdown-check-"
SHUTTING_DOWN = {
    "error": "Service Unavailable",
    "code": "shutting_down",
    "detail": "The server is shutting down; send requests to another instance.",
}


@dataclass(frozen=True)
class Outcome:
    """One request: its status, or the error it met, and its request id."""

    status: int | None
    error: str | None
    request_id: str = ""


def send(url: str, path: str, body: dict | None = None, request_id: str = "") -> Outcome:
    """GET *path*, or POST *body* to it, on a fresh connection, as a load balancer's clients do."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    headers = {"X-Request-ID": request_id} if request_id else {}
    try:
        if body is None:
            connection.request("GET", path, headers=headers)
        else:
            headers["Content-Type"] = "application/json"
            connection.request("POST", path, json.dumps(body), headers=headers)
        response = connection.getresponse()
        response.read()
        return Outcome(response.status, None, request_id)
    except OSError as exc:
        return Outcome(None, type(exc).__name__, request_id)
    finally:
        connection.close()


class SteadyLoad:
    """*CLIENTS* threads that each send one request after another until stopped.

    Every other request is a check (``POST /rules/check/``), with a request id
    of its own: ``CHECK_PREFIX`` and a number.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.outcomes: list[Outcome] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._numbers = itertools.count()
        self._threads = [threading.Thread(target=self._client) for _ in range(CLIENTS)]

    def _client(self) -> None:
        while not self._stop.is_set():
            number = next(self._numbers)
            if number % 2:
                outcome = send(self.url, "/rules/check/", CHECK, f"{CHECK_PREFIX}{number}")
            else:
                outcome = send(self.url, "/rules/")
            with self._lock:
                self.outcomes.append(outcome)
            if outcome.error:
                # The server is gone: do not spin on refused connections.
                self._stop.wait(0.05)

    def __enter__(self) -> "SteadyLoad":
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)


def connection_accepted(url: str) -> bool:
    """Return whether the server completes a new TCP connection within half a second."""
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname, parts.port), timeout=0.5):
            return True
    except (TimeoutError, ConnectionRefusedError):
        return False


def logged_messages(server) -> list[str]:
    """Return the messages of the JSON lines *server* has logged so far."""
    return [json.loads(line)["message"] for line in server.log().splitlines() if line[:1] == "{"]


def wait_for_log(server, message: str) -> None:
    """Return once gunicorn has logged *message*; fail after ``LOG_TIMEOUT`` seconds."""
    deadline = time.monotonic() + LOG_TIMEOUT
    while message not in logged_messages(server):
        if time.monotonic() > deadline:
            pytest.fail(f"gunicorn did not log {message!r}:\n{server.log()}")
        time.sleep(0.05)


def recorded_checks(site: Path) -> set[str]:
    """Return the request ids of the load's checks that the site's decision log holds."""
    with closing(sqlite3.connect(site / "db.sqlite3")) as database:
        rows = database.execute(
            "SELECT request_id FROM decisions_decision WHERE request_id LIKE ?",
            [f"{CHECK_PREFIX}%"],
        )
        return {request_id for (request_id,) in rows}


def test_sigterm_under_load_refuses_new_connections_and_answers_every_accepted_one(
    gunicorn_site, gunicorn_factory
):
    site, _ = gunicorn_site
    server = gunicorn_factory(WEB_CONCURRENCY="2", **UNENDING)

    with SteadyLoad(server.url) as load:
        # The load profile, not a wait for a state.
        time.sleep(SIGNAL_AFTER_SECONDS)
        server.process.send_signal(signal.SIGTERM)
        # Under a load that goes on, only a server that stopped accepting can
        # empty its queue and exit.
        exit_code = server.process.wait(EXIT_TIMEOUT)

    refused = "ConnectionRefusedError"
    # Neither reset nor cut short, in flight or queued: every request was
    # answered in full, or refused before it was sent.
    assert [o for o in load.outcomes if o.status != 200 and o.error != refused] == []
    assert refused in {o.error for o in load.outcomes}
    assert exit_code == 0
    # A 200 means the decision is stored, and nothing stored went unanswered.
    answered = {o.request_id for o in load.outcomes if o.request_id and o.status == 200}
    assert answered
    assert recorded_checks(site) == answered


def test_a_connection_accepted_before_sigterm_is_answered_shutting_down(gunicorn_factory):
    server = gunicorn_factory(WEB_CONCURRENCY="2")
    parts = urlsplit(server.url)
    accepted = socket.create_connection((parts.hostname, parts.port), timeout=10)

    with accepted:
        server.process.send_signal(signal.SIGTERM)
        wait_for_log(server, "Handling signal: term")
        refused_while_draining = not connection_accepted(server.url)
        accepted.sendall(b"GET /health/ready HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        response = http.client.HTTPResponse(accepted)
        response.begin()
        status, body = response.status, json.loads(response.read())
    exit_code = server.process.wait(LOG_TIMEOUT)

    assert refused_while_draining is True
    assert (status, body) == (503, SHUTTING_DOWN)
    assert exit_code == 0
    assert connection_accepted(server.url) is False


def test_an_idle_server_stops_on_sigterm_without_waiting_out_its_drain_period(gunicorn_factory):
    server = gunicorn_factory(**UNENDING)
    assert send(server.url, "/health/live").status == 200

    server.process.send_signal(signal.SIGTERM)

    # With nothing queued there is nothing to wait for: the workers stop on their own.
    assert server.process.wait(EXIT_TIMEOUT) == 0


@pytest.mark.parametrize(
    ("path", "status"),
    [("/health/", 200), ("/admin/login/", 200), ("/no/such/path", 404), ("/rules/check/", 405)],
)
def test_gunicorn_does_not_name_itself(gunicorn_server, path, status):
    reply = http_request(f"{gunicorn_server}{path}")

    assert reply.status == status
    assert reply.headers.get_all("Server") is None


# The source of gunicorn 27.0.1's SyncWorker.handle_request, which DrainingSyncWorker restates.
RESTATED_HANDLE_REQUEST = "c706b9604ab86dd826389ae6261fcc7732732a80d28c0e3ef6e8bb1f564d709f"


def test_the_restated_request_handling_is_gunicorns_own():
    """A gunicorn upgrade that changes it fails here: restate it again, then update the hash."""
    source = inspect.getsource(SyncWorker.handle_request)

    assert hashlib.sha256(source.encode()).hexdigest() == RESTATED_HANDLE_REQUEST
