"""The built-in order rules: threshold templates, a calendar rule, and three presets.

Each template declares its parameters once, as DRF serializer fields, which
validate requests and document them; a threshold rule's check, SQL filter
and explanation come from its ``threshold`` declaration. A template's class
names what it compares (``MinItemsRule``: ``min_items(count)``); a preset's
class names its template and the value it fixes (``MinItems2Rule``:
``min_items_2``, ``preset`` ``count=2``), and takes no parameters from
callers. Amounts are
Decimals with two places (the model and the parameter fields quantize them),
so ``str`` shows them as money.
"""

from decimal import Decimal
from typing import ClassVar

from django.db.models import Q
from django.utils import timezone
from rest_framework import serializers

from orders.facts import OrderFacts
from rules.engine import (
    AT_LEAST,
    AT_MOST,
    CENT,
    GREATER_THAN,
    ITEMS_COUNT,
    MULTIPLE_OF,
    TOTAL,
    BaseRule,
    Reason,
    RuleExample,
    Threshold,
    ThresholdRule,
)

MAX_COUNT = 2**31 - 1


def _money(**kwargs: object) -> serializers.DecimalField:
    """Return a field for an amount with two decimal places."""
    return serializers.DecimalField(max_digits=10, decimal_places=2, **kwargs)


class TotalGreaterThanRule(ThresholdRule):
    """Passes when the total is strictly greater than ``amount``."""

    name = "total_greater_than"
    description = "Order total is greater than `amount`."
    threshold = Threshold(
        TOTAL,
        GREATER_THAN,
        "amount",
        passed="Total {observed} is greater than {required}.",
        failed="Total {observed} is not greater than {required}.",
    )
    examples: ClassVar[tuple[RuleExample, ...]] = (
        RuleExample({"total": "250.00", "items_count": 1}, False, {"amount": "250.00"}),
        RuleExample({"total": "250.01", "items_count": 1}, True, {"amount": "250.00"}),
    )

    class Params(serializers.Serializer):
        """Parameters of ``total_greater_than``."""

        amount = _money(min_value=Decimal("0.00"), help_text="The total must exceed this.")


class TotalAtMostRule(ThresholdRule):
    """Passes when the total is at most ``amount``."""

    name = "total_at_most"
    description = "Order total is at most `amount`."
    threshold = Threshold(
        TOTAL,
        AT_MOST,
        "amount",
        passed="Total {observed} is at most {required}.",
        failed="Total {observed} is more than {required}.",
    )
    examples: ClassVar[tuple[RuleExample, ...]] = (
        RuleExample({"total": "500.00", "items_count": 1}, True, {"amount": "500.00"}),
        RuleExample({"total": "500.01", "items_count": 1}, False, {"amount": "500.00"}),
    )

    class Params(serializers.Serializer):
        """Parameters of ``total_at_most``."""

        amount = _money(min_value=Decimal("0.00"), help_text="The total may not exceed this.")


class MinItemsRule(ThresholdRule):
    """Passes when the order has at least ``count`` items."""

    name = "min_items"
    description = "Order has at least `count` items."
    threshold = Threshold(
        ITEMS_COUNT,
        AT_LEAST,
        "count",
        passed="Order has {observed}; at least {required} required.",
    )
    examples: ClassVar[tuple[RuleExample, ...]] = (
        RuleExample({"total": "10.00", "items_count": 9}, False, {"count": 10}),
        RuleExample({"total": "10.00", "items_count": 10}, True, {"count": 10}),
    )

    class Params(serializers.Serializer):
        """Parameters of ``min_items``."""

        count = serializers.IntegerField(min_value=1, max_value=MAX_COUNT)


class MaxItemsRule(ThresholdRule):
    """Passes when the order has at most ``count`` items."""

    name = "max_items"
    description = "Order has at most `count` items."
    threshold = Threshold(
        ITEMS_COUNT, AT_MOST, "count", passed="Order has {observed}; at most {required} allowed."
    )
    examples: ClassVar[tuple[RuleExample, ...]] = (
        RuleExample({"total": "10.00", "items_count": 20}, True, {"count": 20}),
        RuleExample({"total": "10.00", "items_count": 21}, False, {"count": 20}),
    )

    class Params(serializers.Serializer):
        """Parameters of ``max_items``."""

        count = serializers.IntegerField(min_value=1, max_value=MAX_COUNT)


class TotalDivisibleByRule(ThresholdRule):
    """Passes when the total is an exact multiple of ``divisor``, in Decimal."""

    name = "total_divisible_by"
    description = "Order total is an exact multiple of `divisor`."
    threshold = Threshold(
        TOTAL,
        MULTIPLE_OF,
        "divisor",
        passed="Total {observed} is a multiple of {required}.",
        failed="Total {observed} is not a multiple of {required}.",
    )
    examples: ClassVar[tuple[RuleExample, ...]] = (
        RuleExample({"total": "7.50", "items_count": 1}, True, {"divisor": "2.50"}),
        RuleExample({"total": "7.51", "items_count": 1}, False, {"divisor": "2.50"}),
    )

    class Params(serializers.Serializer):
        """Parameters of ``total_divisible_by``."""

        divisor = _money(min_value=CENT, help_text="The total must be a multiple of this.")


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

    def evaluate(self, order: OrderFacts) -> bool:
        """Return whether the order's local creation day is Saturday or Sunday."""
        return timezone.localtime(order.created_at).weekday() >= 5

    def as_q(self) -> Q:
        """Filter orders placed on ISO weekday 6 or 7 in the current time zone."""
        return Q(created_at__iso_week_day__gte=6)

    def explain(self, order: OrderFacts, passed: bool) -> Reason:
        """Say the local day the order was placed on."""
        placed = timezone.localtime(order.created_at)
        day = f"{placed:%A %Y-%m-%d} ({placed.tzname()})"
        facts = {"observed": f"{placed:%A}", "required": "Saturday or Sunday"}
        verb = "was" if passed else "was not"
        return (f"Order placed on {day} {verb} placed on a weekend.", facts)


class MinTotal100Rule(TotalGreaterThanRule):
    """Passes when the order total is strictly greater than 100.00."""

    name = "min_total_100"
    description = "Order total is greater than 100.00."
    preset: ClassVar[dict[str, str]] = {"amount": "100.00"}
    examples: ClassVar[tuple[RuleExample, ...]] = (
        RuleExample({"total": "100.00", "items_count": 1}, False),
        RuleExample({"total": "100.01", "items_count": 1}, True),
    )


class MinItems2Rule(MinItemsRule):
    """Passes when the order has at least two items."""

    name = "min_items_2"
    description = "Order has at least 2 items."
    preset: ClassVar[dict[str, int]] = {"count": 2}
    examples: ClassVar[tuple[RuleExample, ...]] = (
        RuleExample({"total": "10.00", "items_count": 1}, False),
        RuleExample({"total": "10.00", "items_count": 2}, True),
    )


class DivisibleBy5Rule(TotalDivisibleByRule):
    """Passes when the total is an exact multiple of 5, computed in Decimal."""

    name = "divisible_by_5"
    description = "Order total is an exact multiple of 5 (75.50 is not)."
    preset: ClassVar[dict[str, str]] = {"divisor": "5.00"}
    examples: ClassVar[tuple[RuleExample, ...]] = (
        RuleExample({"total": "0.00", "items_count": 1}, True),
        RuleExample({"total": "75.50", "items_count": 1}, False),
        RuleExample({"total": "150.00", "items_count": 1}, True),
    )
