"""The rule engine: the registry, its metaclass, the rule base class, the engine.

A rule is one class: subclass ``BaseRule``, give it a unique ``name``, a
``description`` and ``evaluate(order) -> bool``. ``RuleMeta`` registers it in
``RuleRegistry`` when the class is defined; ``RuleEngine`` evaluates rules by
name (or by ``RuleSpec``, with params, key and severity) against orders.
"""

from rules.engine.base import BaseRule, Reason, RuleExample, Severity
from rules.engine.registry import RuleMeta, RuleRegistry
from rules.engine.results import CheckResult, Outcome, RuleResult
from rules.engine.runner import BoundRule, RuleCheck, RuleEngine, RuleSpec

__all__ = [
    "BaseRule",
    "BoundRule",
    "CheckResult",
    "Outcome",
    "Reason",
    "RuleCheck",
    "RuleEngine",
    "RuleExample",
    "RuleMeta",
    "RuleRegistry",
    "RuleResult",
    "RuleSpec",
    "Severity",
]
