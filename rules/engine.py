"""The rule engine: the registry, its metaclass, the rule base class, the engine.

A rule is one class: subclass ``BaseRule``, give it a unique ``name``, a
``description`` and ``evaluate(order) -> bool``. ``RuleMeta`` registers it in
``RuleRegistry`` when the class is defined; ``RuleEngine`` evaluates rules
by name against an order.
"""

from __future__ import annotations

import inspect
import logging
import uuid
from abc import ABCMeta, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from rules.exceptions import DuplicateRuleError, UnknownRuleError

if TYPE_CHECKING:
    from orders.models import Order

logger = logging.getLogger(__name__)


class RuleRegistry:
    """Every concrete rule class, by name; filled by ``RuleMeta``."""

    _rules: ClassVar[dict[str, type[BaseRule]]] = {}

    @classmethod
    def register(cls, rule_cls: type[BaseRule]) -> None:
        """Register *rule_cls* under its name.

        Raises ``DuplicateRuleError`` naming both classes when the name is
        already taken: a silent override would make behaviour depend on
        import order.
        """
        existing = cls._rules.get(rule_cls.name)
        if existing is not None:
            raise DuplicateRuleError(
                f"Rule name {rule_cls.name!r} is used by both {_qualified(existing)} "
                f"and {_qualified(rule_cls)}"
            )
        cls._rules[rule_cls.name] = rule_cls
        logger.debug("rule registered", extra={"rule": rule_cls.name})

    @classmethod
    def get_rule(cls, name: str) -> type[BaseRule]:
        """Return the rule registered under *name*.

        Raises ``UnknownRuleError``, a ``KeyError``, for an unknown name.
        """
        try:
            return cls._rules[name]
        except KeyError:
            raise UnknownRuleError([name], cls._rules) from None

    @classmethod
    def get_all_rules(cls) -> dict[str, type[BaseRule]]:
        """Return a copy of the registry: ``{name: rule class}``."""
        return dict(cls._rules)

    @classmethod
    def rule_exists(cls, name: str) -> bool:
        """Return whether a rule is registered under *name*."""
        return name in cls._rules

    @classmethod
    def resolve(cls, names: Iterable[str]) -> list[type[BaseRule]]:
        """Return the rule classes for *names*, in order.

        Raises one ``UnknownRuleError`` naming every unknown name at once.
        """
        names = list(names)
        unknown = [name for name in names if name not in cls._rules]
        if unknown:
            raise UnknownRuleError(unknown, cls._rules)
        return [cls._rules[name] for name in names]


class RuleMeta(ABCMeta):
    """Metaclass that registers every concrete rule class when it is defined."""

    def __new__(
        mcs, cls_name: str, bases: tuple[type, ...], namespace: dict[str, Any], **kwargs: Any
    ) -> RuleMeta:
        """Build the class and register it unless it is abstract.

        Raises ``TypeError`` when a concrete rule lacks its own non-empty
        ``name`` or ``description``, and ``DuplicateRuleError`` when its name
        is taken.
        """
        cls = super().__new__(mcs, cls_name, bases, namespace, **kwargs)
        if inspect.isabstract(cls):
            return cls
        for attribute in ("name", "description"):
            value = namespace.get(attribute)
            if not isinstance(value, str) or not value.strip():
                raise TypeError(
                    f"Rule class {cls_name} must define its own non-empty string {attribute!r}"
                )
        RuleRegistry.register(cls)  # type: ignore[arg-type]
        return cls


class BaseRule(metaclass=RuleMeta):
    """Base class of all rules; subclassing it registers the rule."""

    name: ClassVar[str]
    description: ClassVar[str]

    @abstractmethod
    def evaluate(self, order: Order) -> bool:
        """Return whether *order* satisfies this rule."""


@dataclass(frozen=True, slots=True)
class RuleOutcome:
    """The verdict of one rule on one order.

    ``error_id`` is set when the rule could not be evaluated (it raised, or
    returned something other than a bool); such a rule has not passed.
    """

    name: str
    passed: bool
    error_id: str | None = None


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The verdicts of a list of rules on one order, in request order."""

    outcomes: tuple[RuleOutcome, ...]

    @property
    def passed(self) -> bool:
        """Return whether every rule passed."""
        return all(outcome.passed for outcome in self.outcomes)

    @property
    def details(self) -> dict[str, bool]:
        """Return ``{rule name: passed}``."""
        return {outcome.name: outcome.passed for outcome in self.outcomes}

    @property
    def errors(self) -> list[dict[str, str]]:
        """Return the rules that could not be evaluated, with their reference ids."""
        return [
            {"rule": outcome.name, "reference": outcome.error_id}
            for outcome in self.outcomes
            if outcome.error_id is not None
        ]

    def as_dict(self) -> dict[str, Any]:
        """Return the public contract: ``{"passed": bool, "details": {name: bool}}``."""
        return {"passed": self.passed, "details": self.details}


class RuleCheck:
    """A resolved list of rules, ready to be run against any number of orders."""

    def __init__(self, rule_classes: Sequence[type[BaseRule]]) -> None:
        """Instantiate each rule once; rules are stateless."""
        self.rules = tuple(rule_cls() for rule_cls in rule_classes)

    def run(self, order: Order) -> CheckResult:
        """Evaluate every rule against *order*, in order."""
        return CheckResult(tuple(_evaluate(rule, order) for rule in self.rules))


class RuleEngine:
    """Evaluates registered rules, by name, against orders."""

    def __init__(self, registry: type[RuleRegistry] = RuleRegistry) -> None:
        """Use *registry* to look rules up."""
        self.registry = registry

    def prepare(self, rule_names: Iterable[str]) -> RuleCheck:
        """Resolve *rule_names* into a runnable check.

        Raises ``UnknownRuleError`` naming every unknown rule before any rule
        runs.
        """
        return RuleCheck(self.registry.resolve(rule_names))

    def evaluate_rules(self, order: Order, rule_names: Iterable[str]) -> dict[str, Any]:
        """Return ``{"passed": bool, "details": {name: bool}}`` for *order*."""
        return self.prepare(rule_names).run(order).as_dict()


def _evaluate(rule: BaseRule, order: Order) -> RuleOutcome:
    """Run one rule; a rule that fails to answer is logged and counts as not passed.

    A rule is a plug-in, so whatever its ``evaluate`` raises is caught here,
    the one deliberate catch-all of the engine.
    """
    try:
        verdict = rule.evaluate(order)
    except Exception:
        error_id = uuid.uuid4().hex
        logger.exception(
            "rule evaluation failed",
            extra={"rule": rule.name, "error_id": error_id, "order_id": order.pk},
        )
        return RuleOutcome(rule.name, False, error_id)
    if verdict is not True and verdict is not False:
        error_id = uuid.uuid4().hex
        logger.error(
            "rule returned a non-boolean",
            extra={
                "rule": rule.name,
                "error_id": error_id,
                "order_id": order.pk,
                "returned_type": type(verdict).__name__,
            },
        )
        return RuleOutcome(rule.name, False, error_id)
    return RuleOutcome(rule.name, verdict)


def _qualified(cls: type) -> str:
    """Return ``module.QualName`` for *cls*."""
    return f"{cls.__module__}.{cls.__qualname__}"
