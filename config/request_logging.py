"""Request ids, the one access log line per request, and its request metrics."""

import logging
import re
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from django.conf import settings
from django.http import FileResponse, HttpRequest, HttpResponse, StreamingHttpResponse

from api.access_log import access_line
from api.auth import caller_name, client_address
from api.metrics import observe_request
from api.request_ids import REQUEST_ID
from config.shutdown import (
    STREAM_GRACE_SECONDS,
    StreamDeadline,
    notify_alive,
    stream_in_small_steps,
)

logger = logging.getLogger("config.access")

# A streamed response goes out in pieces of at most this many bytes.
STREAM_PIECE_BYTES = 16 * 1024

# A client-supplied id is echoed into logs and headers, so keep it short and plain.
_VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


class RequestLoggingMiddleware:
    """Give each request an id, and log and count it when it is served.

    The id comes from a well-formed ``X-Request-ID`` header or is generated; it
    is echoed in the response's ``X-Request-ID`` header. The line names the
    caller (``key:<name>``, ``user:<id>`` or ``anonymous``) and the client's
    address (``NUM_PROXIES`` trusted hops of ``X-Forwarded-For``), and carries
    what the request's use case noted on it (``api.access_log``: a check's
    decision, order, rule set and verdict). A streamed response
    is logged when its stream ends, with its real duration and the bytes sent
    (a file, whose length is known, when it starts). The request metrics
    (``api.metrics.observe_request``) take the same duration, by route name.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        """Wrap the rest of the middleware chain."""
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        """Serve *request*, timing it and logging the outcome."""
        started = time.perf_counter()
        supplied = request.headers.get("X-Request-ID", "")
        request_id = supplied if _VALID_REQUEST_ID.fullmatch(supplied) else uuid.uuid4().hex
        request.id = request_id  # type: ignore[attr-defined]
        token = REQUEST_ID.set(request_id)
        try:
            with access_line() as noted:
                response = self.get_response(request)
            response["X-Request-ID"] = request_id
            access = {
                "method": request.method,
                "path": request.path,
                "route": route_name(request),
                "request_id": request_id,
                "caller": caller_name(request),
                "client_ip": client_address(request),
                **noted,
            }
            if isinstance(response, FileResponse):
                # A file keeps its own stream (sendfile); its length is known.
                sent = int(response.get("Content-Length", 0))
                _log_access(access, response.status_code, started, sent)
            elif isinstance(response, StreamingHttpResponse):
                response.streaming_content = _logged_stream(
                    response.streaming_content,
                    response.status_code,
                    access,
                    started,
                    request.META.get("gunicorn.socket"),
                )
            else:
                _log_access(access, response.status_code, started, len(response.content))
            return response
        finally:
            REQUEST_ID.reset(token)


def route_name(request: HttpRequest) -> str:
    """Return the label of the route that served *request*: its URL name, never its path.

    Namespaced names read ``rules:rule-check``; every page of the admin is
    ``admin``; a request answered before URL routing (a static file, a bad
    host, a redirect) is ``unrouted``. Unknown paths share one route,
    ``unknown-path``.
    """
    match = request.resolver_match
    if match is None:
        return "unrouted"
    name = match.view_name
    return "admin" if name.startswith("admin:") else name


def _stream_deadline(sock: socket.socket | None) -> StreamDeadline | None:
    """Prepare gunicorn's client socket *sock* for a stream, and cap the stream's wall time.

    Whatever the client reads, the stream ends ``REPORT_MAX_SECONDS`` (the
    report's own limit, when it ends with its error record) plus
    ``STREAM_GRACE_SECONDS`` after it starts. Outside gunicorn (*sock* is
    ``None``) nothing is capped.
    """
    if sock is None:
        return None
    stream_in_small_steps(sock)
    return StreamDeadline(sock, settings.REPORT_MAX_SECONDS + STREAM_GRACE_SECONDS)


def _logged_stream(
    chunks: Iterator[bytes],
    status: int,
    access: dict[str, Any],
    started: float,
    sock: socket.socket | None,
) -> Iterator[bytes]:
    """Yield *chunks* in pieces, then log the access line: when the stream ends or is cut.

    Before each piece the worker tells gunicorn it is alive, so a long stream
    to a slow client is not killed by the worker timeout; a piece is small
    enough for a client reading slowly to take it well within the timeout.
    On gunicorn's client socket *sock*, the stream's deadline ends it
    however the client reads (``_stream_deadline``).
    """
    deadline = _stream_deadline(sock)
    sent = 0
    try:
        for chunk in chunks:
            for start in range(0, len(chunk), STREAM_PIECE_BYTES):
                notify_alive()
                piece = chunk[start : start + STREAM_PIECE_BYTES]
                sent += len(piece)
                yield piece
    finally:
        if deadline is not None and deadline.cancel():
            logger.warning(
                "stream cut off",
                extra={"request_id": access["request_id"], "bytes": sent},
            )
        _log_access(access, status, started, sent)


def _log_access(access: dict[str, Any], status: int, started: float, sent: int) -> None:
    """Log the one access line of a request, and count it by its route."""
    seconds = time.perf_counter() - started
    logger.info(
        "request served",
        extra={**access, "status": status, "bytes": sent, "duration_ms": round(seconds * 1000, 2)},
    )
    observe_request(access["route"], access["method"], status, seconds)
