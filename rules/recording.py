"""Checks on the record: the decisions the check views leave.

A check's results become plain data here: ``record_checks`` hands them to
the decision log (``decisions.services``).
"""

from collections.abc import Sequence
from typing import Any

from rest_framework.request import Request

from api.request_ids import current_request_id
from decisions.services import (
    DecisionEntry,
    DecisionSource,
    caller_name,
    decision_log_enabled,
    decisions_record,
)
from orders.models import Order
from rules.conditions import StoredRule
from rules.engine import CheckResult, RuleCheck, RuleSetRef, RuleSpec


def record_checks(
    request: Request,
    *,
    check: RuleCheck,
    ruleset: RuleSetRef | None,
    rules: Sequence[RuleSpec] | None,
    fail_fast: bool,
    checked: Sequence[tuple[Order, CheckResult]],
) -> list[int | None]:
    """Put each order's check on the record, in one INSERT; return the decision ids.

    *check* is what ran, resolved from the listed *rules* or from *ruleset*.
    An id is ``None`` for a check that ``DECISION_LOG`` leaves out.
    """
    if not decision_log_enabled():
        return [None] * len(checked)
    source = DecisionSource(
        caller=caller_name(request),
        request_id=current_request_id() or "",
        fail_fast=fail_fast,
        ruleset=ruleset.name if ruleset else "",
        ruleset_version=ruleset.version if ruleset else None,
        rules=None if ruleset else _listed(rules or (), check),
    )
    entries = [
        DecisionEntry(
            order_id=order.pk,
            total=order.total,
            items_count=order.items_count,
            created_at=order.created_at,
            updated_at=order.updated_at,
            results=_results(result),
            passed=result.passed,
        )
        for order, result in checked
    ]
    return decisions_record(source=source, entries=entries)


def _listed(specs: Sequence[RuleSpec], check: RuleCheck) -> list[dict[str, Any]]:
    """Return the listed rules as the record keeps them, stored condition rules as they ran."""
    return [
        {
            "name": spec.name,
            "params": dict(spec.params),
            "as": spec.alias,
            "severity": spec.severity.value if spec.severity else None,
            "stored": bound.rule.snapshot() if isinstance(bound.rule, StoredRule) else None,
        }
        for spec, bound in zip(specs, check.rules, strict=True)
    ]


def _results(result: CheckResult) -> list[dict[str, Any]]:
    """Return each rule's result as the record keeps it."""
    return [
        {
            "rule": rule_result.key,
            "name": rule_result.name,
            "params": dict(rule_result.params),
            "outcome": rule_result.outcome.value,
            "severity": rule_result.severity.value,
            "message": rule_result.message,
            "facts": dict(rule_result.facts),
        }
        for rule_result in result.results
    ]
