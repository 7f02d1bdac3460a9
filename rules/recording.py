"""Checks on the record: the decisions the check views leave, and a decision replayed.

A check's results become plain data here, in one shape for both directions:
``record_checks`` hands them to the decision log (``decisions.services``),
and ``decision_replay`` runs a recorded decision again and compares the
results in that same shape.
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from api.request_ids import current_request_id
from decisions.models import Decision
from decisions.services import (
    DecisionEntry,
    DecisionLogTooLargeError,
    DecisionSource,
    as_recorded,
    decision_log_enabled,
    decisions_record,
)
from orders.facts import snapshot
from orders.models import Order
from rules.budgets import BYTES, BudgetError
from rules.conditions import StoredRule
from rules.engine import (
    CheckResult,
    Outcome,
    Resolution,
    RuleCheck,
    RuleSetRef,
    RuleSpec,
    Severity,
)
from rules.models import StoredRuleRecord
from rules.resolver import resolver

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ReplayRun:
    """One run of a replayed decision: the rule set version it used, the verdict, the results."""

    ruleset: RuleSetRef | None
    passed: bool
    results: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Replay:
    """A decision run again: under the rules it was decided by (``then``) and today's (``now``).

    ``differences`` lists each rule whose outcome differs between the two
    runs: ``{"rule", "then", "now"}``, with ``None`` for a rule that only one
    of them has.
    """

    reproduced: bool
    then: ReplayRun
    now: ReplayRun
    differences: list[dict[str, str | None]]


def record_checks(
    *,
    caller: str,
    check: RuleCheck,
    ruleset: RuleSetRef | None,
    rules: Sequence[RuleSpec] | None,
    fail_fast: bool,
    checked: Sequence[tuple[Order, CheckResult]],
    refusal: type[BudgetError],
) -> list[int | None]:
    """Put each order's check on the record, in one INSERT; return the decision ids.

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
    heads = _rule_heads(check)
    entries = [
        DecisionEntry(
            order_id=order.pk,
            snapshot=snapshot(order),
            results=_results(result, heads),
            passed=result.passed,
        )
        for order, result in checked
    ]
    try:
        return decisions_record(source=source, entries=entries)
    except DecisionLogTooLargeError as exc:
        raise refusal(exc.size, exc.limit, "DECISION_LOG_MAX_BYTES", BYTES) from None


def decision_replay(decision: Decision) -> Replay:
    """Run *decision*'s order again, under the rules it was decided by and under today's.

    ``then`` runs the recorded rule set version, or the recorded listed rules
    with stored condition rules as they were, and must give the recorded
    results (an ``error`` outcome names a new reference id, and still
    reproduces); when it does not, a rule's code changed since, or there is a
    bug, and it is logged as an error naming the rules. ``now`` runs the
    set's current active version, or the same listed rules as they are today.
    Both run as the check did (``fail_fast``). Raises what the resolver
    raises: ``UnknownRuleSetError`` for a set deleted since (or, for ``now``,
    inactive), ``UnknownRuleError`` for a rule that no longer exists.
    """
    order = Order(pk=decision.order_id, **decision.order)
    if decision.ruleset:
        then = resolver.resolve(
            ruleset=decision.ruleset, version=decision.ruleset_version, active_only=False
        )
        now = resolver.resolve(ruleset=decision.ruleset)
    else:
        specs = [_spec(item) for item in decision.rules]
        held = {
            item["name"]: StoredRuleRecord(decision.pk, item["name"], item["stored"])
            for item in decision.rules
            if item["stored"]
        }
        then = resolver.resolve(specs, pinned=held)
        now = resolver.resolve(specs)
    then_run = _run(then, order, fail_fast=decision.fail_fast)
    now_run = _run(now, order, fail_fast=decision.fail_fast)
    unreproduced = _differing(decision.results, then_run.results)
    if unreproduced:
        logger.error(
            "decision not reproduced", extra={"decision_id": decision.pk, "rules": unreproduced}
        )
    return Replay(
        reproduced=not unreproduced,
        then=then_run,
        now=now_run,
        differences=_outcome_changes(then_run.results, now_run.results),
    )


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


def _spec(item: dict[str, Any]) -> RuleSpec:
    """Return the spec of a listed rule as the record keeps it."""
    severity = Severity(item["severity"]) if item["severity"] else None
    return RuleSpec(item["name"], item["params"], item["as"], severity)


def _rule_heads(check: RuleCheck) -> list[dict[str, Any]]:
    """Return what each rule's results share on the record: its key, name and params.

    Made once per check, not once per order: a batch's orders share them.
    """
    return [
        {"rule": bound.key, "name": bound.rule.name, "params": dict(bound.rule.shown_params)}
        for bound in check.rules
    ]


def _results(result: CheckResult, heads: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return each rule's result as the record keeps it, from its check's *heads*.

    A check explained gives one result per rule, in the check's order.
    Outcomes and severities are ``StrEnum`` members: strings already, as JSON
    encodes them (a batch makes thousands of these).
    """
    return [
        {
            **head,
            "outcome": rule_result.outcome,
            "severity": rule_result.severity,
            "message": rule_result.message,
            "facts": dict(rule_result.facts),
        }
        for head, rule_result in zip(heads, result.results, strict=True)
    ]


def _run(resolution: Resolution, order: Order, *, fail_fast: bool) -> ReplayRun:
    """Run a resolved check on *order*; return its results as the record would keep them."""
    result = resolution.check.run(order, fail_fast=fail_fast, explain=True)
    results = _results(result, _rule_heads(resolution.check))
    return ReplayRun(resolution.ruleset, result.passed, as_recorded(results))


def _differing(recorded: list[dict[str, Any]], replayed: list[dict[str, Any]]) -> list[str]:
    """Return the keys of the rules whose results differ, in order.

    An ``error`` outcome's message names the reference id of its log line,
    new at every run, so it is not compared.
    """
    first, second = _by_key(recorded), _by_key(replayed)
    keys = dict.fromkeys([*first, *second])
    return [key for key in keys if first.get(key) != second.get(key)]


def _by_key(results: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Return *results* by rule key, with the message of an ``error`` outcome left out."""
    return {
        result["rule"]: {**result, "message": None}
        if result["outcome"] == Outcome.ERROR
        else result
        for result in results
    }


def _outcome_changes(
    then: list[dict[str, Any]], now: list[dict[str, Any]]
) -> list[dict[str, str | None]]:
    """Return each rule whose outcome differs between *then* and *now*, in order."""
    before = {result["rule"]: result["outcome"] for result in then}
    after = {result["rule"]: result["outcome"] for result in now}
    return [
        {"rule": key, "then": before.get(key), "now": after.get(key)}
        for key in dict.fromkeys([*before, *after])
        if before.get(key) != after.get(key)
    ]
