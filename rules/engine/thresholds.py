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
from typing import TYPE_CHECKING, Any

from django.db.models import BigIntegerField, F, Q, Value
from django.db.models.expressions import CombinedExpression
from django.db.models.functions import Cast, Round
from django.db.models.lookups import Exact

from orders.facts import Fact, FactType
from rules.engine.base import BaseRule, Reason

if TYPE_CHECKING:
    from orders.models import Order


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
    much), given the observed value, the required one and the value's step.
    """

    holds: Callable[[Any, Any], bool]
    q: Callable[[Fact, Any], Q]
    gaps: Callable[[Any, Any, Any], dict[str, Any]]


GREATER_THAN = Comparison(
    operator.gt,
    lambda value, required: Q(**{f"{value.path}__gt": required}),
    lambda observed, required, step: {"shortfall": required - observed + step},
)
AT_LEAST = Comparison(
    operator.ge,
    lambda value, required: Q(**{f"{value.path}__gte": required}),
    lambda observed, required, step: {"shortfall": required - observed},
)
AT_MOST = Comparison(
    operator.le,
    lambda value, required: Q(**{f"{value.path}__lte": required}),
    lambda observed, required, step: {"excess": observed - required},
)


def _remainder_gaps(observed: Any, divisor: Any, step: Any) -> dict[str, Any]:
    """Return what is left over by *divisor*, and what would reach the next multiple."""
    remainder = observed % divisor
    return {"remainder": remainder, "shortfall": divisor - remainder}


MULTIPLE_OF = Comparison(
    lambda observed, divisor: observed % divisor == 0, _multiple_of_q, _remainder_gaps
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


class ThresholdRule(BaseRule):
    """A rule that compares one order value with one parameter, as ``threshold`` declares."""

    def __init__(self, /, **params: Any) -> None:
        """Validate *params*, then read the declaration once for every order to come.

        The required value is filled into the declared messages here, each
        split where the observed value goes; ``explain`` joins the parts
        with the order's value. The fact's methods are looked up here too:
        a check explains every rule.
        """
        super().__init__(**params)
        threshold = self.threshold
        value = threshold.value
        self._path = value.path
        self._step = value.step
        self._to_json = value.to_json
        self._phrase = value.phrase
        self._holds = threshold.comparison.holds
        self._gaps = threshold.comparison.gaps
        self._bound = self.params[threshold.parameter]
        self._required = self.shown_params[threshold.parameter]
        failed, passed = threshold.failed or threshold.passed, threshold.passed
        self._messages = tuple(
            tuple(part.format(required=self._required) for part in template.split("{observed}"))
            for template in (failed, passed)
        )

    @property
    @abstractmethod
    def threshold(self) -> Threshold:
        """Return the declaration that evaluate, as_q and explain are derived from."""

    def evaluate(self, order: Order) -> bool:
        """Return whether the order's value compares with the parameter as declared."""
        return self._holds(getattr(order, self._path), self._bound)

    def as_q(self) -> Q:
        """Return the same comparison as a database filter."""
        return self.threshold.comparison.q(self.threshold.value, self._bound)

    def explain(self, order: Order, passed: bool) -> Reason:
        """Say the observed and required values and, on failure, by how much."""
        to_json = self._to_json
        observed = getattr(order, self._path)
        facts = {"observed": to_json(observed), "required": self._required}
        message = self._phrase(observed).join(self._messages[passed])
        if not passed:
            for name, gap in self._gaps(observed, self._bound, self._step).items():
                facts[name] = to_json(gap)
        return message, facts
