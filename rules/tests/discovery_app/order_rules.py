"""A rule defined in another app."""

from orders.models import Order
from rules.engine import BaseRule


class LargeBasketRule(BaseRule):
    """Passes for ten items or more."""

    name = "large_basket"
    description = "Order has at least 10 items."

    def evaluate(self, order: Order) -> bool:
        """Return whether the order has ten items or more."""
        return order.items_count >= 10
