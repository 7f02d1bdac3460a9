"""The rule base class, what a rule declares, and how it describes itself."""

from __future__ import annotations

import functools
from abc import abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from rest_framework import serializers

from rules.engine.errors import InvalidRuleParamsError
from rules.engine.providers import providers_for
from rules.engine.registry import RuleMeta

if TYPE_CHECKING:
    from django.db.models import Q

    from orders.facts import OrderFacts


class Severity(StrEnum):
    """How much a rule's failure counts: an ``error`` blocks, a ``warning`` does not."""

    ERROR = "error"
    WARNING = "warning"


# Why a rule passed or failed: one human sentence, and the values behind it
# (e.g. {"observed": "75.50", "required": "100.00"}) for a client to use.
Reason = tuple[str, Mapping[str, Any]]

# A rule's verdict on an order and why: (passed, message, facts). A verdict that
# is not a bool comes with an empty message and no facts (the engine reports it).
Judgement = tuple[Any, str, Mapping[str, Any]]

# The facts of a verdict that has none: shared, and read-only.
NO_FACTS: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class RuleExample:
    """An order (as API fields), the rule's params, and whether the rule passes it.

    ``provided`` holds the facts providers would supply for it, by path
    (``{"risk.score": 85}``).
    """

    order: Mapping[str, Any]
    passes: bool
    params: Mapping[str, Any] = field(default_factory=dict)
    provided: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RuleInfo:
    """What a rule says about itself, for the rule list, Swagger and the admin.

    ``params`` declares the parameters a caller gives (``None``: it takes
    none); ``condition`` is a stored rule's JsonLogic; ``needs`` the
    provided facts it reads.
    """

    name: str
    description: str
    severity: Severity
    params: type[serializers.Serializer] | None
    examples: tuple[RuleExample, ...]
    stored: bool
    condition: Any = None
    needs: frozenset[str] = frozenset()

    @property
    def configured(self) -> bool:
        """Return whether every provider the rule needs has an address to call."""
        return all(provider.configured() for provider in providers_for(self.needs))


def restate(description: str, passed: bool) -> Reason:
    """Return the default reason: the rule's description, passed or failed."""
    return f"{'Passed' if passed else 'Failed'}: {description}", {}


def judgement(rule: Rule, order: OrderFacts) -> Judgement:
    """Return *rule*'s verdict on *order* and why: ``evaluate``, then ``explain``.

    A verdict that is not a bool is not explained.
    """
    verdict = rule.evaluate(order)
    if verdict is not True and verdict is not False:
        return verdict, "", NO_FACTS
    message, facts = rule.explain(order, verdict)
    return verdict, message, facts


class Rule(Protocol):
    """What the engine runs: a code rule instance, or a rule stored in the database."""

    name: str
    description: str
    severity: Severity
    params: Mapping[str, Any]
    shown_params: Mapping[str, Any]
    fact_names: frozenset[str] | None
    needs: frozenset[str]

    def evaluate(self, order: OrderFacts) -> bool:
        """Return whether *order* satisfies the rule."""

    def explain(self, order: OrderFacts, passed: bool) -> Reason:
        """Return ``(message, facts)``: why *order* passed or failed."""

    def as_q(self) -> Q | None:
        """Return the rule as a database filter, or ``None`` without one."""

    def as_error_q(self) -> Q | None:
        """Return the orders on which the rule errs (they lack a fact it reads), ``None``: none."""


class BaseRule(metaclass=RuleMeta):
    """Base class of all rules; subclassing it registers the rule.

    A rule may declare ``Params``, a DRF serializer whose fields type,
    validate and document its parameters; a rule that fixes them for good
    sets ``preset`` and takes none from callers. ``examples`` are run by a
    system check at start-up.
    """

    name: ClassVar[str]
    description: ClassVar[str]
    severity: ClassVar[Severity] = Severity.ERROR
    Params: ClassVar[type[serializers.Serializer] | None] = None
    preset: ClassVar[Mapping[str, Any]] = {}
    examples: ClassVar[tuple[RuleExample, ...]] = ()
    # The provided facts it reads (``risk.score``): the check calls their
    # providers before the rule runs (``rules.engine.providers``).
    needs: ClassVar[frozenset[str]] = frozenset()
    # The names of the facts ``explain`` gives, when they are always the same:
    # the engine checks them against the result's fields once, not at every
    # explanation. ``None``: any names, checked every time.
    fact_names: frozenset[str] | None = None

    def __init__(self, /, **params: Any) -> None:
        """Validate *params* against ``Params``; a preset rule takes its preset instead.

        ``rule_class()`` is a working rule for every rule that needs no
        parameters or has a preset. Raises ``InvalidRuleParamsError`` naming
        each missing, unknown or ill-typed parameter.
        """
        self.params: Mapping[str, Any] = self._validated(params)
        self.shown_params: Mapping[str, Any] = (
            dict(self.Params().to_representation(self.params)) if self.Params else {}
        )

    @abstractmethod
    def evaluate(self, order: OrderFacts) -> bool:
        """Return whether *order* satisfies this rule."""

    def explain(self, order: OrderFacts, passed: bool) -> Reason:
        """Return ``(message, facts)``: why *order* passed or failed.

        The default repeats the description; threshold rules derive theirs
        from their declaration, with the observed and required values.
        """
        return restate(self.description, passed)

    def judge(self, order: OrderFacts) -> Judgement:
        """Return the verdict on *order* and why, in one call: what the engine asks.

        The default evaluates, then explains; a rule that can do both at
        once (a threshold rule reads the order's value once) overrides it,
        and must agree with ``evaluate`` and ``explain``.
        """
        return judgement(self, order)

    def as_q(self) -> Q | None:
        """Return this rule as a database filter on orders, or ``None`` without one.

        A rule with a database form can answer "which orders pass?" in one
        query; it must agree with ``evaluate`` on every order (the test suite
        proves it for the built-in rules on SQLite and PostgreSQL).
        """
        return None

    def as_error_q(self) -> Q | None:
        """Return, as a database filter, the orders on which this rule errs; ``None``: none.

        A rule that reads a fact some orders lack (``Fact.require``) errs on
        them in Python; this is the same in SQL, so that queries and reports
        count those orders as errors, whatever ``as_q`` says of them.
        """
        return None

    @classmethod
    def bind(cls, params: Mapping[str, Any]) -> BaseRule:
        """Return the rule with *params*, as ``rule_class(**params)`` does.

        Rules are stateless, so one instance per class and parameters is made
        and shared, per process (at most ``MAX_BOUND_RULES``): validating the
        parameters through ``Params`` costs a check with a parameterised rule
        about 150 µs, more than the rule. ``Params`` must therefore judge the
        same parameters alike every time (no clock, no database), as DRF's
        fields do. Parameters that are not plain values are validated anew.
        """
        if not params:
            return _shared(cls)
        try:
            key = (cls, _frozen(params))
            rule = _BOUND.get(key)
        except TypeError:  # a parameter that cannot be a key: validate it every time
            return cls(**params)
        if rule is None:
            if len(_BOUND) >= MAX_BOUND_RULES:
                _BOUND.clear()
            rule = _BOUND[key] = cls(**params)
        return rule

    @classmethod
    def describe(cls) -> RuleInfo:
        """Return what the rule says about itself."""
        return RuleInfo(
            name=cls.name,
            description=cls.description,
            severity=cls.severity,
            params=None if cls.preset else cls.Params,
            examples=cls.examples,
            stored=False,
            needs=cls.needs,
        )

    @classmethod
    def _validated(cls, given: Mapping[str, Any]) -> Mapping[str, Any]:
        """Return *given* (or the preset) validated by ``Params``."""
        if cls.preset and given:
            problem = f"{cls.name} takes no parameters."
            raise InvalidRuleParamsError({cls.name: {name: [problem] for name in given}})
        serializer = cls.Params(data=dict(cls.preset or given)) if cls.Params else None
        unknown = sorted(set(given) - set(serializer.fields if serializer else ()))
        if unknown:
            raise InvalidRuleParamsError(
                {cls.name: {name: ["Unknown parameter."] for name in unknown}}
            )
        if serializer is None:
            return {}
        if not serializer.is_valid():
            raise InvalidRuleParamsError({cls.name: serializer.errors})
        return serializer.validated_data


# The rules bound to parameters, by class and parameters (``BaseRule.bind``).
MAX_BOUND_RULES = 4096
_BOUND: dict[tuple[type[BaseRule], Any], BaseRule] = {}


def _frozen(value: Any) -> Any:
    """Return *value* (parameters as JSON gives them) as a key: equal only for the same types.

    ``1``, ``True`` and ``"1"`` are different keys; raises ``TypeError`` for a
    value that cannot be one.
    """
    kind = type(value)
    # JSON's own types first, without ``isinstance`` of an abstract class (a Python call).
    if kind in _SCALARS:
        return (kind, value)
    if kind is dict or isinstance(value, Mapping):
        items: list[tuple[str, Any]] = []
        for key, item in value.items():
            inner = type(item)
            items.append((str(key), (inner, item) if inner in _SCALARS else _frozen(item)))
        return ("map", tuple(sorted(items)))
    if isinstance(value, list | tuple):
        return ("list", tuple(_frozen(item) for item in value))
    hash(value)
    return (kind, value)


# The types of JSON's scalars, each its own key as it is (``_frozen``).
_SCALARS = frozenset({str, int, float, bool, type(None)})


@functools.cache
def _shared(rule_cls: type[BaseRule]) -> BaseRule:
    """Return the one parameterless instance of *rule_cls*."""
    return rule_cls()
