"""Serializers for orders."""

from rest_framework import serializers

from orders.models import Order


class OrderSerializer(serializers.ModelSerializer):
    """An order as the API shows it; totals are strings with two decimals."""

    class Meta:
        model = Order
        fields = ["id", "total", "items_count", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]
