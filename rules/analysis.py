"""Rules over stored orders: which pass (query), a row each (report), what a change flips.

Every rule with a database form (``as_q``) is evaluated inside one SQL query;
when any rule lacks one, the same answer comes from streaming the orders
through the Python engine, and the result says so (``evaluated_in``). A rule
errs on an order that lacks a fact it reads (``as_error_q`` in SQL): on that
order it neither passes nor fails. The order does not pass the check; a
query finds it under ``error``, and a report's cell for it is empty
(``None``). Rules that need a provider are refused
(``NotInDatabaseError``): stored orders hold no provided facts, and one
request must never call another service once per order.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import reduce
from itertools import chain
from operator import and_, or_
from typing import Any, Literal

from django.db import connections
from django.db.models import (
    BooleanField,
    Case,
    Count,
    ExpressionWrapper,
    Max,
    Q,
    QuerySet,
    Value,
    When,
)
from django.utils import timezone

from api.errors import ServiceError
from orders.models import Order
from orders.selectors import iter_orders_facts, order_facts_prefetched, with_lines
from rules.budgets import analysis, check_report_budget
from rules.condition_sql import LineOrders
from rules.engine import CheckResult, RuleCheck

EvaluatedIn = Literal["database", "python"]
# What a query looks for: orders that pass every blocking rule, that fail one
# (it said no), or on which one errs (it could not say); the last two may meet.
QueryOutcome = Literal["passed", "failed", "error"]


STREAM_CHUNK = 2000
NEVER = Q(pk__isnull=True)


def passing_q(check: RuleCheck) -> Q | None:
    """Return a filter for orders that pass *check*, or ``None`` if a rule has no SQL form.

    Only rules of severity ``error`` decide; warnings never block.
    """
    parts = rule_qs(check)
    return None if parts is None else all_blocking(check, parts)


def rule_qs(check: RuleCheck) -> list[Q] | None:
    """Return each rule's filter of the orders it passes, in order; ``None`` without SQL forms.

    An order a rule errs on is not among those it passes, whatever its
    ``as_q`` says of it.
    """
    parts = []
    for bound in check.rules:
        q = bound.rule.as_q()
        if q is None:
            return None
        error = bound.rule.as_error_q()
        parts.append(q if error is None else q & ~error)
    return parts


def rule_error_qs(check: RuleCheck) -> list[Q | None]:
    """Return each rule's filter of the orders it errs on, in order (``None``: none)."""
    return [bound.rule.as_error_q() for bound in check.rules]


def all_blocking(check: RuleCheck, parts: list[Q]) -> Q:
    """Return the filter that every blocking rule's part must pass (any order if none)."""
    blocking = [q for q, bound in zip(parts, check.rules, strict=True) if bound.blocking]
    return reduce(and_, blocking) if blocking else Q(pk__isnull=False)


class NotInDatabaseError(ServiceError):
    """Rules over stored orders that need facts from providers, which no stored order holds."""

    code = "not_in_database"
    title = "Rules need providers"

    def __init__(self, needs: dict[str, list[str]]) -> None:
        """Record, by rule key, the provided facts each rule needs."""
        self.needs = needs
        super().__init__(needs)

    def __str__(self) -> str:
        """Name the rules and what they need."""
        parts = [f"{key} ({', '.join(facts)})" for key, facts in self.needs.items()]
        return (
            "These rules need facts from providers, which stored orders do not hold:"
            f" {'; '.join(parts)}. Check orders one at a time (POST /rules/check/) instead."
        )

    @property
    def detail(self) -> dict[str, Any]:
        """Return the message and, by rule key, the provided facts each rule needs."""
        return {"message": str(self), "rules": self.needs}


def refuse_providers(*checks: RuleCheck) -> None:
    """Raise ``NotInDatabaseError`` when a rule of *checks* needs a provider."""
    needs = {
        bound.key: sorted(bound.rule.needs)
        for check in checks
        for bound in check.rules
        if bound.rule.needs
    }
    if needs:
        raise NotInDatabaseError(needs)


class InvalidCursorError(ServiceError, ValueError):
    """A pagination cursor that this service did not issue."""

    code = "invalid_cursor"
    title = "Invalid cursor"

    def __str__(self) -> str:
        """Say what to do."""
        return "The cursor is not one this service issued; start again without it."


@dataclass(frozen=True)
class OrderPage:
    """One page of the orders matching a query, newest id first."""

    orders: list[Order]
    count: int
    next_cursor: str | None
    evaluated_in: EvaluatedIn


def orders_matching(
    check: RuleCheck,
    orders: QuerySet[Order],
    *,
    outcome: QueryOutcome,
    page_size: int,
    cursor: str | None,
) -> OrderPage:
    """Return a page of *orders* with the *outcome* under *check*, and how many in all.

    ``passed``: every blocking rule passes; ``failed``: a blocking rule
    fails; ``error``: a blocking rule errs. An order may both fail and err
    (on two rules); for rules that never err, ``failed`` is "not passed".
    Raises ``NotInDatabaseError`` for rules that need providers.
    """
    refuse_providers(check)
    before = _decode_cursor(cursor) if cursor else None
    with analysis(orders.db):
        return _orders_matching(check, orders, outcome, page_size, before)


def outcome_q(check: RuleCheck, outcome: QueryOutcome) -> Q | None:
    """Return a filter of the orders with *outcome*, or ``None`` if a rule has no SQL form."""
    parts = rule_qs(check)
    if parts is None:
        return None
    if outcome == "passed":
        return all_blocking(check, parts)
    errors = rule_error_qs(check)
    blocking = [
        (q, error)
        for q, error, bound in zip(parts, errors, check.rules, strict=True)
        if bound.blocking
    ]
    erring = [error for _, error in blocking if error is not None]
    if outcome == "error":
        return reduce(or_, erring) if erring else NEVER
    if not erring:
        return ~all_blocking(check, parts)
    failing = [~q if error is None else ~q & ~error for q, error in blocking]
    return reduce(or_, failing) if failing else NEVER


def _has_outcome(check: RuleCheck, result: CheckResult, outcome: QueryOutcome) -> bool:
    """Return whether the Python engine's *result* has *outcome*, as ``outcome_q`` defines it."""
    if outcome == "passed":
        return result.passed
    blocking = [bound.key for bound in check.rules if bound.blocking]
    if outcome == "error":
        return any(key in result.erred for key in blocking)
    return any(result.details[key] is False and key not in result.erred for key in blocking)


def _orders_matching(
    check: RuleCheck,
    orders: QuerySet[Order],
    outcome: QueryOutcome,
    page_size: int,
    before: int | None,
) -> OrderPage:
    """Compute ``orders_matching`` in the database, or in Python without a SQL form."""
    condition = outcome_q(check, outcome)
    if condition is not None:
        matching = orders.filter(condition).order_by("-pk")
        page_query = matching.filter(pk__lt=before) if before is not None else matching
        page = list(page_query[: page_size + 1])
        count = _count(orders, condition)
        evaluated_in: EvaluatedIn = "database"
    else:
        page, count = [], 0
        now = timezone.now()
        for order in with_lines(orders.order_by("-pk")).iterator(chunk_size=STREAM_CHUNK):
            facts = order_facts_prefetched(order, now=now)
            if not _has_outcome(check, check.run(facts, explain=False), outcome):
                continue
            count += 1
            if (before is None or order.pk < before) and len(page) <= page_size:
                page.append(order)
        evaluated_in = "python"
    next_cursor = _encode_cursor(page[page_size - 1].pk) if len(page) > page_size else None
    return OrderPage(page[:page_size], count, next_cursor, evaluated_in)


def _count(orders: QuerySet[Order], condition: Q) -> int:
    """Return how many *orders* match *condition*.

    Over every order, when the condition is only "has a line like this"
    (a lone ``some``), the orders are counted from the matching lines alone:
    the distinct orders they name, each line's order existing. That reads
    the lines' index and no order (on SQLite a quarter of the time of
    looking each order up); any other filter is counted over the orders.
    """
    having = condition.children[0] if len(condition.children) == 1 else None
    if isinstance(having, LineOrders) and not condition.negated and not orders.query.where:
        lines = having.lines.using(orders.db)
        return int(lines.aggregate(count=Count("order_id", distinct=True))["count"])
    return orders.filter(condition).count()


@dataclass(frozen=True)
class ReportRows:
    """A report's rows, ``(order_id, verdict per rule..., passed)`` in batches, and their extent.

    ``count`` rows will come, unless orders are added as they stream, with
    ids up to ``last_id`` (0 when there are none): enough to know, before
    the first row, how long the report can be.
    """

    batches: Iterator[list[tuple[Any, ...]]]
    evaluated_in: EvaluatedIn
    count: int
    last_id: int


def report_rows(check: RuleCheck, orders: QuerySet[Order]) -> ReportRows:
    """Return the report's rows in id order, in batches, with their count and largest id.

    A rule's verdict on an order is true or false, ``None`` when it errs
    there; ``passed`` is the check's (false when a blocking rule errs).

    The orders are counted first: a report over its budget raises
    ``ReportTooLargeError`` before any row is read. The rows come from one
    annotated query read through a chunked (on PostgreSQL, server-side)
    cursor when every rule has a SQL form; else from the Python engine over
    an iterator. Either way memory stays flat however many orders there are.
    The first batch is read before this returns, in a transaction of its
    own, so that an error starting the query (a database that fails, a
    statement timeout) is raised here, before a streamed answer has sent its
    first byte; the rest is read as the answer streams. Verdicts are
    ``True``/``False`` or ``1``/``0``. The rows come from the database the
    orders are read from now: the read replica, for an analysis that has one.
    Rules that need providers raise ``NotInDatabaseError`` before anything is read.
    """
    refuse_providers(check)
    orders = orders.using(orders.db)
    with analysis(orders.db):
        extent = orders.aggregate(count=Count("pk"), last_id=Max("pk"))
    count, last_id = extent["count"], extent["last_id"] or 0
    check_report_budget(count, len(check.rules))
    parts = rule_qs(check)
    if parts is None:
        rows = _started(lambda part: _python_rows(check, part), orders.order_by("pk"))
        return ReportRows(rows, "python", count, last_id)
    errors = rule_error_qs(check)
    columns = {
        f"rule_{index}": _verdict(q, error)
        for index, (q, error) in enumerate(zip(parts, errors, strict=True))
    }
    columns["passed"] = _as_boolean(all_blocking(check, parts))
    query = orders.order_by("pk").annotate(**columns).values_list("pk", *columns)
    return ReportRows(_started(_database_rows, query), "database", count, last_id)


def _started(
    batches_of: Callable[[QuerySet[Any]], Iterator[list[tuple[Any, ...]]]], query: QuerySet[Any]
) -> Iterator[list[tuple[Any, ...]]]:
    """Return the batches of *query*, in id order, having read the first one now.

    What goes wrong starting the query is raised here. The first batch is
    read whole, so its transaction has ended when this returns: nothing is
    left open on a stream that is never read. The rest, the rows after it by
    id, is read only as the batches are.
    """
    first = [row for batch in batches_of(query[:STREAM_CHUNK]) for row in batch]
    if len(first) < STREAM_CHUNK:
        return iter([first] if first else [])
    return chain([first], batches_of(query.filter(pk__gt=first[-1][0])))


def _database_rows(query: QuerySet[Any]) -> Iterator[list[tuple[Any, ...]]]:
    """Yield the rows of *query* in batches, read straight from the driver.

    Django's per-row conversions are skipped: the columns are an integer id
    and booleans, which the driver already gives as numbers.
    """
    sql, params = query.query.sql_with_params()
    with analysis(query.db), connections[query.db].chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while batch := cursor.fetchmany(STREAM_CHUNK):
            yield batch


@dataclass(frozen=True)
class Impact:
    """What replacing a rule set's rules would change over the stored orders."""

    total: int
    passing_now: int
    passing_after: int
    newly_failing: int
    newly_passing: int
    sample_newly_failing: list[int]
    sample_newly_passing: list[int]
    evaluated_in: EvaluatedIn


def impact(
    current: RuleCheck, proposed: RuleCheck, orders: QuerySet[Order], *, sample_size: int
) -> Impact:
    """Count the *orders* that pass *current* and *proposed*, and those that flip.

    Raises ``NotInDatabaseError`` when a rule of either needs a provider.
    """
    refuse_providers(current, proposed)
    with analysis(orders.db):
        return _impact(current, proposed, orders, sample_size)


def _impact(
    current: RuleCheck, proposed: RuleCheck, orders: QuerySet[Order], sample_size: int
) -> Impact:
    """Compute ``impact`` in the database, or in Python without a SQL form."""
    now, after = passing_q(current), passing_q(proposed)
    if now is None or after is None:
        return _python_impact(current, proposed, orders, sample_size)
    counts = orders.aggregate(
        all_orders=Count("pk"),
        passing_now=Count("pk", filter=now),
        passing_after=Count("pk", filter=after),
        newly_failing=Count("pk", filter=now & ~after),
        newly_passing=Count("pk", filter=~now & after),
    )
    return Impact(
        total=counts.pop("all_orders"),
        **counts,
        sample_newly_failing=sample_ids(orders, now & ~after, sample_size),
        sample_newly_passing=sample_ids(orders, ~now & after, sample_size),
        evaluated_in="database",
    )


def sample_ids(orders: QuerySet[Order], condition: Q, size: int) -> list[int]:
    """Return up to *size* ids of *orders* matching *condition*, lowest first."""
    return list(orders.filter(condition).order_by("pk").values_list("pk", flat=True)[:size])


def _python_impact(
    current: RuleCheck, proposed: RuleCheck, orders: QuerySet[Order], sample_size: int
) -> Impact:
    """Compute ``impact`` by streaming the orders through the Python engine."""
    total = passing_now = passing_after = 0
    failing: list[int] = []
    passing: list[int] = []
    newly_failing = newly_passing = 0
    for order in iter_orders_facts(orders.order_by("pk"), chunk=STREAM_CHUNK):
        total += 1
        before = current.run(order, explain=False).passed
        after = proposed.run(order, explain=False).passed
        passing_now += before
        passing_after += after
        if before and not after:
            newly_failing += 1
            if len(failing) < sample_size:
                failing.append(order.pk)
        elif after and not before:
            newly_passing += 1
            if len(passing) < sample_size:
                passing.append(order.pk)
    return Impact(
        total, passing_now, passing_after, newly_failing, newly_passing, failing, passing, "python"
    )


def _python_rows(check: RuleCheck, orders: QuerySet[Order]) -> Iterator[list[tuple[Any, ...]]]:
    """Yield report rows computed by the Python engine, in batches, in *orders*' order."""
    batch: list[tuple[Any, ...]] = []
    with analysis(orders.db):
        for order in iter_orders_facts(orders, chunk=STREAM_CHUNK):
            result = check.run(order, explain=False)
            verdicts = [
                None if key in result.erred else verdict for key, verdict in result.details.items()
            ]
            batch.append((order.pk, *verdicts, result.passed))
            if len(batch) == STREAM_CHUNK:
                yield batch
                batch = []
    if batch:
        yield batch


def _as_boolean(condition: Q) -> ExpressionWrapper:
    """Return *condition* as a boolean column."""
    return ExpressionWrapper(condition, output_field=BooleanField())


def _verdict(passing: Q, error: Q | None) -> Any:
    """Return a rule's verdict as a column: whether it passes, NULL where it errs."""
    if error is None:
        return _as_boolean(passing)
    return Case(
        When(error, then=Value(None)), default=_as_boolean(passing), output_field=BooleanField()
    )


def _encode_cursor(pk: int) -> str:
    """Return the opaque cursor for the page after order *pk*."""
    return base64.urlsafe_b64encode(f"before:{pk}".encode()).decode()


def _decode_cursor(cursor: str) -> int:
    """Return the order id a cursor points before; raise for a foreign cursor."""
    try:
        prefix, _, pk = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
        if prefix != "before" or not pk.isdigit():
            raise InvalidCursorError
        return int(pk)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidCursorError from None
