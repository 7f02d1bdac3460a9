from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from orders.models import Customer, Order, OrderLine
from orders.services import (
    customer_upsert,
    order_create,
    order_delete,
    order_update,
)
from orders.tests.factories import OrderFactory

UNTIL = datetime(2025, 6, 30, 12, 0, tzinfo=UTC)
MAX_TOTAL = Decimal("99999999.99")


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


@pytest.mark.django_db
def test_order_create_names_the_path_of_an_invalid_line_and_stores_nothing():
    lines = [
        {"sku": "A", "category": "food", "quantity": 1, "unit_price": Decimal("1.00")},
        {"sku": "B", "category": "food", "quantity": 0, "unit_price": Decimal("-1.00")},
    ]

    with pytest.raises(ValidationError) as excinfo:
        order_create(total=Decimal("1.00"), lines=lines, customer={"id": "C-1"})

    assert excinfo.value.message_dict == {
        "lines[1].quantity": ["Ensure this value is greater than or equal to 1."],
        "lines[1].unit_price": ["Ensure this value is greater than or equal to 0.00."],
    }
    stored = (Order.objects.count(), OrderLine.objects.count(), Customer.objects.count())
    assert stored == (0, 0, 0)


@pytest.mark.django_db
def test_customer_upsert_refuses_an_invalid_fact_and_stores_nothing():
    with pytest.raises(ValidationError) as excinfo:
        customer_upsert(id="C-1", country="NOR")

    assert set(excinfo.value.message_dict) == {"country"}
    assert not Customer.objects.exists()


@pytest.mark.django_db
def test_customer_upsert_updates_only_the_facts_given():
    customer_upsert(id="C-1", segment="vip", country="NO")

    customer = customer_upsert(id="C-1", country=None)

    assert (customer.segment, customer.country) == ("vip", "")
    assert Customer.objects.get().country == ""
