"""What one request may cost: cells and bytes of a batch or a report, and database time.

A *cell* is one rule on one order. Each budget has a setting; a request over
it is refused with 413 before any work is done, or, for what only the work
can tell (a batch's answer and decisions in bytes), before anything is
answered or written. On PostgreSQL every statement of the served processes
runs under ``CHECK_STATEMENT_TIMEOUT_MS`` (set on each connection, see
``config/wsgi.py``); queries over stored orders run under the longer
``ANALYZE_STATEMENT_TIMEOUT_MS``.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from http import HTTPStatus
from typing import Any

import orjson
from django.conf import settings
from django.db import connections, transaction
from rest_framework.renderers import JSONRenderer
from rest_framework.utils.encoders import JSONEncoder

from api.errors import ServiceError

# What a budget counts: orders x rules, or bytes.
CELLS = "cells"
BYTES = "bytes"
# A decision id, null until the decisions are written, then up to 19 digits.
_ID_GROWTH = len(str(2**63 - 1)) - len("null")
# What DRF's JSONRenderer writes escaped (6 bytes) where orjson writes the character (3).
_LINE_SEPARATORS = ("\u2028".encode(), "\u2029".encode())
_RENDERER_ENCODER = JSONEncoder()


class BudgetError(ServiceError):
    """A request would cost more than its budget allows."""

    status_code = HTTPStatus.REQUEST_ENTITY_TOO_LARGE

    def __init__(self, asked: int, limit: int, setting: str, unit: str = CELLS) -> None:
        """Record what was asked for, the limit, the setting that sets it, and their unit."""
        self.asked, self.limit, self.setting, self.unit = asked, limit, setting, unit
        super().__init__(asked, limit)

    def __str__(self) -> str:
        """Say what was asked for and what is allowed."""
        what = "orders x rules" if self.unit == CELLS else "bytes"
        return (
            f"{self.asked:,} {what} asked for; at most {self.limit:,} are allowed "
            f"({self.setting}). Ask for fewer orders or rules, or narrow the filters."
        )

    @property
    def detail(self) -> dict[str, Any]:
        """Return the message, what was asked for (``cells`` or ``bytes``) and the limit."""
        return {"message": str(self), self.unit: self.asked, "limit": self.limit}


class BatchTooLargeError(BudgetError):
    """A batch asks for more orders x rules than its caller's budget."""

    code = "batch_too_large"
    title = "Batch too large"


class ReportTooLargeError(BudgetError):
    """A report would cover more orders x rules than ``REPORT_MAX_CELLS``, or be too long."""

    code = "report_too_large"
    title = "Report too large"


class CheckTooLargeError(BudgetError):
    """A single check would put more bytes on the record than ``DECISION_LOG_MAX_BYTES``.

    Only a body near ``MAX_REQUEST_BYTES`` can: it is the body's 413.
    """

    code = "request_too_large"
    title = HTTPStatus.REQUEST_ENTITY_TOO_LARGE.phrase


def check_batch_budget(orders: int, rules: int, *, anonymous: bool) -> None:
    """Raise ``BatchTooLargeError`` if *orders* x *rules* is over the caller's budget.

    That is ``BATCH_MAX_CELLS``, and for an *anonymous* caller the smaller
    of it and ``BATCH_ANONYMOUS_MAX_CELLS``.
    """
    budgets = [("BATCH_MAX_CELLS", settings.BATCH_MAX_CELLS)]
    if anonymous:
        budgets.append(("BATCH_ANONYMOUS_MAX_CELLS", settings.BATCH_ANONYMOUS_MAX_CELLS))
    setting, limit = min(budgets, key=lambda budget: budget[1])
    if orders * rules > limit:
        raise BatchTooLargeError(orders * rules, limit, setting)


def check_batch_answer(answer: Any, *, pending_ids: int) -> None:
    """Raise ``BatchTooLargeError`` if *answer*, rendered, would be over ``BATCH_MAX_BYTES``.

    Measured before any decision is written, while *pending_ids* of the
    answer's decision ids are still null: each is counted at the 19 digits
    it may take.
    """
    size = _rendered_size(answer) + pending_ids * _ID_GROWTH
    limit = settings.BATCH_MAX_BYTES
    if size > limit:
        raise BatchTooLargeError(size, limit, "BATCH_MAX_BYTES", BYTES)


def check_report_budget(orders: int, rules: int) -> None:
    """Raise ``ReportTooLargeError`` if *orders* x *rules* is over ``REPORT_MAX_CELLS``."""
    limit = settings.REPORT_MAX_CELLS
    if orders * rules > limit:
        raise ReportTooLargeError(orders * rules, limit, "REPORT_MAX_CELLS")


def check_report_bytes(size: int) -> None:
    """Raise ``ReportTooLargeError`` if a report of *size* bytes is over ``REPORT_MAX_BYTES``."""
    limit = settings.REPORT_MAX_BYTES
    if size > limit:
        raise ReportTooLargeError(size, limit, "REPORT_MAX_BYTES", BYTES)


def _rendered_size(data: Any) -> int:
    """Return the bytes DRF's ``JSONRenderer`` writes for *data*, as the API answers it.

    Measured with orjson, fifteen times faster, which writes the same compact
    UTF-8 JSON but for the line separators the renderer escapes; an integer
    beyond 64 bits, which orjson refuses, is measured by the renderer itself.
    """
    try:
        text = orjson.dumps(data, default=_RENDERER_ENCODER.default)
    except TypeError:
        return len(JSONRenderer().render(data))
    return len(text) + 3 * sum(text.count(separator) for separator in _LINE_SEPARATORS)


@contextmanager
def analysis(alias: str = "default") -> Iterator[None]:
    """Run the enclosed queries over stored orders under their own time budget.

    On PostgreSQL they run in a transaction (a streamed read's server-side
    cursor needs one) under ``ANALYZE_STATEMENT_TIMEOUT_MS``; a statement
    that runs out is cancelled, the transaction rolls back and the
    connection stays usable. SQLite's transactions take the write lock when
    they begin (they are IMMEDIATE, so that read-then-write never
    deadlocks), so there the queries run in autocommit, and writers go on
    while a report streams.
    """
    connection = connections[alias]
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic(using=alias):
        with connection.cursor() as cursor:
            cursor.execute(
                "SET LOCAL statement_timeout = %s", [settings.ANALYZE_STATEMENT_TIMEOUT_MS]
            )
        yield
