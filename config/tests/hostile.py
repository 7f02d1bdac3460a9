"""Clients that try to hold the service's workers, for the tests and ``bench/hostile_mix.py``.

Each runs in a thread of its own until stopped, and starts again when the
server cuts it off, as an attacker would:

``SlowHeaders``
    sends a request's headers one byte at a time, with a pause between bytes;
``SlowReportReader``
    asks for the report of every stored order and reads it at a slow rate;
``BatchLoop``
    sends the largest batch the budgets allow, again and again.

Like ``config.tests.servers``, it imports neither pytest nor Django's settings.
"""

import contextlib
import http.client
import json
import socket
import threading
import time
from typing import Self
from urllib.parse import urlsplit

from config.tests.servers import http_request

RULES = ["min_total_100", "min_items_2", "divisible_by_5"]
# The largest batch: MAX_ORDERS_PER_BATCH orders x MAX_RULES_PER_CHECK rules,
# which is BATCH_MAX_CELLS (100,000), each rule a threshold of its own.
LARGEST_BATCH_ORDERS = 1000
LARGEST_BATCH_RULES = [
    {"name": "total_greater_than", "params": {"amount": f"{amount}.00"}, "as": f"over_{amount}"}
    for amount in range(100)
]
CONNECT_TIMEOUT = 5.0


def _connect(url: str, receive_buffer: int | None = None) -> socket.socket:
    """Return a socket connected to the server at *url*, with a small receive buffer if given."""
    parts = urlsplit(url)
    sock = socket.socket()
    if receive_buffer is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    sock.settimeout(CONNECT_TIMEOUT)
    sock.connect((parts.hostname, parts.port))
    return sock


def report_request(url: str, key: str) -> bytes:
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


class HostileClient(threading.Thread):
    """A client that does its harm again and again, in a thread, until ``stop``.

    Used as a context manager, it starts, and it stops when the block ends.
    ``rounds`` counts the attempts begun; ``errors`` keeps what went wrong
    other than being cut off.
    """

    def __init__(self) -> None:
        """Prepare the thread; ``start`` runs it."""
        super().__init__(daemon=True)
        self.stopping = threading.Event()
        self.rounds = 0
        self.errors: list[str] = []
        self._sock: socket.socket | None = None

    def run(self) -> None:
        """Attack until stopped, starting again whenever the server cuts the client off."""
        while not self.stopping.is_set():
            self.rounds += 1
            try:
                self.attack()
            except (OSError, http.client.HTTPException):
                # Cut off (timeout, reset, closed, an answer cut short): an
                # attacker just reconnects.
                self.stopping.wait(0.05)
            finally:
                if self._sock is not None:
                    self._sock.close()
                    self._sock = None

    def attack(self) -> None:
        """Do the harm once; raises ``OSError`` or ``HTTPException`` when cut off."""
        raise NotImplementedError

    def connect(self, url: str, receive_buffer: int | None = None) -> socket.socket:
        """Return a new connection to *url*, closed when the attack ends or the client stops."""
        self._sock = _connect(url, receive_buffer)
        return self._sock

    def stop(self) -> None:
        """Stop at once: close the connection in use and wait for the thread to end."""
        self.stopping.set()
        sock = self._sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self.join(timeout=30)

    def __enter__(self) -> Self:
        """Start attacking."""
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        """Stop attacking."""
        self.stop()


class SlowHeaders(HostileClient):
    """Send a check's request headers one byte every *pause* seconds, never finishing them."""

    def __init__(self, url: str, pause: float = 2.0) -> None:
        """Attack the server at *url*."""
        super().__init__()
        self.url = url
        self.pause = pause
        self.bytes_sent = 0
        self.sending = threading.Event()

    def attack(self) -> None:
        """Send the request line at once, then the headers a byte at a time, forever."""
        sock = self.connect(self.url)
        sock.sendall(b"POST /rules/check/ HTTP/1.1\r\n")
        header = b"Content-Type: application/json\r\n" * 1000
        for byte in header:
            sock.sendall(bytes([byte]))
            self.bytes_sent += 1
            self.sending.set()
            if self.stopping.wait(self.pause):
                return


class SlowReportReader(HostileClient):
    """Ask for the report of every order with *key*, and read it at *rate* bytes a second.

    ``received`` is what the last report brought so far; ``reading`` is set
    once its first bytes have come.
    """

    def __init__(self, url: str, key: str, rate: int = 16 * 1024) -> None:
        """Read from the server at *url*, with the API key *key* (scope ``analyze``)."""
        super().__init__()
        self.url = url
        self.key = key
        self.rate = rate
        self.received = bytearray()
        self.reading = threading.Event()

    def attack(self) -> None:
        """Read one report slowly, to its end."""
        # A small receive buffer, so that the server really waits for the reader.
        sock = self.connect(self.url, receive_buffer=4096)
        sock.settimeout(None)
        sock.sendall(report_request(self.url, self.key))
        self.received = bytearray()
        step = max(self.rate // 10, 1)
        while not self.stopping.is_set():
            chunk = sock.recv(step)
            if not chunk:
                return
            self.received += chunk
            self.reading.set()
            self.stopping.wait(len(chunk) / self.rate)


class BatchLoop(HostileClient):
    """Send the largest batch the budgets allow with *key*, again and again.

    ``answered`` counts the batches that came back 200.
    """

    def __init__(self, url: str, key: str, timeout: float = 120.0) -> None:
        """Send to the server at *url*, with the API key *key* (scope ``check``)."""
        super().__init__()
        self.url = url
        self.key = key
        self.timeout = timeout
        self.answered = 0
        self.body = {
            "order_ids": list(range(1, LARGEST_BATCH_ORDERS + 1)),
            "rules": LARGEST_BATCH_RULES,
        }

    def attack(self) -> None:
        """Send one batch and read its whole answer."""
        reply = http_request(
            f"{self.url}/rules/check/batch/",
            self.body,
            timeout=self.timeout,
            headers={"Authorization": f"Api-Key {self.key}"},
        )
        if reply.status == 200:
            self.answered += 1
        else:
            self.errors.append(f"batch answered {reply.status}: {reply.body[:200]!r}")


class CheckClient:
    """A checkout system: ``POST /rules/check/`` on one kept-alive connection, timed.

    Each ``check`` returns the status and the seconds the answer took; a
    connection the server closes is opened again for the next check.
    """

    def __init__(self, url: str, timeout: float) -> None:
        """Check against the server at *url*, waiting at most *timeout* seconds per answer."""
        parts = urlsplit(url)
        self.connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
        self.count = 0

    def check(self) -> tuple[int, float]:
        """Check one of the seeded orders; return the status and seconds taken.

        Raises ``OSError`` (``TimeoutError`` included) or ``HTTPException``
        when no whole answer comes.
        """
        self.count += 1
        body = json.dumps({"order_id": self.count % 3 + 1, "rules": RULES})
        started = time.perf_counter()
        try:
            self.connection.request(
                "POST", "/rules/check/", body, {"Content-Type": "application/json"}
            )
            response = self.connection.getresponse()
            response.read()
        except (OSError, http.client.HTTPException):
            self.connection.close()
            raise
        if response.will_close:
            self.connection.close()
        return response.status, time.perf_counter() - started

    def close(self) -> None:
        """Close the connection."""
        self.connection.close()
