"""Graceful shutdown: refuse new connections at once, answer every accepted one.

When the gunicorn master gets SIGTERM, the handler that ``gunicorn.conf.py``
installs (``refuse_new_connections_on_sigterm``), in this order:

1. turns readiness to 503 ``shutting_down`` in every worker;
2. stops the listening socket from taking new connections: a socket filter
   drops every new connection request (a bare SYN), so the queue of
   connections the kernel has already accepted can only shrink from then on;
3. lets gunicorn carry on: it closes its own copy of the socket and sends
   SIGTERM to the workers.

Each ``DrainingSyncWorker`` then serves every connection still queued and
exits once the queue is empty. When the last worker exits the socket is
closed, and any new connection is refused, including one whose SYN was
dropped meanwhile: the client's TCP retries it about a second later. Stock
gunicorn resets the queued connections instead, and without the filter a
draining worker would accept new connections for the whole drain.

The same worker answers without gunicorn's ``Server`` header
(``AnonymousResponse``): the service does not tell what serves it.
"""

import contextlib
import ctypes
import logging
import mmap
import os
import signal
import socket
import struct
import sys
import threading
from datetime import datetime
from types import FrameType

from gunicorn import util
from gunicorn.arbiter import Arbiter
from gunicorn.http import wsgi
from gunicorn.http.message import Request
from gunicorn.sock import BaseSocket
from gunicorn.workers.sync import SyncWorker

logger = logging.getLogger(__name__)

# Anonymous shared memory: gunicorn.conf.py imports this module in the master,
# before it forks the workers, so a flag the master raises is seen by them all.
_shutting_down = mmap.mmap(-1, 1)

# <asm-generic/socket.h>; Python's socket module does not export it.
_SO_ATTACH_FILTER = 26
# A classic BPF socket filter. A TCP listener's filter sees each segment from
# its TCP header on: drop a bare SYN (byte 13, SYN set and ACK clear), which
# only a new connection sends, and keep everything else, so handshakes under
# way still complete into the queue.
_DROP_NEW_CONNECTIONS = (
    (0x30, 0, 0, 13),  # ldb [13]: the TCP flags
    (0x54, 0, 0, 0x12),  # and #(SYN | ACK)
    (0x15, 0, 1, 0x02),  # jeq #SYN: drop, else keep
    (0x06, 0, 0, 0),  # ret #0: drop
    (0x06, 0, 0, 0xFFFFFFFF),  # ret #-1: keep the whole segment
)


class _SocketFilterProgram(ctypes.Structure):
    """``struct sock_fprog``: a filter's length and its instructions' address."""

    _fields_ = (("len", ctypes.c_ushort), ("filter", ctypes.c_void_p))


def begin_shutdown() -> None:
    """Record that the service has started shutting down."""
    _shutting_down[0] = 1


def is_shutting_down() -> bool:
    """Return whether the service has started shutting down."""
    return _shutting_down[0] == 1


def drain_seconds() -> float:
    """Return the longest time a worker keeps serving queued requests after SIGTERM."""
    return float(os.environ.get("SHUTDOWN_DRAIN_SECONDS", "5"))


def drop_new_connections(listener: socket.socket) -> None:
    """Make the TCP *listener* drop new connection requests, keeping its queue.

    Every process sharing the socket is affected; a socket that is not TCP
    is left alone. Raises ``OSError`` where the kernel has no socket filters.
    """
    if listener.family not in (socket.AF_INET, socket.AF_INET6):
        return
    instructions = b"".join(struct.pack("HBBI", *op) for op in _DROP_NEW_CONNECTIONS)
    code = ctypes.create_string_buffer(instructions)
    program = _SocketFilterProgram(len(_DROP_NEW_CONNECTIONS), ctypes.addressof(code))
    # The kernel copies the program during the call, while *code* is alive.
    listener.setsockopt(socket.SOL_SOCKET, _SO_ATTACH_FILTER, bytes(program))


def refuse_new_connections_on_sigterm(arbiter: Arbiter) -> None:
    """Make the gunicorn master stop taking traffic the moment it gets SIGTERM.

    Call it from ``when_ready``, once gunicorn has set its own handlers: the
    new handler fails readiness and filters the listeners, then queues the
    signal for gunicorn as its own handler would. Listeners that another
    master (after a USR2 upgrade) or systemd shares are left alone, as
    gunicorn leaves them open. Where the kernel has no socket filters (not
    Linux, or a sandbox), that is logged now, and the workers keep accepting
    while they drain.
    """
    filtering = _socket_filters_work()
    if not filtering:
        logger.warning("new connections stay accepted while shutting down")

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        """Fail readiness and drop new connections, then let gunicorn stop."""
        begin_shutdown()
        owned = arbiter.reexec_pid == arbiter.master_pid == 0 and not arbiter.systemd
        if filtering and owned:
            for listener in arbiter.LISTENERS:
                drop_new_connections(listener.sock)
        arbiter.signal(signum, frame)

    signal.signal(signal.SIGTERM, on_sigterm)


def _socket_filters_work() -> bool:
    """Return whether this kernel lets a TCP listener drop new connections."""
    if sys.platform != "linux":
        return False
    try:
        with socket.socket() as probe:
            drop_new_connections(probe)
    except OSError:
        return False
    return True


def notify_alive() -> None:
    """Tell the gunicorn master that this worker is alive, in the middle of a request.

    A sync worker proves it is alive only between requests, so the master
    kills one that serves a single request for longer than ``timeout``. A
    streamed response calls this as each piece goes out: a long report to a
    slow client completes, while a worker stuck without sending anything is
    still killed. Outside gunicorn it does nothing.
    """
    if _worker is not None:
        _worker.notify()


def stream_in_small_steps(sock: socket.socket | None) -> None:
    """Give the socket a response streams to a small send buffer, so each write waits little.

    Linux wakes a writer blocked on a full socket only once half the send
    buffer has drained. With the default buffer (megabytes), one write to a
    slow reader could wait far longer than the worker timeout however often
    ``notify_alive`` is called between writes; with ``STREAM_SEND_BUFFER``
    it waits for at most about that many bytes to reach the client. *sock*
    is gunicorn's client socket (``None`` outside gunicorn).
    """
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, STREAM_SEND_BUFFER)


class StreamDeadline:
    """Shut a streamed response's client socket down at a deadline, unless the stream ended first.

    A sync worker writing to a client that reads slowly waits in the write,
    and ``notify_alive`` between writes keeps the master from killing it: a
    client that keeps reading, however slowly, would hold the worker for as
    long as it liked. Shutting the socket down makes the blocked write fail
    at once (``EPIPE``, which gunicorn ignores quietly) and the worker is free.
    A timer thread does it, since the worker's own thread is the one waiting.
    The client sees the stream end cut short, never complete: chunked
    encoding without its last chunk.
    """

    def __init__(self, sock: socket.socket, seconds: float) -> None:
        """Start counting *seconds* for the stream written to *sock*."""
        self._cut_off = threading.Event()
        self._timer = threading.Timer(seconds, self._shut_down, (sock,))
        self._timer.daemon = True
        self._timer.start()

    def _shut_down(self, sock: socket.socket) -> None:
        """Cut the stream off: both directions of *sock*, unless it is closed already."""
        self._cut_off.set()
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)

    def cancel(self) -> bool:
        """Stop counting; return whether the deadline had already cut the stream off."""
        self._timer.cancel()
        return self._cut_off.is_set()


_worker: SyncWorker | None = None
# Bytes of send buffer for a streamed response (the kernel doubles it).
STREAM_SEND_BUFFER = 64 * 1024
# A report ends with its error record after REPORT_MAX_SECONDS; a client that
# has not taken the stream this much later is cut off (StreamDeadline).
STREAM_GRACE_SECONDS = 5.0


class AnonymousResponse(wsgi.Response):
    """gunicorn's HTTP/1 response, without the ``Server: gunicorn`` header."""

    def default_headers(self) -> list[str]:
        """Return gunicorn's status line and headers, all but ``Server``."""
        return [line for line in super().default_headers() if not line.startswith("Server:")]


class DrainingSyncWorker(SyncWorker):
    """A sync worker that serves every queued connection before it exits on SIGTERM.

    It stops as soon as nothing is waiting to be accepted, or once the drain
    period ends, whichever comes first; the master's ``graceful_timeout``
    stays the hard limit. On its own (the master retiring it after a HUP) it
    shares the queue with the new workers, which take over. While it streams
    a response it keeps telling the master it is alive (``notify_alive``).
    """

    draining = False

    def init_process(self) -> None:
        """Become this process's worker for ``notify_alive``, then serve."""
        global _worker  # one worker per process, set once as it starts
        _worker = self
        super().init_process()

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        """Start draining, and stop for good when the drain period ends."""
        if self.draining:
            return
        self.draining = True
        signal.signal(signal.SIGALRM, super().handle_exit)
        # Let a request in progress carry on through the alarm.
        signal.siginterrupt(signal.SIGALRM, False)
        signal.setitimer(signal.ITIMER_REAL, max(drain_seconds(), 0.001))

    def handle_request(
        self, listener: BaseSocket, req: Request, client: socket.socket, addr: tuple
    ) -> None:
        """Serve one request as gunicorn's sync worker does, with an ``AnonymousResponse``.

        gunicorn builds a response in ``wsgi.create``, whose ``response_class``
        its HTTP/2 workers use for their own writer; the sync worker passes
        none, and has no other seam short of rebinding gunicorn's module
        globals. So its ``handle_request`` (gunicorn 27.0.1) is restated here
        with that one argument added; a test holds it to gunicorn's.
        """
        environ: dict = {}
        resp = None
        try:
            self.cfg.pre_request(self, req)
            request_start = datetime.now()
            resp, environ = wsgi.create(
                req,
                client,
                addr,
                listener.getsockname(),
                self.cfg,
                response_class=AnonymousResponse,
            )
            # As gunicorn's: one request per connection behind a proxy that buffers.
            resp.force_close()
            self.nr += 1
            if self.nr >= self.max_requests:
                self.log.info("Autorestarting worker after current request.")
                self.alive = False
            respiter = self.wsgi(environ, resp.start_response)
            try:
                if isinstance(respiter, environ["wsgi.file_wrapper"]):
                    resp.write_file(respiter)
                else:
                    for item in respiter:
                        resp.write(item)
                resp.close()
            finally:
                request_time = datetime.now() - request_start
                self.log.access(resp, req, environ, request_time)
                if hasattr(respiter, "close"):
                    respiter.close()
        except OSError:
            util.reraise(*sys.exc_info())
        except (Exception, SystemExit):
            if resp and resp.headers_sent:
                # A response under way (a timeout's SystemExit among them):
                # writing a 500 after it would corrupt the stream.
                self.log.exception("Error handling request")
                util.close_graceful(client)
                raise StopIteration from None
            raise
        finally:
            try:
                self.cfg.post_request(self, req, environ, resp)
            except Exception:  # a hook's failure must not fail the request
                self.log.exception("Exception in post_request hook")

    def wait(self, timeout: float) -> list[object] | None:
        """Wait for connections, or stop once a draining worker's backlog is empty.

        The sync worker calls ``wait`` only when ``accept`` found nothing
        queued, so a draining worker has then served every connection it had.
        """
        if self.draining:
            self.alive = False
            return None
        return super().wait(timeout)
