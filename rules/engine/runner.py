"""The engine: binds rule requests to rules and runs them against orders."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rules.engine.base import BaseRule, Severity
from rules.engine.registry import RuleRegistry
from rules.engine.results import CheckResult, Outcome, RuleResult
from rules.exceptions import InvalidRuleParamsError

if TYPE_CHECKING:
    from orders.models import Order

logger = logging.getLogger(__name__)


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
    """A rule instance with its key and severity, ready to run."""

    key: str
    rule: BaseRule
    severity: Severity


class RuleCheck:
    """A resolved list of rules, ready to run against any number of orders."""

    def __init__(self, rules: Iterable[BoundRule]) -> None:
        """Keep the bound rules in evaluation order."""
        self.rules = tuple(rules)

    def verdicts(self, order: Order) -> dict[str, Any]:
        """Return ``{"passed", "details"}`` for *order*, without reasons."""
        details: dict[str, bool] = {}
        passed = True
        for bound in self.rules:
            verdict = _verdict(bound.rule, order) is True
            details[bound.key] = verdict
            if not verdict and bound.severity is Severity.ERROR:
                passed = False
        return {"passed": passed, "details": details}

    def run(self, order: Order, *, fail_fast: bool = False) -> CheckResult:
        """Evaluate every rule against *order*, in order, saying why for each.

        With *fail_fast*, the rules after the first blocking result are
        skipped.
        """
        results: list[RuleResult] = []
        stopped = False
        for bound in self.rules:
            result = _skipped(bound) if stopped else _evaluate(bound, order)
            results.append(result)
            stopped = stopped or (fail_fast and result.blocks)
        return CheckResult(tuple(results))


class RuleEngine:
    """Evaluates registered rules against orders."""

    def __init__(self, registry: type[RuleRegistry] = RuleRegistry) -> None:
        """Use *registry* to look rules up."""
        self.registry = registry
        # Rules are stateless, so each class's parameterless instance (its
        # preset validated once) is bound once and shared.
        self._unparameterized: dict[type[BaseRule], BaseRule] = {}

    def prepare(self, specs: Iterable[str | RuleSpec]) -> RuleCheck:
        """Resolve and bind *specs* (names or ``RuleSpec``) into a runnable check.

        Raises ``UnknownRuleError`` naming every unknown rule, then
        ``InvalidRuleParamsError`` naming every bad parameter, before any
        rule runs.
        """
        specs = [RuleSpec(spec) if isinstance(spec, str) else spec for spec in specs]
        classes = self.registry.resolve(spec.name for spec in specs)
        bound: list[BoundRule] = []
        errors: dict[str, Any] = {}
        for spec, rule_cls in zip(specs, classes, strict=True):
            try:
                rule = self._bind(rule_cls, spec.params)
            except InvalidRuleParamsError as exc:
                errors[spec.key] = exc.rules[rule_cls.name]
                continue
            severity = Severity(spec.severity) if spec.severity else rule_cls.severity
            bound.append(BoundRule(spec.key, rule, severity))
        if errors:
            raise InvalidRuleParamsError(errors)
        return RuleCheck(bound)

    def evaluate_rules(self, order: Order, rule_names: Iterable[str]) -> dict[str, Any]:
        """Return ``{"passed": bool, "details": {name: bool}}`` for *order*."""
        return self.prepare(rule_names).verdicts(order)

    def _bind(self, rule_cls: type[BaseRule], params: Mapping[str, Any]) -> BaseRule:
        """Return *rule_cls* bound to *params*, reusing its parameterless instance."""
        if params:
            return rule_cls.bind(params)
        rule = self._unparameterized.get(rule_cls)
        if rule is None:
            rule = self._unparameterized[rule_cls] = rule_cls.bind()
        return rule


def _verdict(rule: BaseRule, order: Order) -> bool | str:
    """Return the rule's verdict, or a logged error's reference id.

    A rule is a plug-in, so whatever its ``evaluate`` raises is caught here,
    the one deliberate catch-all of the engine.
    """
    try:
        verdict = rule.evaluate(order)
    except Exception:
        reference = uuid.uuid4().hex
        logger.exception(
            "rule evaluation failed",
            extra={"rule": rule.name, "error_id": reference, "order_id": order.pk},
        )
        return reference
    if verdict is True or verdict is False:
        return verdict
    reference = uuid.uuid4().hex
    logger.error(
        "rule returned a non-boolean",
        extra={
            "rule": rule.name,
            "error_id": reference,
            "order_id": order.pk,
            "returned_type": type(verdict).__name__,
        },
    )
    return reference


def _evaluate(bound: BoundRule, order: Order) -> RuleResult:
    """Run one bound rule and explain its outcome."""
    rule = bound.rule
    verdict = _verdict(rule, order)
    if isinstance(verdict, str):
        message = f"Rule {rule.name} could not be evaluated (reference {verdict})."
        return RuleResult(
            bound.key,
            rule.name,
            rule.shown_params,
            bound.severity,
            Outcome.ERROR,
            message,
            {"reference": verdict},
        )
    reason = rule.explain(order, verdict)
    outcome = Outcome.PASSED if verdict else Outcome.FAILED
    return RuleResult(
        bound.key,
        rule.name,
        rule.shown_params,
        bound.severity,
        outcome,
        reason.message,
        reason.facts,
    )


def _skipped(bound: BoundRule) -> RuleResult:
    """Return the result of a rule that fail-fast did not run."""
    rule = bound.rule
    message = "Skipped: an earlier rule already failed the check."
    return RuleResult(
        bound.key, rule.name, rule.shown_params, bound.severity, Outcome.SKIPPED, message
    )
