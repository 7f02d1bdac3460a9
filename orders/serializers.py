"""Serializers for orders."""

import re
from decimal import Decimal
from typing import Any

from rest_framework import serializers

from orders.models import Order

CHANGES_MESSAGE = "Give at least one of 'total' and 'items_count'."
# An order's total: 10 digits, 2 of them after the point, never negative.
MONEY_PATTERN = r"^[0-9]{1,8}(\.[0-9]{1,2})?$"
TOTAL_HELP = 'Order total in the shop\'s currency, at least 0.00, as a string: "75.50".'


class MoneyField(serializers.DecimalField):
    """An amount of money, as JSON carries it: a string such as ``"75.50"``.

    Only what ``MONEY_PATTERN`` matches is an amount: no JSON number (a
    float would round), no exponent, sign, spaces or leading zeros beyond 8
    digits, at most 8 digits before the point and 2 after. The schema
    documents the same pattern, so it refuses what the API refuses; a plain
    decimal out of range gets DRF's message saying which limit it passed.
    """

    default_error_messages = {  # DRF merges these per class
        "invalid": 'Enter the amount as a string such as "75.50".',
    }

    class Meta:
        swagger_schema_fields = {"format": "decimal", "pattern": MONEY_PATTERN}

    def __init__(self, **kwargs: Any) -> None:
        """Hold amounts of an order's total: 0.00 to 99999999.99."""
        super().__init__(max_digits=10, decimal_places=2, min_value=Decimal("0.00"), **kwargs)

    def to_internal_value(self, data: Any) -> Decimal:
        """Return the amount *data* spells; refuse anything else."""
        if not isinstance(data, str) or not _PLAIN_DECIMAL.fullmatch(data):
            self.fail("invalid")
        value = super().to_internal_value(data)
        # A negative amount is left to the minimum's own message.
        if value >= 0 and not _MONEY.fullmatch(data):
            self.fail("invalid")
        return value


_PLAIN_DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?")
_MONEY = re.compile(MONEY_PATTERN)


class OrderSerializer(serializers.ModelSerializer):
    """An order as the API shows it; totals are strings with two decimals."""

    total = MoneyField(help_text=TOTAL_HELP)

    class Meta:
        model = Order
        fields = ["id", "total", "items_count", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]


class OrderDraftSerializer(serializers.ModelSerializer):
    """An order that is checked without being stored; validated like a stored one."""

    total = MoneyField(help_text=TOTAL_HELP)
    created_at = serializers.DateTimeField(
        required=False, help_text="When the order was placed; now if omitted."
    )

    class Meta:
        model = Order
        fields = ["total", "items_count", "created_at"]


class OrderChangesSerializer(OrderSerializer):
    """Changes to an order (``PATCH``): any of its writable fields, at least one."""

    total = MoneyField(required=False, help_text=TOTAL_HELP)

    class Meta(OrderSerializer.Meta):
        extra_kwargs = {"items_count": {"required": False}}
        swagger_schema_fields = {"minProperties": 1}

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """Refuse a change that gives no field: it would change nothing."""
        if not attrs:
            raise serializers.ValidationError(CHANGES_MESSAGE)
        return attrs
