"""Checks on the record: a check's results as plain data, handed to the decision log.

``record_checks`` turns what a check ran and gave into the decision log's
entries (``decisions.services``); ``rule_heads`` and
``results_as_recorded`` give each rule's result in the one shape the record
keeps, which replaying a decision compares with (``rules.replays``).
"""

from collections.abc import Sequence
from typing import Any, overload

from api.request_ids import current_request_id
from decisions.services import (
    DecisionEntry,
    DecisionLogTooLargeError,
    DecisionSource,
    decision_log_enabled,
    decisions_record,
)
from orders.facts import OrderFacts, snapshot
from rules.budgets import BYTES, BudgetError
from rules.conditions import CompiledConditionRule
from rules.engine import CheckResult, RuleCheck, RuleSetRef, RuleSpec


def record_checks(
    *,
    caller: str,
    check: RuleCheck,
    ruleset: RuleSetRef | None,
    rules: Sequence[RuleSpec] | None,
    fail_fast: bool,
    checked: Sequence[tuple[OrderFacts, CheckResult]],
    refusal: type[BudgetError],
) -> list[int | None]:
    """Put each order's check on the record, in one statement; return the decision ids.

    *caller* names who asked; *check* is what ran, resolved from the listed
    *rules* or from *ruleset*.
    An id is ``None`` for a check that ``DECISION_LOG`` leaves out. Checks
    whose record would be over ``DECISION_LOG_MAX_BYTES`` raise the
    endpoint's *refusal*, and nothing is written.
    """
    if not decision_log_enabled():
        return [None] * len(checked)
    source = DecisionSource(
        caller=caller,
        request_id=current_request_id() or "",
        fail_fast=fail_fast,
        ruleset=ruleset.name if ruleset else "",
        ruleset_version=ruleset.version if ruleset else None,
        rules=None if ruleset else _listed(rules or (), check),
    )
    try:
        return decisions_record(source=source, entries=_Entries(checked, rule_heads(check)))
    except DecisionLogTooLargeError as exc:
        raise refusal(exc.size, exc.limit, "DECISION_LOG_MAX_BYTES", BYTES) from None


class _Entries(Sequence[DecisionEntry]):
    """The checks as the record's entries, each made when the record reads it.

    A batch's COPY stores the first orders while the next are made (the
    order's snapshot, the results: most of the record's Python).
    """

    def __init__(
        self, checked: Sequence[tuple[OrderFacts, CheckResult]], heads: list[dict[str, Any]]
    ) -> None:
        """Make entries of *checked*, with the check's rule *heads*."""
        self._checked, self._heads = checked, heads

    def __len__(self) -> int:
        """Return how many checks there are."""
        return len(self._checked)

    @overload
    def __getitem__(self, index: int) -> DecisionEntry: ...

    @overload
    def __getitem__(self, index: slice) -> list[DecisionEntry]: ...

    def __getitem__(self, index: int | slice) -> DecisionEntry | list[DecisionEntry]:
        """Return the entry of the check at *index*, made now (a list of them for a slice)."""
        if isinstance(index, slice):
            return [self._entry(pair) for pair in self._checked[index]]
        return self._entry(self._checked[index])

    def _entry(self, pair: tuple[OrderFacts, CheckResult]) -> DecisionEntry:
        """Return one check's entry."""
        order, result = pair
        return DecisionEntry(
            order_id=order.pk,
            snapshot=snapshot(order),
            results=results_as_recorded(result, self._heads),
            passed=result.passed,
        )


def _listed(specs: Sequence[RuleSpec], check: RuleCheck) -> list[dict[str, Any]]:
    """Return the listed rules as the record keeps them, stored condition rules as they ran."""
    return [
        {
            "name": spec.name,
            "params": dict(spec.params),
            "as": spec.alias,
            "severity": spec.severity.value if spec.severity else None,
            "stored": bound.rule.content()
            if isinstance(bound.rule, CompiledConditionRule)
            else None,
        }
        for spec, bound in zip(specs, check.rules, strict=True)
    ]


def rule_heads(check: RuleCheck) -> list[dict[str, Any]]:
    """Return what each rule's results share on the record: its key, name and params.

    Made once per check, not once per order: a batch's orders share them.
    """
    return [
        {"rule": bound.key, "name": bound.rule.name, "params": dict(bound.rule.shown_params)}
        for bound in check.rules
    ]


def results_as_recorded(result: CheckResult, heads: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return each rule's result as the record keeps it, from its check's *heads*.

    A check explained gives one result per rule, in the check's order.
    Outcomes and severities are ``StrEnum`` members: strings already, as JSON
    encodes them (a batch makes thousands of these).
    """
    return [
        {
            **head,
            "outcome": rule_result.outcome,
            "severity": rule_result.bound.severity,  # not the property: a call per rule
            "message": rule_result.message,
            "facts": dict(rule_result.facts),
        }
        for head, rule_result in zip(heads, result.results, strict=True)
    ]
