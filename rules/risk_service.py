"""A stand-in risk-scoring service: real HTTP on the loopback, for the demo and the tests.

``make risk-service`` (``manage.py risk_service``) serves it on
http://127.0.0.1:8099/score: a POST of the risk provider's inputs (JSON by
fact path) answers ``{"score": N}``, N looked up by the order's
``customer.id`` (``--score C-1=85``), ``--default-score`` for any other
customer. ``--latency-ms`` delays every answer, ``--token`` requires
``Authorization: Bearer <token>`` (401 without it).

Tests start it in their own process on a free port (``RiskService().start()``)
and steer it: latency, an error status, a garbage or oversized body, a
redirect, or a hang that holds every request until released; it records each
request received, how many were in flight at once and how many are held.
"""

from __future__ import annotations

import hmac
import json
import logging
import socket
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

logger = logging.getLogger(__name__)

HOST = "127.0.0.1"
DEFAULT_PORT = 8099
DEFAULT_SCORE = 20
# How much an oversized answer writes at a time.
_CHUNK = 64 * 1024


@dataclass(frozen=True, slots=True)
class Behaviour:
    """How the service answers: the scores, or one of the failures tests need.

    ``status`` other than 200 answers that status; ``body`` answers those
    bytes as they are; ``oversized`` streams that many bytes with no
    ``Content-Length``; ``redirect`` answers 302 to that location; ``hang``
    holds every request until ``RiskService.release``.
    """

    latency: float = 0.0
    status: int = 200
    body: bytes | None = None
    oversized: int = 0
    redirect: str | None = None
    hang: bool = False


@dataclass(frozen=True, slots=True)
class Received:
    """One request the service received: its path, bearer header and JSON body."""

    path: str
    authorization: str | None
    body: Any


@dataclass
class _Traffic:
    """What the service has seen, guarded by ``RiskService._changed``."""

    received: list[Received] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    held: int = 0
    oversized_finished: int = 0


class RiskService:
    """The stand-in risk service: a threading HTTP server and the controls of its answers."""

    def __init__(
        self,
        *,
        scores: Mapping[str, int] | None = None,
        default_score: int = DEFAULT_SCORE,
        port: int = 0,
        latency_ms: float = 0.0,
        token: str = "",
    ) -> None:
        """Set what it answers; port 0 takes a free port when it starts."""
        self.scores = dict(scores or {})
        self.default_score = default_score
        self.token = token
        self.behaviour = Behaviour(latency=latency_ms / 1000)
        self._port = port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._changed = threading.Condition()
        self._traffic = _Traffic()
        self._released = threading.Event()

    # --- Running ------------------------------------------------------------------

    def start(self) -> RiskService:
        """Listen on 127.0.0.1 and serve from a background thread; return the service."""
        self.listen()
        self._thread = threading.Thread(
            target=self.serve_forever, name="risk-service", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until ``stop`` (listening first if not yet)."""
        self._listening().serve_forever(poll_interval=0.05)

    def stop(self) -> None:
        """Stop serving, release held requests and close every connection."""
        self._released.set()
        server = self._server
        if server is None:
            return
        if self._thread is not None:
            server.shutdown()
            self._thread.join()
        server.server_close()
        server.close_connections()
        self._server = None

    @property
    def url(self) -> str:
        """Return the address to set as ``RISK_SERVICE_URL``."""
        if self._server is None:
            raise RuntimeError("the risk service is not started")
        return f"http://{HOST}:{self._server.server_address[1]}/score"

    def listen(self) -> None:
        """Listen on 127.0.0.1, once: the port is taken (and ``url`` known) from now on."""
        self._listening()

    def _listening(self) -> _Server:
        """Return the listening server, made on the first call."""
        if self._server is None:
            self._server = _Server((HOST, self._port), _Handler)
            self._server.service = self
        return self._server

    # --- Controls -----------------------------------------------------------------

    def behave(self, **changes: Any) -> None:
        """Answer from now on as *changes* to ``Behaviour`` say (``behave(status=503)``)."""
        if changes.get("hang"):
            self._released.clear()
        self.behaviour = replace(self.behaviour, **changes)

    def release(self) -> None:
        """Let every held request go on, and hold no more."""
        self.behaviour = replace(self.behaviour, hang=False)
        self._released.set()

    @property
    def received(self) -> list[Received]:
        """Return the requests received so far, in order."""
        with self._changed:
            return list(self._traffic.received)

    @property
    def max_in_flight(self) -> int:
        """Return the most requests it was answering at once."""
        with self._changed:
            return self._traffic.max_in_flight

    @property
    def held(self) -> int:
        """Return how many requests are held by a hang right now."""
        with self._changed:
            return self._traffic.held

    @property
    def oversized_finished(self) -> int:
        """Return how many oversized answers were written to their end."""
        with self._changed:
            return self._traffic.oversized_finished

    # --- Answering ----------------------------------------------------------------

    def answer(self, handler: _Handler, received: Received) -> None:
        """Answer one request as the current behaviour says, counting it meanwhile."""
        behaviour = self.behaviour
        with self._changed:
            traffic = self._traffic
            traffic.received.append(received)
            traffic.in_flight += 1
            traffic.max_in_flight = max(traffic.max_in_flight, traffic.in_flight)
            self._changed.notify_all()
        try:
            if behaviour.hang:
                self._hold()
            if behaviour.latency:
                # The service's own latency, not a test waiting for a state.
                threading.Event().wait(behaviour.latency)
            self._respond(handler, behaviour, received)
        finally:
            with self._changed:
                traffic.in_flight -= 1
                self._changed.notify_all()

    def _hold(self) -> None:
        """Hold the request until released (or the service stops)."""
        with self._changed:
            self._traffic.held += 1
            self._changed.notify_all()
        try:
            self._released.wait()
        finally:
            with self._changed:
                self._traffic.held -= 1

    def _respond(self, handler: _Handler, behaviour: Behaviour, received: Received) -> None:
        """Write the answer *behaviour* asks for."""
        if self.token and not _bearer_matches(received.authorization, self.token):
            handler.reply(401, _json({"error": "unauthorized"}))
        elif behaviour.redirect is not None:
            handler.reply(302, b"", {"Location": behaviour.redirect})
        elif behaviour.status != 200:
            handler.reply(behaviour.status, _json({"error": "failing as asked"}))
        elif behaviour.body is not None:
            handler.reply(200, behaviour.body)
        elif behaviour.oversized:
            if handler.stream(behaviour.oversized):
                with self._changed:
                    self._traffic.oversized_finished += 1
        elif not isinstance(received.body, dict):
            handler.reply(400, _json({"error": "a JSON object of the order's facts is expected"}))
        else:
            customer = received.body.get("customer.id")
            score = self.scores.get(customer, self.default_score)
            logger.info("risk service scored", extra={"customer_id": customer, "score": score})
            handler.reply(200, _json({"score": score}))


def _bearer_matches(authorization: str | None, token: str) -> bool:
    """Return whether *authorization* is ``Bearer <token>``."""
    scheme, _, credentials = (authorization or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(credentials.encode(), token.encode())


def _json(value: Any) -> bytes:
    """Return *value* as JSON bytes."""
    return json.dumps(value).encode()


class _Server(ThreadingHTTPServer):
    """A threading HTTP server that knows its open connections, to close them on stop."""

    daemon_threads = True
    service: RiskService

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Start with no connection open."""
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def process_request(self, request: Any, client_address: Any) -> None:
        """Remember the connection while a thread serves it."""
        with self._lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        """Forget the connection as it closes."""
        with self._lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Close every connection still open: kept-alive ones would still be answered."""
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:  # already closed by the client
                continue


class _Handler(BaseHTTPRequestHandler):
    """One connection's requests: HTTP/1.1, kept alive between answers."""

    protocol_version = "HTTP/1.1"
    # Headers and body go out as two writes: without this, the body would wait for the
    # client's delayed acknowledgement of the headers (40 ms on Linux).
    disable_nagle_algorithm = True
    server: _Server

    def do_POST(self) -> None:
        """Read the JSON body and answer it as the service's behaviour says."""
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        received = Received(self.path, self.headers.get("Authorization"), body)
        self.server.service.answer(self, received)

    def reply(self, status: int, body: bytes, headers: Mapping[str, str] | None = None) -> None:
        """Send *status* and *body* with its length; a client gone meanwhile is no error."""
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            self.close_connection = True

    def stream(self, size: int) -> bool:
        """Send *size* bytes of JSON-ish text with no length, then close; return if all went."""
        self.close_connection = True
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Connection", "close")
            self.end_headers()
            sent = 0
            while sent < size:
                chunk = b" " * min(_CHUNK, size - sent)
                self.wfile.write(chunk)
                sent += len(chunk)
        except OSError:  # the client stopped reading and closed: what a capped client does
            return False
        return True

    def log_message(self, format: str, *args: Any) -> None:
        """Log nothing per request: ``answer`` logs the scores it gives."""
