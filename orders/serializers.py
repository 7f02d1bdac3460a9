"""Serializers for orders."""

from typing import Any

from rest_framework import serializers

from orders.models import Order

CHANGES_MESSAGE = "Give at least one of 'total' and 'items_count'."


class OrderSerializer(serializers.ModelSerializer):
    """An order as the API shows it; totals are strings with two decimals."""

    class Meta:
        model = Order
        fields = ["id", "total", "items_count", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]


class OrderDraftSerializer(serializers.ModelSerializer):
    """An order that is checked without being stored; validated like a stored one."""

    created_at = serializers.DateTimeField(
        required=False, help_text="When the order was placed; now if omitted."
    )

    class Meta:
        model = Order
        fields = ["total", "items_count", "created_at"]


class OrderChangesSerializer(OrderSerializer):
    """Changes to an order (``PATCH``): any of its writable fields, at least one."""

    class Meta(OrderSerializer.Meta):
        extra_kwargs = {"total": {"required": False}, "items_count": {"required": False}}
        swagger_schema_fields = {"minProperties": 1}

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """Refuse a change that gives no field: it would change nothing."""
        if not attrs:
            raise serializers.ValidationError(CHANGES_MESSAGE)
        return attrs
