"""One rule per bench provider: it passes when the provider gave a score at all.

Each needs its provider's fact, so a check naming it calls that provider;
without an answer it errs with ``provider_unavailable``, as any rule does.
"""

from orders.facts import Fact, OrderFacts
from rules.engine.base import BaseRule

from .providers import CREDIT_SCORE, FLAKY_SCORE, STOCK_SCORE


def _scored(fact: Fact, order: OrderFacts) -> bool:
    """Return whether *order* has a score of *fact* (``Fact.require`` errs without one)."""
    return fact.require(order) is not None


class StockScoredRule(BaseRule):
    """Passes when the stock service scored the order."""

    name = "bench_stock_scored"
    description = "Bench: the stock service gave a score."
    needs = frozenset({STOCK_SCORE.path})

    def evaluate(self, order: OrderFacts) -> bool:
        """Return whether the stock score is known."""
        return _scored(STOCK_SCORE, order)


class CreditScoredRule(BaseRule):
    """Passes when the credit service scored the order."""

    name = "bench_credit_scored"
    description = "Bench: the credit service gave a score."
    needs = frozenset({CREDIT_SCORE.path})

    def evaluate(self, order: OrderFacts) -> bool:
        """Return whether the credit score is known."""
        return _scored(CREDIT_SCORE, order)


class FlakyScoredRule(BaseRule):
    """Passes when the flaky service scored the order."""

    name = "bench_flaky_scored"
    description = "Bench: the flaky service gave a score within 200 ms."
    needs = frozenset({FLAKY_SCORE.path})

    def evaluate(self, order: OrderFacts) -> bool:
        """Return whether the flaky score is known."""
        return _scored(FLAKY_SCORE, order)
