"""The built-in order rules: one small class each."""

from decimal import Decimal

from orders.models import Order
from rules.engine import BaseRule


class MinimumTotalRule(BaseRule):
    """Passes when the order total is strictly greater than 100.00."""

    name = "min_total_100"
    description = "Order total is greater than 100.00."
    THRESHOLD = Decimal("100.00")

    def evaluate(self, order: Order) -> bool:
        """Return whether the total exceeds the threshold."""
        return order.total > self.THRESHOLD


class MinimumItemsRule(BaseRule):
    """Passes when the order has at least two items."""

    name = "min_items_2"
    description = "Order has at least 2 items."
    MINIMUM = 2

    def evaluate(self, order: Order) -> bool:
        """Return whether the item count reaches the minimum."""
        return order.items_count >= self.MINIMUM


class DivisibleByFiveRule(BaseRule):
    """Passes when the total is an exact multiple of 5, computed in Decimal."""

    name = "divisible_by_5"
    description = "Order total is an exact multiple of 5 (75.50 is not)."
    DIVISOR = Decimal("5")

    def evaluate(self, order: Order) -> bool:
        """Return whether the total divides by the divisor with no remainder."""
        return Decimal(order.total) % self.DIVISOR == 0
