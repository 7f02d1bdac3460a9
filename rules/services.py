"""Use cases of the rules app: what views, the admin and commands call.

A check is one use case from the rules asked for to the verdict on the
record: the rules (or a rule set) are resolved before anything else, the
order is read (or taken as given), the rules run, the decision is recorded,
the outcome counted, and the verdict noted on the request's access line. A
batch does the same for many stored orders at once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from api.access_log import note_on_access_line
from api.metrics import count_check
from orders.models import Order
from orders.selectors import order_get
from rules.budgets import (
    BatchTooLargeError,
    CheckTooLargeError,
    check_batch_answer,
    check_batch_budget,
)
from rules.engine import CheckResult, RuleSetRef, RuleSpec
from rules.recording import record_checks
from rules.resolver import resolver


@dataclass(frozen=True, slots=True)
class Caller:
    """Who asks: the name the decision log keeps, and what the caller may use."""

    name: str
    anonymous: bool = False
    sees_inactive_sets: bool = False


@dataclass(frozen=True, slots=True)
class RulesAsked:
    """The rules a request names: a list, or a rule set (pinned to a version or not)."""

    rules: Sequence[RuleSpec] | None = None
    ruleset: str | None = None
    version: int | None = None


@dataclass(frozen=True, slots=True)
class Checked:
    """One order checked: the decision on the record (``None`` when not kept), its verdict."""

    decision_id: int | None
    order_id: int | None
    result: CheckResult


@dataclass(frozen=True, slots=True)
class CheckAnswer:
    """A check: the order's verdict and the rule set it came from (``None`` for listed rules)."""

    checked: Checked
    ruleset: RuleSetRef | None


@dataclass(frozen=True, slots=True)
class BatchSummary:
    """Counts over a batch: ids asked for, orders passed, failed, with errors; ids not found."""

    total: int
    passed: int
    failed: int
    errors: int
    missing: list[int]


@dataclass(frozen=True, slots=True)
class BatchAnswer:
    """A batch: each found order's verdict in the order asked, and a summary."""

    ruleset: RuleSetRef | None
    results: list[Checked]
    summary: BatchSummary


def rules_check(
    *,
    caller: Caller,
    asked: RulesAsked,
    order: Order | None = None,
    order_id: int | None = None,
    fail_fast: bool = False,
) -> CheckAnswer:
    """Check one order, stored (*order_id*) or given (*order*), and put it on the record.

    The rules are resolved first: an unknown rule or rule set is refused
    before the order is read (``Http404`` when there is no such order). A
    decision over ``DECISION_LOG_MAX_BYTES`` raises ``CheckTooLargeError``
    and nothing is stored.
    """
    check, ruleset = resolver.resolve(
        asked.rules,
        ruleset=asked.ruleset,
        version=asked.version,
        active_only=not caller.sees_inactive_sets,
    )
    if order is None:
        order = order_get(order_id)  # type: ignore[arg-type]
    result = check.run(order, fail_fast=fail_fast)
    [decision_id] = record_checks(
        caller=caller.name,
        check=check,
        ruleset=ruleset,
        rules=asked.rules,
        fail_fast=fail_fast,
        checked=[(order, result)],
        refusal=CheckTooLargeError,
    )
    _count(result, ruleset)
    note_on_access_line(
        decision_id=decision_id,
        order_id=order.pk,
        ruleset=ruleset and ruleset.name,
        ruleset_version=ruleset and ruleset.version,
        passed=result.passed,
    )
    return CheckAnswer(Checked(decision_id, order.pk, result), ruleset)


def rules_check_batch(
    *,
    caller: Caller,
    asked: RulesAsked,
    order_ids: Sequence[int],
    render: Callable[[BatchAnswer], dict[str, Any]],
    fail_fast: bool = False,
) -> dict[str, Any]:
    """Check stored orders against the same rules, record every decision; return the answer.

    The answer is *render*ed (by the serializer that documents it) and
    measured before any decision is written; its decision ids are filled in
    once they are. Raises ``BatchTooLargeError``, with nothing stored, when
    orders x rules is over ``BATCH_MAX_CELLS`` (``BATCH_ANONYMOUS_MAX_CELLS``
    for an anonymous caller), the answer over ``BATCH_MAX_BYTES`` or the
    decisions over ``DECISION_LOG_MAX_BYTES``. Ids with no stored order are
    listed as missing, not an error.
    """
    check, ruleset = resolver.resolve(
        asked.rules,
        ruleset=asked.ruleset,
        version=asked.version,
        active_only=not caller.sees_inactive_sets,
    )
    check_batch_budget(len(order_ids), len(check.rules), anonymous=caller.anonymous)
    orders = Order.objects.in_bulk(order_ids)
    checked = [
        (orders[order_id], check.run(orders[order_id], fail_fast=fail_fast))
        for order_id in order_ids
        if order_id in orders
    ]
    passed = sum(result.passed for _, result in checked)
    summary = BatchSummary(
        total=len(order_ids),
        passed=passed,
        failed=len(checked) - passed,
        errors=sum(bool(result.errors) for _, result in checked),
        missing=[order_id for order_id in order_ids if order_id not in orders],
    )
    results = [Checked(None, order.pk, result) for order, result in checked]
    answer = render(BatchAnswer(ruleset, results, summary))
    check_batch_answer(answer, pending_ids=len(checked))
    decision_ids = record_checks(
        caller=caller.name,
        check=check,
        ruleset=ruleset,
        rules=asked.rules,
        fail_fast=fail_fast,
        checked=checked,
        refusal=BatchTooLargeError,
    )
    for entry, decision_id in zip(answer["results"], decision_ids, strict=True):
        entry["decision_id"] = decision_id
    for _, result in checked:
        _count(result, ruleset)
    note_on_access_line(
        ruleset=ruleset and ruleset.name,
        ruleset_version=ruleset and ruleset.version,
        orders=summary.total,
        passed=summary.passed,
        failed=summary.failed,
        errors=summary.errors,
    )
    return answer


def _count(result: CheckResult, ruleset: RuleSetRef | None) -> None:
    """Count one order checked: its verdict and each rule's outcome, by rule name."""
    count_check(
        source="rules" if ruleset is None else "ruleset",
        passed=result.passed,
        rule_outcomes=((rule.name, rule.outcome) for rule in result.results),
    )
