"""What a request's one access line says beyond HTTP: the fields its use case adds.

The request-logging middleware opens a line for each request it serves; the
use case notes its outcome on it (a check: the decision, the order, the rule
set and the verdict), and the middleware logs the line when the answer has
gone out. So a request is one log line, whatever it did.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

_FIELDS: ContextVar[dict[str, Any] | None] = ContextVar("access_line_fields", default=None)


@contextmanager
def access_line() -> Iterator[dict[str, Any]]:
    """Open the access line of the request being served; yield the fields noted on it."""
    fields: dict[str, Any] = {}
    token = _FIELDS.set(fields)
    try:
        yield fields
    finally:
        _FIELDS.reset(token)


def note_on_access_line(**fields: Any) -> None:
    """Add *fields* to the access line of the request being served (none outside one)."""
    noted = _FIELDS.get()
    if noted is not None:
        noted.update(fields)
