"""The engine: binds rule requests to rules and runs them against orders."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rules.engine.base import BaseRule, Rule, Severity
from rules.engine.errors import InvalidRuleParamsError, UnknownRuleError
from rules.engine.registry import RuleRegistry
from rules.engine.results import NO_FACTS, CheckResult, Outcome, RuleResult

if TYPE_CHECKING:
    from orders.models import Order

logger = logging.getLogger(__name__)

# evaluate_rules keeps this many resolved name lists; past it, it starts over.
_MAX_CACHED_CHECKS = 1024
_SKIPPED_MESSAGE = "Skipped: an earlier rule already failed the check."
# Looked up once: a check reads them for every rule. RuleResult is a named
# tuple; building it through tuple.__new__ skips its Python-level __new__.
_new_result = tuple.__new__
_PASSED, _FAILED, _ERROR, _SKIPPED = Outcome.PASSED, Outcome.FAILED, Outcome.ERROR, Outcome.SKIPPED


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
    """A rule instance with its key and severity, ready to run.

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
        # What each run reads of every rule, looked up once: a check is hot.
        self._plan = tuple(
            (bound, bound.key, bound.rule, bound.rule.evaluate, bound.rule.explain, bound.blocking)
            for bound in self.rules
        )

    def verdicts(self, order: Order) -> dict[str, Any]:
        """Return ``{"passed", "details"}`` for *order*, without reasons."""
        details: dict[str, bool] = {}
        passed = True
        for _bound, key, rule, evaluate, _explain, blocking in self._plan:
            try:
                verdict = evaluate(order)
            except Exception:
                _log_raised(rule, order)
                verdict = False
            if verdict is not True and verdict is not False:
                _log_non_boolean(rule, order, verdict)
                verdict = False
            details[key] = verdict
            if not verdict and blocking:
                passed = False
        return {"passed": passed, "details": details}

    def run(self, order: Order, *, fail_fast: bool = False) -> CheckResult:
        """Evaluate every rule against *order*, in order, saying why for each.

        With *fail_fast*, the rules after the first blocking result are
        skipped.
        """
        results: list[RuleResult] = []
        details: dict[str, bool | None] = {}
        passed = True
        for bound, key, rule, evaluate, explain, blocking in self._plan:
            if fail_fast and not passed:
                results.append(RuleResult(bound, _SKIPPED, _SKIPPED_MESSAGE, NO_FACTS))
                details[key] = None
                continue
            reference = None
            try:
                verdict = evaluate(order)
            except Exception:
                verdict, reference = None, _log_raised(rule, order)
            if verdict is True:
                message, facts = explain(order, True)
                results.append(_new_result(RuleResult, (bound, _PASSED, message, facts)))
            elif verdict is False:
                message, facts = explain(order, False)
                results.append(_new_result(RuleResult, (bound, _FAILED, message, facts)))
            else:
                reference = reference or _log_non_boolean(rule, order, verdict)
                message = f"Rule {rule.name} could not be evaluated (reference {reference})."
                results.append(RuleResult(bound, _ERROR, message, {"reference": reference}))
            details[key] = verdict is True
            if verdict is not True and blocking:
                passed = False
        return CheckResult(tuple(results), passed, details)


class RuleEngine:
    """Evaluates registered rules against orders."""

    def __init__(self, registry: type[RuleRegistry] = RuleRegistry) -> None:
        """Use *registry* to look rules up."""
        self.registry = registry
        # Rules are stateless, so each class's parameterless instance (its
        # preset validated once) is bound once and shared.
        self._unparameterized: dict[type[BaseRule], BaseRule] = {}
        self._checks: dict[tuple[str, ...], tuple[int, RuleCheck]] = {}

    def prepare(
        self, specs: Iterable[str | RuleSpec], stored: Mapping[str, Rule] | None = None
    ) -> RuleCheck:
        """Resolve and bind *specs* (names or ``RuleSpec``) into a runnable check.

        Names are looked up among the code rules, then among *stored* rules
        (read from the database by the caller, so never stale). Raises
        ``UnknownRuleError`` naming every unknown rule, then
        ``InvalidRuleParamsError`` naming every bad parameter, before any
        rule runs.
        """
        specs = [RuleSpec(spec) if isinstance(spec, str) else spec for spec in specs]
        stored = stored or {}
        registry = self.registry
        unknown = [
            s.name for s in specs if s.name not in stored and not registry.rule_exists(s.name)
        ]
        if unknown:
            raise UnknownRuleError(unknown, [*registry.get_all_rules(), *stored])
        bound: list[BoundRule] = []
        errors: dict[str, Any] = {}
        for spec in specs:
            try:
                rule = self._bind(spec, stored)
            except InvalidRuleParamsError as exc:
                [errors[spec.key]] = exc.rules.values()
                continue
            severity = Severity(spec.severity) if spec.severity else rule.severity
            bound.append(BoundRule(spec.key, rule, severity, severity is Severity.ERROR))
        if errors:
            raise InvalidRuleParamsError(errors)
        return RuleCheck(bound)

    def evaluate_rules(self, order: Order, rule_names: Iterable[str]) -> dict[str, Any]:
        """Return ``{"passed": bool, "details": {name: bool}}`` for *order*.

        The names are resolved once and the check reused while the registry
        stays the same.
        """
        names = tuple(rule_names)
        generation = self.registry.generation
        cached = self._checks.get(names)
        if cached is None or cached[0] != generation:
            if len(self._checks) >= _MAX_CACHED_CHECKS:
                self._checks.clear()
            cached = self._checks[names] = (generation, self.prepare(names))
        return cached[1].verdicts(order)

    def _bind(self, spec: RuleSpec, stored: Mapping[str, Rule]) -> Rule:
        """Return the rule *spec* names, bound to its params.

        A code rule's parameterless instance is made once and reused; a
        stored rule takes no parameters.
        """
        if not self.registry.rule_exists(spec.name):
            if spec.params:
                errors = {param: ["Unknown parameter."] for param in spec.params}
                raise InvalidRuleParamsError({spec.name: errors})
            return stored[spec.name]
        rule_cls = self.registry.get_rule(spec.name)
        if spec.params:
            return rule_cls.bind(spec.params)
        rule = self._unparameterized.get(rule_cls)
        if rule is None:
            rule = self._unparameterized[rule_cls] = rule_cls.bind()
        return rule


def _log_raised(rule: Rule, order: Order) -> str:
    """Log the exception being handled, with its traceback; return its reference id.

    A rule is a plug-in, so the engine catches whatever its ``evaluate``
    raises (its one deliberate catch-all) and reports it here.
    """
    reference = uuid.uuid4().hex
    logger.exception(
        "rule evaluation failed",
        extra={"rule": rule.name, "error_id": reference, "order_id": order.pk},
    )
    return reference


def _log_non_boolean(rule: Rule, order: Order, verdict: object) -> str:
    """Log a rule that answered something other than a bool; return the reference id."""
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
