"""The one run loop: a resolved list of rules, run against an order."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rules.engine.base import Reason, Rule, Severity
from rules.engine.results import NO_FACTS, RESULT_FIELDS, CheckResult, Outcome, RuleResult

if TYPE_CHECKING:
    from orders.models import Order

logger = logging.getLogger(__name__)

SKIPPED_MESSAGE = "Skipped: an earlier rule already failed the check."
PASSED, FAILED, ERROR, SKIPPED = Outcome.PASSED, Outcome.FAILED, Outcome.ERROR, Outcome.SKIPPED


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """One requested rule: its name, params, an optional key and severity."""

    name: str
    params: Mapping[str, Any] = field(default_factory=dict)
    alias: str | None = None
    severity: Severity | None = None

    @property
    def key(self) -> str:
        """Return the key of this rule in ``details`` and ``results``."""
        return self.alias or self.name


@dataclass(frozen=True, slots=True)
class BoundRule:
    """A rule ready to run: its key, the rule with its params, and its severity.

    ``blocking`` is whether the rule's failure fails the check (severity
    ``error``).
    """

    key: str
    rule: Rule
    severity: Severity
    blocking: bool


class RuleCheck:
    """A resolved list of rules, ready to run against any number of orders."""

    def __init__(self, rules: Sequence[BoundRule]) -> None:
        """Keep the bound rules in evaluation order."""
        self.rules = tuple(rules)

    def run(self, order: Order, *, fail_fast: bool = False, explain: bool = True) -> CheckResult:
        """Evaluate every rule against *order*, in order.

        With *explain*, each rule's result says why (a message and the
        values behind it); without, only ``passed`` and ``details`` are
        made. With *fail_fast*, the rules after the first blocking failure
        are skipped. A rule that raises, answers a non-boolean or gives
        facts that would overwrite a result field has the outcome ``error``,
        is logged with a reference id, and counts as not passed; the other
        rules still run.
        """
        results: list[RuleResult] = []
        details: dict[str, bool | None] = {}
        passed = True
        for bound in self.rules:
            if fail_fast and not passed:
                details[bound.key] = None
                if explain:
                    results.append(RuleResult(bound, SKIPPED, SKIPPED_MESSAGE, NO_FACTS))
                continue
            rule = bound.rule
            reference = reason = None
            # A rule is a plug-in: this is the engine's one deliberate catch-all.
            try:
                verdict = rule.evaluate(order)
                if explain and type(verdict) is bool:
                    reason = rule.explain(order, verdict)
            except Exception:
                verdict, reference = None, _log_raised(rule, order)
            if reference is None and (
                type(verdict) is not bool
                or (reason is not None and not RESULT_FIELDS.isdisjoint(reason[1]))
            ):
                reference = _log_broken(rule, order, verdict, reason)
            if reference is not None:
                verdict = False
                if explain:
                    message = f"Rule {rule.name} could not be evaluated (reference {reference})."
                    results.append(RuleResult(bound, ERROR, message, NO_FACTS, reference))
            elif explain:
                results.append(RuleResult(bound, PASSED if verdict else FAILED, *reason))  # type: ignore[misc]
            details[bound.key] = verdict
            if not verdict and bound.blocking:
                passed = False
        return CheckResult(tuple(results), passed, details)


def _log_raised(rule: Rule, order: Order) -> str:
    """Log the exception a rule raised, with its traceback; return the reference id."""
    reference = uuid.uuid4().hex
    logger.exception(
        "rule evaluation failed",
        extra={"rule": rule.name, "error_id": reference, "order_id": order.pk},
    )
    return reference


def _log_broken(rule: Rule, order: Order, verdict: object, reason: Reason | None) -> str:
    """Log a rule that broke the engine's contract; return the reference id."""
    reference = uuid.uuid4().hex
    extra: dict[str, Any] = {"rule": rule.name, "error_id": reference, "order_id": order.pk}
    if type(verdict) is not bool:
        logger.error(
            "rule returned a non-boolean", extra={**extra, "returned_type": type(verdict).__name__}
        )
    else:
        clashing = sorted(RESULT_FIELDS.intersection(reason[1]))  # type: ignore[index]
        logger.error("rule facts clash with result fields", extra={**extra, "facts": clashing})
    return reference
