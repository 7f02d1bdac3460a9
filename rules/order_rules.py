"""The built-in order rules: parameterized templates, and the original presets.

Each template declares its parameters once, as DRF serializer fields, which
validate requests and document them. The three original rules are presets of
the templates and behave exactly as before. Amounts are Decimals with two
places (the model and the parameter fields quantize them), so ``str`` shows
them as money.
"""

from decimal import Decimal
from typing import ClassVar

from django.db.models import Q
from django.db.models.lookups import Exact
from django.utils import timezone
from rest_framework import serializers

from orders.models import Order
from rules.conditions import cents, modulo
from rules.engine import BaseRule, Reason, RuleExample

CENT = Decimal("0.01")
MAX_MONEY = Decimal("99999999.99")
MAX_COUNT = 2**31 - 1


def _items(count: int) -> str:
    """Return "1 item" or "N items"."""
    return f"{count} item" if count == 1 else f"{count} items"


def _money(**kwargs: object) -> serializers.DecimalField:
    """Return a field for an amount with two decimal places."""
    return serializers.DecimalField(max_digits=10, decimal_places=2, **kwargs)


class TotalGreaterThanRule(BaseRule):
    """Passes when the total is strictly greater than ``amount``."""

    name = "total_greater_than"
    description = "Order total is greater than `amount`."

    class Params(serializers.Serializer):
        """Parameters of ``total_greater_than``."""

        amount = _money(min_value=Decimal("0.00"), help_text="The total must exceed this.")

    examples: ClassVar[tuple[RuleExample, ...]] = (
        RuleExample({"total": "250.00", "items_count": 1}, False, {"amount": "250.00"}),
        RuleExample({"total": "250.01", "items_count": 1}, True, {"amount": "250.00"}),
    )

    def evaluate(self, order: Order) -> bool:
        """Return whether the total exceeds the amount."""
        return order.total > self.params["amount"]

    def as_q(self) -> Q:
        """Filter orders whose total exceeds the amount."""
        return Q(total__gt=self.params["amount"])

    def explain(self, order: Order, passed: bool) -> Reason:
        """Say the total, the amount, and what to add to qualify."""
        total, amount = str(order.total), self.shown_params["amount"]
        if passed:
            return f"Total {total} is greater than {amount}.", {
                "observed": total,
                "required": amount,
            }
        shortfall = str(self.params["amount"] - order.total + CENT)
        return (
            f"Total {total} is not greater than {amount}.",
            {"observed": total, "required": amount, "shortfall": shortfall},
        )


class TotalAtMostRule(BaseRule):
    """Passes when the total is at most ``amount``."""

    name = "total_at_most"
    description = "Order total is at most `amount`."

    class Params(serializers.Serializer):
        """Parameters of ``total_at_most``."""

        amount = _money(min_value=Decimal("0.00"), help_text="The total may not exceed this.")

    examples: ClassVar[tuple[RuleExample, ...]] = (
        RuleExample({"total": "500.00", "items_count": 1}, True, {"amount": "500.00"}),
        RuleExample({"total": "500.01", "items_count": 1}, False, {"amount": "500.00"}),
    )

    def evaluate(self, order: Order) -> bool:
        """Return whether the total stays within the amount."""
        return order.total <= self.params["amount"]

    def as_q(self) -> Q:
        """Filter orders whose total stays within the amount."""
        return Q(total__lte=self.params["amount"])

    def explain(self, order: Order, passed: bool) -> Reason:
        """Say the total, the amount, and by how much it is exceeded."""
        total, amount = str(order.total), self.shown_params["amount"]
        if passed:
            return f"Total {total} is at most {amount}.", {"observed": total, "required": amount}
        excess = str(order.total - self.params["amount"])
        return (
            f"Total {total} is more than {amount}.",
            {"observed": total, "required": amount, "excess": excess},
        )


class MinItemsRule(BaseRule):
    """Passes when the order has at least ``count`` items."""

    name = "min_items"
    description = "Order has at least `count` items."

    class Params(serializers.Serializer):
        """Parameters of ``min_items``."""

        count = serializers.IntegerField(min_value=1, max_value=MAX_COUNT)

    examples: ClassVar[tuple[RuleExample, ...]] = (
        RuleExample({"total": "10.00", "items_count": 9}, False, {"count": 10}),
        RuleExample({"total": "10.00", "items_count": 10}, True, {"count": 10}),
    )

    def evaluate(self, order: Order) -> bool:
        """Return whether the item count reaches the minimum."""
        return order.items_count >= self.params["count"]

    def as_q(self) -> Q:
        """Filter orders with at least the minimum item count."""
        return Q(items_count__gte=self.params["count"])

    def explain(self, order: Order, passed: bool) -> Reason:
        """Say the item count, the minimum, and how many items are missing."""
        count = self.params["count"]
        facts = {"observed": order.items_count, "required": count}
        if passed:
            return (f"Order has {_items(order.items_count)}; at least {count} required.", facts)
        return (
            f"Order has {_items(order.items_count)}; at least {count} required.",
            {**facts, "shortfall": count - order.items_count},
        )


class MaxItemsRule(BaseRule):
    """Passes when the order has at most ``count`` items."""

    name = "max_items"
    description = "Order has at most `count` items."

    class Params(serializers.Serializer):
        """Parameters of ``max_items``."""

        count = serializers.IntegerField(min_value=1, max_value=MAX_COUNT)

    examples: ClassVar[tuple[RuleExample, ...]] = (
        RuleExample({"total": "10.00", "items_count": 20}, True, {"count": 20}),
        RuleExample({"total": "10.00", "items_count": 21}, False, {"count": 20}),
    )

    def evaluate(self, order: Order) -> bool:
        """Return whether the item count stays within the maximum."""
        return order.items_count <= self.params["count"]

    def as_q(self) -> Q:
        """Filter orders with at most the maximum item count."""
        return Q(items_count__lte=self.params["count"])

    def explain(self, order: Order, passed: bool) -> Reason:
        """Say the item count, the maximum, and how many items are too many."""
        count = self.params["count"]
        facts = {"observed": order.items_count, "required": count}
        if passed:
            return (f"Order has {_items(order.items_count)}; at most {count} allowed.", facts)
        return (
            f"Order has {_items(order.items_count)}; at most {count} allowed.",
            {**facts, "excess": order.items_count - count},
        )


class TotalDivisibleByRule(BaseRule):
    """Passes when the total is an exact multiple of ``divisor``, in Decimal."""

    name = "total_divisible_by"
    description = "Order total is an exact multiple of `divisor`."

    class Params(serializers.Serializer):
        """Parameters of ``total_divisible_by``."""

        divisor = _money(min_value=CENT, help_text="The total must be a multiple of this.")

    examples: ClassVar[tuple[RuleExample, ...]] = (
        RuleExample({"total": "7.50", "items_count": 1}, True, {"divisor": "2.50"}),
        RuleExample({"total": "7.51", "items_count": 1}, False, {"divisor": "2.50"}),
    )

    def evaluate(self, order: Order) -> bool:
        """Return whether the divisor leaves no remainder."""
        return order.total % self.params["divisor"] == 0

    def as_q(self) -> Q:
        """Filter orders whose total in whole cents divides by the divisor in cents.

        Integer cents keep it exact on SQLite too, where decimals are stored
        as floats and ``total % 5`` or a float ``MOD`` is wrong for some totals.
        """
        return Q(Exact(modulo(cents("total"), int(self.params["divisor"] / CENT)), 0))

    def explain(self, order: Order, passed: bool) -> Reason:
        """Say the total, the divisor, and what to add to reach the next multiple."""
        total, divisor = str(order.total), self.shown_params["divisor"]
        if passed:
            return (
                f"Total {total} is a multiple of {divisor}.",
                {"observed": total, "required": divisor},
            )
        remainder = order.total % self.params["divisor"]
        return (
            f"Total {total} is not a multiple of {divisor}.",
            {
                "observed": total,
                "required": divisor,
                "remainder": str(remainder),
                "shortfall": str(self.params["divisor"] - remainder),
            },
        )


class WeekendOrderRule(BaseRule):
    """Passes for orders placed on a Saturday or Sunday in the configured time zone."""

    name = "is_weekend_order"
    description = "Order was placed on a Saturday or Sunday (in the service's time zone)."
    examples: ClassVar[tuple[RuleExample, ...]] = (
        RuleExample(
            {"total": "1.00", "items_count": 1, "created_at": "2026-11-21T12:00:00Z"}, True
        ),
        RuleExample(
            {"total": "1.00", "items_count": 1, "created_at": "2026-11-23T12:00:00Z"}, False
        ),
    )

    def evaluate(self, order: Order) -> bool:
        """Return whether the order's local creation day is Saturday or Sunday."""
        return timezone.localtime(order.created_at).weekday() >= 5

    def as_q(self) -> Q:
        """Filter orders placed on ISO weekday 6 or 7 in the current time zone."""
        return Q(created_at__iso_week_day__gte=6)

    def explain(self, order: Order, passed: bool) -> Reason:
        """Say the local day the order was placed on."""
        placed = timezone.localtime(order.created_at)
        day = f"{placed:%A %Y-%m-%d} ({placed.tzname()})"
        facts = {"observed": f"{placed:%A}", "required": "Saturday or Sunday"}
        verb = "was" if passed else "was not"
        return (f"Order placed on {day} {verb} placed on a weekend.", facts)


class MinimumTotalRule(TotalGreaterThanRule):
    """Passes when the order total is strictly greater than 100.00."""

    name = "min_total_100"
    description = "Order total is greater than 100.00."
    preset: ClassVar[dict[str, str]] = {"amount": "100.00"}
    examples: ClassVar[tuple[RuleExample, ...]] = (
        RuleExample({"total": "100.00", "items_count": 1}, False),
        RuleExample({"total": "100.01", "items_count": 1}, True),
    )


class MinimumItemsRule(MinItemsRule):
    """Passes when the order has at least two items."""

    name = "min_items_2"
    description = "Order has at least 2 items."
    preset: ClassVar[dict[str, int]] = {"count": 2}
    examples: ClassVar[tuple[RuleExample, ...]] = (
        RuleExample({"total": "10.00", "items_count": 1}, False),
        RuleExample({"total": "10.00", "items_count": 2}, True),
    )


class DivisibleByFiveRule(TotalDivisibleByRule):
    """Passes when the total is an exact multiple of 5, computed in Decimal."""

    name = "divisible_by_5"
    description = "Order total is an exact multiple of 5 (75.50 is not)."
    preset: ClassVar[dict[str, str]] = {"divisor": "5.00"}
    examples: ClassVar[tuple[RuleExample, ...]] = (
        RuleExample({"total": "0.00", "items_count": 1}, True),
        RuleExample({"total": "75.50", "items_count": 1}, False),
        RuleExample({"total": "150.00", "items_count": 1}, True),
    )
