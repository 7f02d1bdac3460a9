"""Serializers for orders."""

from rest_framework import serializers

from orders.models import Order


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
    """Changes to an order (``PATCH``): any of its writable fields, validated alike."""

    class Meta(OrderSerializer.Meta):
        extra_kwargs = {"total": {"required": False}, "items_count": {"required": False}}
