"""The id of the request being served: echoed in ``X-Request-ID``, logged, quoted in errors."""

import logging
from contextvars import ContextVar

# Set by the request-logging middleware for the time a request is served.
REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)


def current_request_id() -> str | None:
    """Return the id of the request being served, if any."""
    return REQUEST_ID.get()


class RequestIdFilter(logging.Filter):
    """Add the current request id to every log record made while serving one."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Attach ``request_id`` unless the record already carries one."""
        request_id = REQUEST_ID.get()
        if request_id is not None and not hasattr(record, "request_id"):
            record.request_id = request_id
        return True
