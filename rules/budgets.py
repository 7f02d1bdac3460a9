"""What one request may cost: the cells of a batch or a report, and database time.

A *cell* is one rule on one order. Each budget has a setting; a request over
it is refused with 413 before any work is done. On PostgreSQL every statement
of the served processes runs under ``CHECK_STATEMENT_TIMEOUT_MS`` (set on each
connection, see ``config/wsgi.py``); queries over stored orders run under the
longer ``ANALYZE_STATEMENT_TIMEOUT_MS``.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from http import HTTPStatus
from typing import Any

from django.conf import settings
from django.db import connections, transaction

from api.errors import ServiceError


class BudgetError(ServiceError):
    """A request would cost more than its budget allows."""

    status_code = HTTPStatus.REQUEST_ENTITY_TOO_LARGE

    def __init__(self, cells: int, limit: int, setting: str) -> None:
        """Record the cells asked for, the limit and the setting that sets it."""
        self.cells, self.limit, self.setting = cells, limit, setting
        super().__init__(cells, limit)

    def __str__(self) -> str:
        """Say what was asked for and what is allowed."""
        return (
            f"{self.cells:,} orders x rules asked for; at most {self.limit:,} are allowed "
            f"({self.setting}). Ask for fewer orders or rules, or narrow the filters."
        )

    @property
    def detail(self) -> dict[str, Any]:
        """Return the message, the cells asked for and the limit."""
        return {"message": str(self), "cells": self.cells, "limit": self.limit}


class BatchTooLargeError(BudgetError):
    """A batch asks for more orders x rules than its caller's budget."""

    code = "batch_too_large"
    title = "Batch too large"


class ReportTooLargeError(BudgetError):
    """A report would cover more orders x rules than ``REPORT_MAX_CELLS``."""

    code = "report_too_large"
    title = "Report too large"


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


def check_report_budget(orders: int, rules: int) -> None:
    """Raise ``ReportTooLargeError`` if *orders* x *rules* is over ``REPORT_MAX_CELLS``."""
    limit = settings.REPORT_MAX_CELLS
    if orders * rules > limit:
        raise ReportTooLargeError(orders * rules, limit, "REPORT_MAX_CELLS")


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
