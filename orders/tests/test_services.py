from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from orders.models import Order
from orders.services import order_delete, order_update
from orders.tests.factories import OrderFactory


@pytest.mark.django_db
def test_order_update_changes_only_the_fields_given():
    order = OrderFactory(total=Decimal("10.00"), items_count=3)

    order_update(order=order, total=Decimal("12.50"))

    order.refresh_from_db()
    assert (order.total, order.items_count) == (Decimal("12.50"), 3)


@pytest.mark.django_db
def test_order_update_rejects_invalid_values_and_keeps_the_stored_order():
    order = OrderFactory(total=Decimal("10.00"), items_count=3)

    with pytest.raises(ValidationError) as excinfo:
        order_update(order=order, items_count=0)

    assert set(excinfo.value.message_dict) == {"items_count"}
    order.refresh_from_db()
    assert order.items_count == 3


@pytest.mark.django_db
def test_order_delete_removes_the_order():
    order = OrderFactory()

    order_delete(order=order)

    assert not Order.objects.exists()
