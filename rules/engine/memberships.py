"""Membership rules: one code the order has (a country, a currency) in a listed set, declared once.

A membership rule declares *which* fact it reads and *which* parameter lists
the codes allowed (``Membership``); its Python check (``evaluate``), its SQL
filter (``as_q``), the orders it errs on (``as_error_q``: those that lack
the fact) and its explanation are all derived from that declaration.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db.models import Q

from orders.facts import Fact
from rules.engine.base import BaseRule, Reason

if TYPE_CHECKING:
    from orders.facts import OrderFacts


@dataclass(frozen=True, slots=True)
class Membership:
    """A membership rule's whole declaration.

    *value* is the fact read (an order that lacks it errs, naming it);
    *parameter* names the list of codes allowed. *passed* and *failed* are
    the messages, with ``{observed}`` (the order's code) and ``{required}``
    (the codes allowed, comma-separated).
    """

    value: Fact
    parameter: str
    passed: str
    failed: str


class MembershipRule(BaseRule):
    """A rule that passes when one of the order's codes is among those listed, as declared."""

    fact_names = frozenset({"observed", "required"})

    def __init__(self, /, **params: Any) -> None:
        """Validate *params*, then keep the codes allowed as a set for every order to come."""
        super().__init__(**params)
        self._allowed = frozenset(self.params[self.membership.parameter])
        self._required = sorted(self._allowed)

    @property
    @abstractmethod
    def membership(self) -> Membership:
        """Return the declaration that evaluate, as_q, as_error_q and explain are derived from."""

    def evaluate(self, order: OrderFacts) -> bool:
        """Return whether the order's code is allowed; raise ``MissingFactError`` without one."""
        return self.membership.value.require(order) in self._allowed

    def as_q(self) -> Q:
        """Return the same test as a database filter."""
        return Q(**{f"{self.membership.value.column}__in": self._required})

    def as_error_q(self) -> Q | None:
        """Return the orders that lack the code (a blank column); ``None``: every order has it."""
        value = self.membership.value
        return Q(**{value.column: ""}) if value.nullable else None

    def explain(self, order: OrderFacts, passed: bool) -> Reason:
        """Say the order's code and the codes allowed."""
        observed = self.membership.value.require(order)
        template = self.membership.passed if passed else self.membership.failed
        message = template.format(observed=observed, required=", ".join(self._required))
        return message, {"observed": observed, "required": self._required}
