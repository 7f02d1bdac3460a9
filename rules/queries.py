"""Rules over stored orders and recorded decisions: which pass, a row each, what a change flips.

Every rule with a database form (``as_q``) is evaluated inside one SQL query;
when any rule lacks one, the same answer comes from streaming the orders
through the Python engine, and the result says so (``evaluated_in``).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import reduce
from itertools import chain
from operator import and_
from typing import Any, Literal

from django.db import connections
from django.db.models import BooleanField, Count, ExpressionWrapper, Max, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from api.errors import ServiceError
from decisions.models import Decision, RecordedOutcome
from orders.facts import snapshot_aliases, snapshot_values
from orders.models import Order
from rules.budgets import analysis, check_report_budget
from rules.engine import RuleCheck

EvaluatedIn = Literal["database", "python"]
STREAM_CHUNK = 2000


def passing_q(check: RuleCheck) -> Q | None:
    """Return a filter for orders that pass *check*, or ``None`` if a rule has no SQL form.

    Only rules of severity ``error`` decide; warnings never block.
    """
    parts = rule_qs(check)
    return None if parts is None else _all_blocking(check, parts)


def rule_qs(check: RuleCheck) -> list[Q] | None:
    """Return each rule's filter, in order, or ``None`` if any rule has no SQL form."""
    parts = [bound.rule.as_q() for bound in check.rules]
    return None if any(part is None for part in parts) else parts  # type: ignore[return-value]


def _all_blocking(check: RuleCheck, parts: list[Q]) -> Q:
    """Return the filter that every blocking rule's part must pass (any order if none)."""
    blocking = [q for q, bound in zip(parts, check.rules, strict=True) if bound.blocking]
    return reduce(and_, blocking) if blocking else Q(pk__isnull=False)


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
    passed: bool,
    page_size: int,
    cursor: str | None,
) -> OrderPage:
    """Return a page of *orders* that pass (or fail) *check*, and how many match in all."""
    before = _decode_cursor(cursor) if cursor else None
    with analysis(orders.db):
        return _orders_matching(check, orders, passed, page_size, before)


def _orders_matching(
    check: RuleCheck, orders: QuerySet[Order], passed: bool, page_size: int, before: int | None
) -> OrderPage:
    """Compute ``orders_matching`` in the database, or in Python without a SQL form."""
    condition = passing_q(check)
    if condition is not None:
        matching = orders.filter(condition if passed else ~condition).order_by("-pk")
        page_query = matching.filter(pk__lt=before) if before is not None else matching
        page = list(page_query[: page_size + 1])
        count = matching.count()
        evaluated_in: EvaluatedIn = "database"
    else:
        page, count = [], 0
        for order in orders.order_by("-pk").iterator(chunk_size=STREAM_CHUNK):
            if check.run(order, explain=False).passed is not passed:
                continue
            count += 1
            if (before is None or order.pk < before) and len(page) <= page_size:
                page.append(order)
        evaluated_in = "python"
    next_cursor = _encode_cursor(page[page_size - 1].pk) if len(page) > page_size else None
    return OrderPage(page[:page_size], count, next_cursor, evaluated_in)


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
    """
    orders = orders.using(orders.db)
    with analysis(orders.db):
        extent = orders.aggregate(count=Count("pk"), last_id=Max("pk"))
    count, last_id = extent["count"], extent["last_id"] or 0
    check_report_budget(count, len(check.rules))
    parts = rule_qs(check)
    if parts is None:
        rows = _started(lambda part: _python_rows(check, part), orders.order_by("pk"))
        return ReportRows(rows, "python", count, last_id)
    columns = {f"rule_{index}": _as_boolean(q) for index, q in enumerate(parts)}
    columns["passed"] = _as_boolean(_all_blocking(check, parts))
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
    """Count the *orders* that pass *current* and *proposed*, and those that flip."""
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
        sample_newly_failing=_sample(orders, now & ~after, sample_size),
        sample_newly_passing=_sample(orders, ~now & after, sample_size),
        evaluated_in="database",
    )


def _sample(orders: QuerySet[Order], condition: Q, size: int) -> list[int]:
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
    for order in orders.order_by("pk").iterator(chunk_size=STREAM_CHUNK):
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
        for order in orders.iterator(chunk_size=STREAM_CHUNK):
            result = check.run(order, explain=False)
            batch.append((order.pk, *result.details.values(), result.passed))
            if len(batch) == STREAM_CHUNK:
                yield batch
                batch = []
    if batch:
        yield batch


def _as_boolean(condition: Q) -> ExpressionWrapper:
    """Return *condition* as a boolean column."""
    return ExpressionWrapper(condition, output_field=BooleanField())


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


@dataclass(frozen=True)
class RuleBacktest:
    """What one proposed rule would do to the recorded decisions.

    ``failing``: the decisions it would fail; ``pass_to_fail``: those that
    passed and it would fail as a blocking rule; ``fail_to_pass``: those
    where a rule of the same key failed or errored then and it would pass.
    """

    rule: str
    failing: int
    pass_to_fail: int
    fail_to_pass: int


@dataclass(frozen=True)
class Backtest:
    """What proposed rules would have decided, against what was decided."""

    decisions: int
    passed_then: int
    passed_after: int
    pass_to_fail: int
    fail_to_pass: int
    sample_pass_to_fail: list[int]
    sample_fail_to_pass: list[int]
    rules: list[RuleBacktest]
    evaluated_in: EvaluatedIn


# What a recorded outcome counts as, for "a rule of this key did not pass then".
_NOT_PASSED = ("failed", "error")


def backtest(proposed: RuleCheck, decisions: QuerySet[Decision], *, sample_size: int) -> Backtest:
    """Evaluate *proposed* over the order snapshots of *decisions*, against their verdicts.

    A decision's snapshot holds the order's facts, which the query reads
    under the facts' own names, so every rule with a database form runs in
    one query over the decisions; without one, the decisions are streamed
    through the Python engine. Raises
    ``ReportTooLargeError`` when decisions x rules is over ``REPORT_MAX_CELLS``.
    """
    with analysis(decisions.db):
        check_report_budget(decisions.count(), len(proposed.rules))
        parts = rule_qs(proposed)
        if parts is None:
            return _python_backtest(proposed, decisions, sample_size)
        as_orders = decisions.alias(**snapshot_aliases("snapshot"))
        return _database_backtest(proposed, parts, as_orders, sample_size)


def _database_backtest(
    proposed: RuleCheck, parts: list[Q], decisions: QuerySet[Decision], sample_size: int
) -> Backtest:
    """Compute ``backtest`` with one aggregate query and two samples."""
    after = _all_blocking(proposed, parts)
    then = Q(passed=True)
    counts: dict[str, Any] = {
        "decisions": Count("pk"),
        "passed_then": Count("pk", filter=then),
        "passed_after": Count("pk", filter=after),
        "pass_to_fail": Count("pk", filter=then & ~after),
        "fail_to_pass": Count("pk", filter=~then & after),
    }
    for index, (bound, q) in enumerate(zip(proposed.rules, parts, strict=True)):
        failed_then = Q(**{f"rule_{index}_then__in": _NOT_PASSED})
        counts[f"failing_{index}"] = Count("pk", filter=~q)
        if bound.blocking:
            counts[f"newly_failing_{index}"] = Count("pk", filter=then & ~q)
        counts[f"newly_passing_{index}"] = Count("pk", filter=failed_then & q)
    keyed = decisions.alias(
        **{f"rule_{i}_then": RecordedOutcome(bound.key) for i, bound in enumerate(proposed.rules)}
    )
    totals = keyed.aggregate(**counts)
    return Backtest(
        decisions=totals["decisions"],
        passed_then=totals["passed_then"],
        passed_after=totals["passed_after"],
        pass_to_fail=totals["pass_to_fail"],
        fail_to_pass=totals["fail_to_pass"],
        sample_pass_to_fail=_sample(decisions, then & ~after, sample_size),
        sample_fail_to_pass=_sample(decisions, ~then & after, sample_size),
        rules=[
            RuleBacktest(
                bound.key,
                totals[f"failing_{index}"],
                totals.get(f"newly_failing_{index}", 0),
                totals[f"newly_passing_{index}"],
            )
            for index, bound in enumerate(proposed.rules)
        ],
        evaluated_in="database",
    )


def _python_backtest(
    proposed: RuleCheck, decisions: QuerySet[Decision], sample_size: int
) -> Backtest:
    """Compute ``backtest`` by streaming the decisions' orders through the Python engine."""
    keys = [bound.key for bound in proposed.rules]
    total = passed_then = passed_after = 0
    to_fail: list[int] = []
    to_pass: list[int] = []
    flips = {"pass_to_fail": 0, "fail_to_pass": 0}
    per_rule = {key: [0, 0, 0] for key in keys}
    rows = decisions.order_by("pk").values_list("pk", "passed", "outcomes", "snapshot")
    for pk, passed, outcomes, recorded in rows.iterator(STREAM_CHUNK):
        order = Order(**snapshot_values(recorded))
        result = proposed.run(order, explain=False)
        total += 1
        passed_then += passed
        passed_after += result.passed
        if passed and not result.passed:
            flips["pass_to_fail"] += 1
            if len(to_fail) < sample_size:
                to_fail.append(pk)
        elif result.passed and not passed:
            flips["fail_to_pass"] += 1
            if len(to_pass) < sample_size:
                to_pass.append(pk)
        for bound in proposed.rules:
            verdict = result.details[bound.key]
            counts = per_rule[bound.key]
            counts[0] += not verdict
            counts[1] += passed and bound.blocking and not verdict
            counts[2] += bool(verdict) and outcomes.get(bound.key) in _NOT_PASSED
    return Backtest(
        total,
        passed_then,
        passed_after,
        flips["pass_to_fail"],
        flips["fail_to_pass"],
        sorted(to_fail),
        sorted(to_pass),
        [RuleBacktest(key, *per_rule[key]) for key in keys],
        "python",
    )


@dataclass(frozen=True)
class RuleDays:
    """How often one rule failed or errored, each day of a stretch, oldest day first."""

    rule: str
    failed: list[int]
    errored: list[int]

    @property
    def failed_total(self) -> int:
        """Return the failures of the whole stretch."""
        return sum(self.failed)

    @property
    def errored_total(self) -> int:
        """Return the errors of the whole stretch."""
        return sum(self.errored)

    @property
    def total(self) -> int:
        """Return the failures and errors of the whole stretch."""
        return self.failed_total + self.errored_total


def rule_failures_by_day(rules: list[str], days: list[date]) -> list[RuleDays]:
    """Count, per rule and per day, the recorded decisions where it failed or errored.

    *rules* are rule keys as decisions record them (a rule's name unless a
    check gave it an ``as``); *days* are consecutive local days. One query,
    grouped by day, reads each rule's outcome from the decisions' ``outcomes``.
    Sorted by the stretch's total, most first.
    """
    start = timezone.make_aware(datetime.combine(days[0], time.min))
    end = timezone.make_aware(datetime.combine(days[-1] + timedelta(days=1), time.min))
    keyed = (
        Decision.objects.filter(decided_at__gte=start, decided_at__lt=end)
        .annotate(day=TruncDate("decided_at", tzinfo=timezone.get_current_timezone()))
        .alias(**{f"rule_{i}": RecordedOutcome(rule) for i, rule in enumerate(rules)})
    )
    counts: dict[str, Count] = {}
    for index in range(len(rules)):
        counts[f"failed_{index}"] = Count("pk", filter=Q(**{f"rule_{index}": "failed"}))
        counts[f"errored_{index}"] = Count("pk", filter=Q(**{f"rule_{index}": "error"}))
    by_day = {
        row.pop("day"): row for row in keyed.values("day").annotate(**counts).order_by("day")
    }
    empty = dict.fromkeys(counts, 0)
    series = [
        RuleDays(
            rule,
            [by_day.get(day, empty)[f"failed_{index}"] for day in days],
            [by_day.get(day, empty)[f"errored_{index}"] for day in days],
        )
        for index, rule in enumerate(rules)
    ]
    return sorted(series, key=lambda days_of_rule: -days_of_rule.total)
