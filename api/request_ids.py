"""The id of the request being served: echoed in ``X-Request-ID``, logged, quoted in errors."""

from contextvars import ContextVar

# Set by the request-logging middleware for the time a request is served.
REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)


def current_request_id() -> str | None:
    """Return the id of the request being served, if any."""
    return REQUEST_ID.get()
