"""Factories for orders."""

from decimal import Decimal

import factory

from orders.models import Order


class OrderFactory(factory.django.DjangoModelFactory):
    """An order that passes every built-in rule unless told otherwise."""

    class Meta:
        model = Order

    total = Decimal("150.00")
    items_count = 3
