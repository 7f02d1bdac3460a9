"""Threshold rules: one order value compared with one parameter, declared once.

A threshold rule declares *what* it compares (``Threshold``: the order's
value, the comparison, the parameter and the message); its Python check
(``evaluate``), its SQL filter (``as_q``) and its explanation (``explain``)
are all derived from that one declaration, so they agree by construction.
"""

from __future__ import annotations

import operator
from abc import abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db.models import BigIntegerField, F, Q, Value
from django.db.models.expressions import CombinedExpression
from django.db.models.functions import Cast, Round
from django.db.models.lookups import Exact

from orders.facts import Fact, FactType
from rules.engine.base import NO_FACTS, BaseRule, Judgement, Reason

if TYPE_CHECKING:
    from orders.facts import OrderFacts


def cents(field: str) -> Cast:
    """Return the money *field* in whole cents, as an integer SQL expression.

    Exact on SQLite too, where decimals are stored as floats: 0.29 * 100 is
    28.999…, which rounds to 29 before the cast.
    """
    return Cast(Round(F(field) * 100), BigIntegerField())


def modulo(integer: Any, divisor: int) -> CombinedExpression:
    """Return the SQL remainder of an integer expression by a positive *divisor*.

    SQL's own ``%`` operator: Django's ``Mod`` is a Python function on SQLite,
    called once per row, which makes a scan of a million orders ~50x slower.
    """
    return integer % Value(divisor, output_field=BigIntegerField())


def _multiple_of_q(value: Fact, divisor: Any) -> Q:
    """Filter orders whose value is an exact multiple of *divisor*, in whole steps.

    Integer arithmetic keeps it exact on SQLite too, where decimals are
    stored as floats and ``total % 5`` or a float ``MOD`` is wrong for some
    totals.
    """
    column = cents(value.path) if value.type is FactType.MONEY else value.sql()
    return Q(Exact(modulo(column, int(divisor / value.step)), 0))


@dataclass(frozen=True, slots=True)
class Comparison:
    """How an order's value must relate to the parameter: in Python, in SQL, and by how much.

    ``gaps`` returns the facts a failure reports (what is missing or too
    much), given the observed value, the required one, the value's step and
    how the value is written as JSON; ``gap_names`` names them.
    """

    holds: Callable[[Any, Any], bool]
    q: Callable[[Fact, Any], Q]
    gaps: Callable[[Any, Any, Any, Callable[[Any], Any]], dict[str, Any]]
    gap_names: frozenset[str]


GREATER_THAN = Comparison(
    operator.gt,
    lambda value, required: Q(**{f"{value.path}__gt": required}),
    lambda observed, required, step, to_json: {"shortfall": to_json(required - observed + step)},
    frozenset({"shortfall"}),
)
AT_LEAST = Comparison(
    operator.ge,
    lambda value, required: Q(**{f"{value.path}__gte": required}),
    lambda observed, required, step, to_json: {"shortfall": to_json(required - observed)},
    frozenset({"shortfall"}),
)
AT_MOST = Comparison(
    operator.le,
    lambda value, required: Q(**{f"{value.path}__lte": required}),
    lambda observed, required, step, to_json: {"excess": to_json(observed - required)},
    frozenset({"excess"}),
)


def _remainder_gaps(
    observed: Any, divisor: Any, step: Any, to_json: Callable[[Any], Any]
) -> dict[str, Any]:
    """Return what is left over by *divisor*, and what would reach the next multiple."""
    remainder = observed % divisor
    return {"remainder": to_json(remainder), "shortfall": to_json(divisor - remainder)}


MULTIPLE_OF = Comparison(
    lambda observed, divisor: observed % divisor == 0,
    _multiple_of_q,
    _remainder_gaps,
    frozenset({"remainder", "shortfall"}),
)


@dataclass(frozen=True, slots=True)
class Threshold:
    """A threshold rule's whole declaration.

    *passed* and *failed* are the messages, with ``{observed}`` (the
    order's value as a phrase, e.g. "3 items") and ``{required}`` (the
    parameter); *failed* defaults to *passed*.
    """

    value: Fact
    comparison: Comparison
    parameter: str
    passed: str
    failed: str = ""


@dataclass(frozen=True, slots=True)
class BoundThreshold:
    """A threshold declaration bound to its parameter: all a threshold rule reads per order.

    ``limit`` is the parameter's value, which the order's value is compared
    with; ``required`` is the same value as the API shows it. ``messages``
    are the failed and passed messages with ``required`` filled in, each
    split where the observed value goes.
    """

    path: str
    holds: Callable[[Any, Any], bool]
    limit: Any
    required: Any
    step: Decimal | int
    to_json: Callable[[Any], Any]
    phrase: Callable[[Any], str]
    gaps: Callable[[Any, Any, Any, Callable[[Any], Any]], dict[str, Any]]
    messages: tuple[tuple[str, ...], ...]

    @classmethod
    def of(cls, threshold: Threshold, limit: Any, required: Any) -> BoundThreshold:
        """Return *threshold* bound to the parameter's value *limit*, shown as *required*."""
        value, comparison = threshold.value, threshold.comparison
        failed, passed = threshold.failed or threshold.passed, threshold.passed
        messages = tuple(
            tuple(part.format(required=required) for part in template.split("{observed}"))
            for template in (failed, passed)
        )
        return cls(
            path=value.path,
            holds=comparison.holds,
            limit=limit,
            required=required,
            step=value.step,
            to_json=value.json,
            phrase=value.words,
            gaps=comparison.gaps,
            messages=messages,
        )

    def judge(self, order: OrderFacts, passed: bool | None = None) -> Judgement:
        """Evaluate *order* (unless *passed* says how it went) and explain, in one call.

        Explaining says the observed and required values and, on failure,
        by how much.
        """
        observed = getattr(order, self.path)
        if passed is None:
            holds = self.holds
            passed = holds(observed, self.limit)
            if passed is not True and passed is not False:
                return passed, "", NO_FACTS
        to_json, phrase = self.to_json, self.phrase
        shown = to_json(observed)
        facts = {"observed": shown, "required": self.required}
        # Money is said as its JSON says it: written once.
        message = (shown if phrase is to_json else phrase(observed)).join(self.messages[passed])
        if not passed:
            gaps = self.gaps
            facts.update(gaps(observed, self.limit, self.step, to_json))
        return passed, message, facts


class ThresholdRule(BaseRule):
    """A rule that compares one order value with one parameter, as ``threshold`` declares.

    ``evaluate`` and ``explain`` each read the rule's one ``BoundThreshold``
    and nothing else of the rule: a check alternates between rule classes,
    and Python 3.11 caches an attribute read for one class at a time, so
    every other read of the rule would miss its cache. ``judge``, what a
    check calls, is the ``BoundThreshold``'s own, so that it reads no rule at
    all. They read its callables into locals before calling them: Python
    3.11 caches a read, not a call, of a slot.
    """

    def __init__(self, /, **params: Any) -> None:
        """Validate *params*, then bind the declaration to them once for every order to come."""
        super().__init__(**params)
        parameter = self.threshold.parameter
        self._bound = BoundThreshold.of(
            self.threshold, self.params[parameter], self.shown_params[parameter]
        )
        self.fact_names = frozenset({"observed", "required"}) | self.threshold.comparison.gap_names

    @property
    @abstractmethod
    def threshold(self) -> Threshold:
        """Return the declaration that evaluate, as_q and explain are derived from."""

    def evaluate(self, order: OrderFacts) -> bool:
        """Return whether the order's value compares with the parameter as declared."""
        bound = self._bound
        holds = bound.holds
        return holds(getattr(order, bound.path), bound.limit)

    def as_q(self) -> Q:
        """Return the same comparison as a database filter."""
        return self.threshold.comparison.q(self.threshold.value, self._bound.limit)

    def explain(self, order: OrderFacts, passed: bool) -> Reason:
        """Say the observed and required values and, on failure, by how much."""
        _, message, facts = self._bound.judge(order, passed)
        return message, facts

    @property
    def judge(self) -> Callable[[OrderFacts], Judgement]:  # type: ignore[override]
        """Evaluate and explain in one call: the bound declaration's own ``judge``."""
        return self._bound.judge
