"""Rules over recorded decisions: a decision replayed, and proposed rules backtested.

A decision keeps the order as the rules saw it (its snapshot) and what they
said. Replaying runs its order again under the rules it was decided by and
under today's; a backtest runs proposed rules over the decisions of a rule
set, in one SQL query over their snapshots when every rule has a database
form that reads only the facts a snapshot gives SQL, else through the
Python engine.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import FieldError
from django.db.models import Count, Q, QuerySet

from decisions.models import Decision, RecordedOutcome
from decisions.services import as_recorded
from orders.facts import PROVIDED_FACTS, OrderFacts, from_snapshot, snapshot_aliases
from rules.analysis import STREAM_CHUNK, EvaluatedIn, all_blocking, rule_qs, sample_ids
from rules.budgets import analysis, check_report_budget
from rules.conditions import ConditionRuleContent
from rules.engine import Outcome, Resolution, RuleCheck, RuleSetRef, RuleSpec, Severity
from rules.recording import results_as_recorded, rule_heads
from rules.resolver import resolver
from rules.services import providers_supply

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
    of them has. ``refreshed`` says whether ``now`` asked the providers
    afresh; ``provided_changes`` then lists each provided fact whose value
    differs from the recorded one: ``{"fact", "recorded", "now"}``, ``None``
    for no value.
    """

    reproduced: bool
    then: ReplayRun
    now: ReplayRun
    differences: list[dict[str, str | None]]
    refreshed: bool = False
    provided_changes: list[dict[str, Any]] = dataclasses.field(default_factory=list)


def decision_replay(decision: Decision, *, refresh: bool = False) -> Replay:
    """Run *decision*'s order again, under the rules it was decided by and under today's.

    ``then`` runs the recorded rule set version, or the recorded listed rules
    with stored condition rules as they were, and must give the recorded
    results (an ``error`` outcome names a new reference id, and still
    reproduces); when it does not, a rule's code changed since, or there is a
    bug, and it is logged as an error naming the rules. ``now`` runs the
    set's current active version, or the same listed rules as they are today.
    Both run as the check did (``fail_fast``), with what providers
    supplied as the decision recorded it; with *refresh*, ``now`` asks the
    providers its rules need afresh (``ProviderNotConfiguredError`` for one
    without an address). Raises what the resolver raises:
    ``UnknownRuleSetError`` for a set deleted since (or, for ``now``,
    inactive), ``UnknownRuleError`` for a rule that no longer exists.
    """
    order = from_snapshot(decision.snapshot, pk=decision.order_id)
    if decision.ruleset:
        then = resolver.resolve(
            ruleset=decision.ruleset, version=decision.ruleset_version, active_only=False
        )
        now = resolver.resolve(ruleset=decision.ruleset)
    else:
        specs = [_spec(item) for item in decision.rules]
        held = {
            item["name"]: ConditionRuleContent(
                item["name"], item["stored"], origin={"decision_id": decision.pk}
            )
            for item in decision.rules
            if item["stored"]
        }
        then = resolver.resolve(specs, held=held)
        now = resolver.resolve(specs)
    then_run = _run(then, order, fail_fast=decision.fail_fast)
    now_order, changes = order, []
    if refresh and now.check.providers:
        now.check.require_configured()
        now_order = dataclasses.replace(order)
        providers_supply(
            check=now.check,
            orders=[now_order],
            deadline_ms=settings.CHECK_PROVIDERS_DEADLINE_MS,
            fail_fast=decision.fail_fast,
        )
        changes = _provided_changes(order, now_order)
    now_run = _run(now, now_order, fail_fast=decision.fail_fast)
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
        refreshed=refresh,
        provided_changes=changes,
    )


def _provided_changes(recorded: OrderFacts, refreshed: OrderFacts) -> list[dict[str, Any]]:
    """Return each provided fact whose value *refreshed* differs from the *recorded* one."""
    changes = []
    for path, fact in PROVIDED_FACTS.items():
        before, after = fact.read(recorded), fact.read(refreshed)
        if path in refreshed.provided and before != after:
            changes.append(
                {"fact": path, "recorded": fact.to_json(before), "now": fact.to_json(after)}
            )
    return changes


def _spec(item: dict[str, Any]) -> RuleSpec:
    """Return the spec of a listed rule as the record keeps it."""
    severity = Severity(item["severity"]) if item["severity"] else None
    return RuleSpec(item["name"], item["params"], item["as"], severity)


def _run(resolution: Resolution, order: OrderFacts, *, fail_fast: bool) -> ReplayRun:
    """Run a resolved check on *order*; return its results as the record would keep them."""
    result = resolution.check.run(order, fail_fast=fail_fast, explain=True)
    results = results_as_recorded(result, rule_heads(resolution.check))
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
    one query over the decisions; without one, or when a rule's filter reads
    what SQL does not read from snapshots (an order's lines, customer,
    addresses), the decisions are streamed through the Python engine. Raises
    ``ReportTooLargeError`` when decisions x rules is over ``REPORT_MAX_CELLS``.
    """
    with analysis(decisions.db):
        check_report_budget(decisions.count(), len(proposed.rules))
        parts = rule_qs(proposed)
        as_orders = decisions.alias(**snapshot_aliases("snapshot"))
        if parts is None or not _reads_snapshots(as_orders, parts):
            return _python_backtest(proposed, decisions, sample_size)
        return _database_backtest(proposed, parts, as_orders, sample_size)


def _reads_snapshots(decisions: QuerySet[Decision], parts: list[Q]) -> bool:
    """Return whether every filter of *parts* reads only what *decisions* alias.

    Building the filter resolves its names and runs no query: a name that
    neither a decision nor its snapshot's aliases have is a ``FieldError``.
    """
    try:
        decisions.filter(*parts)
    except FieldError:
        return False
    return True


def _database_backtest(
    proposed: RuleCheck, parts: list[Q], decisions: QuerySet[Decision], sample_size: int
) -> Backtest:
    """Compute ``backtest`` with one aggregate query and two samples."""
    after = all_blocking(proposed, parts)
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
        sample_pass_to_fail=sample_ids(decisions, then & ~after, sample_size),
        sample_fail_to_pass=sample_ids(decisions, ~then & after, sample_size),
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
        order = from_snapshot(recorded)
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
