"""Stopping gunicorn (SIGTERM) while it serves: no accepted request is lost."""

import http.client
import json
import signal
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.server

CLIENTS = 16
WARM_UP_RESPONSES = 200
EXIT_TIMEOUT = 40.0


@dataclass(frozen=True)
class Outcome:
    """One request: when it was sent, and its status or the error it met."""

    sent_at: float
    status: int | None
    error: str | None
    body: bytes = b""


def send(url: str, path: str) -> Outcome:
    """GET *path* on a fresh connection, as a load balancer's clients do."""
    parts = urlsplit(url)
    sent_at = time.monotonic()
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return Outcome(sent_at, response.status, None, response.read())
    except OSError as exc:
        return Outcome(sent_at, None, repr(exc))
    finally:
        connection.close()


class SteadyLoad:
    """*CLIENTS* threads that each send one request after another until stopped."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.outcomes: list[Outcome] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._client) for _ in range(CLIENTS)]

    def _client(self) -> None:
        while not self._stop.is_set():
            outcome = send(self.url, "/rules/")
            with self._lock:
                self.outcomes.append(outcome)
            if outcome.error:
                # The server is gone: do not spin on refused connections.
                time.sleep(0.05)

    def __enter__(self) -> "SteadyLoad":
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def served(self) -> int:
        with self._lock:
            return sum(outcome.status == 200 for outcome in self.outcomes)


def test_sigterm_under_load_answers_every_request_sent_before_it(gunicorn_factory):
    server = gunicorn_factory(WEB_CONCURRENCY="2")

    with SteadyLoad(server.url) as load:
        deadline = time.monotonic() + 30
        while load.served() < WARM_UP_RESPONSES and time.monotonic() < deadline:
            time.sleep(0.05)
        signalled_at = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        readiness = send(server.url, "/health/ready")
        exit_code = server.process.wait(EXIT_TIMEOUT)
        time.sleep(0.2)

    before = [outcome for outcome in load.outcomes if outcome.sent_at < signalled_at]
    assert len(before) >= WARM_UP_RESPONSES
    assert [o for o in before if o.status != 200] == []
    assert exit_code == 0
    assert readiness.status == 503
    assert json.loads(readiness.body) == {
        "error": "Service Unavailable",
        "code": "shutting_down",
        "detail": "The server is shutting down; send requests to another instance.",
    }


def test_an_idle_server_stops_at_once_on_sigterm(gunicorn_factory):
    server = gunicorn_factory(SHUTDOWN_DRAIN_SECONDS="20")
    assert send(server.url, "/health/live").status == 200

    started = time.monotonic()
    server.process.send_signal(signal.SIGTERM)
    exit_code = server.process.wait(EXIT_TIMEOUT)

    assert exit_code == 0
    # Far below the drain period: with nothing queued there is nothing to wait for.
    assert time.monotonic() - started < 10
