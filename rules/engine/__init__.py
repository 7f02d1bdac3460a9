"""The rule engine: pure core, no HTTP.

A rule is one class: subclass ``BaseRule`` (or ``ThresholdRule`` with a
``Threshold`` declaration, ``MembershipRule`` with a ``Membership`` one), give
it a unique ``name``, a ``description`` and ``evaluate(order) -> bool``.
``RuleMeta`` registers it in ``RuleRegistry`` when the class is defined. A
``Resolver`` turns rule names, items or a rule set into a ``RuleCheck``, whose
one loop (``run``) gives a ``CheckResult`` (``checks``);
``RuleEngine.evaluate_rules`` is the Python API on top of them.
"""

from orders.facts import CENT, ITEMS_COUNT, TOTAL
from rules.engine.base import BaseRule, Reason, RuleExample, RuleInfo, Severity
from rules.engine.checks import (
    BoundRule,
    CodeRules,
    Resolution,
    Resolver,
    RuleCheck,
    RuleEngine,
    RuleSetRef,
    RuleSpec,
)
from rules.engine.errors import (
    DuplicateRuleError,
    InvalidRuleParamsError,
    RuleError,
    UnknownRuleError,
    UnknownRuleSetError,
    UnknownRuleSetVersionError,
)
from rules.engine.memberships import Membership, MembershipRule
from rules.engine.registry import RuleMeta, RuleRegistry
from rules.engine.results import CheckResult, Outcome, RuleResult
from rules.engine.thresholds import (
    AT_LEAST,
    AT_MOST,
    GREATER_THAN,
    MULTIPLE_OF,
    Threshold,
    ThresholdRule,
    cents,
    modulo,
)

__all__ = [
    "AT_LEAST",
    "AT_MOST",
    "CENT",
    "GREATER_THAN",
    "ITEMS_COUNT",
    "MULTIPLE_OF",
    "TOTAL",
    "BaseRule",
    "BoundRule",
    "CheckResult",
    "CodeRules",
    "DuplicateRuleError",
    "InvalidRuleParamsError",
    "Membership",
    "MembershipRule",
    "Outcome",
    "Reason",
    "Resolution",
    "Resolver",
    "RuleCheck",
    "RuleEngine",
    "RuleError",
    "RuleExample",
    "RuleInfo",
    "RuleMeta",
    "RuleRegistry",
    "RuleResult",
    "RuleSetRef",
    "RuleSpec",
    "Severity",
    "Threshold",
    "ThresholdRule",
    "UnknownRuleError",
    "UnknownRuleSetError",
    "UnknownRuleSetVersionError",
    "cents",
    "modulo",
]
