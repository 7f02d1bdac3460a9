from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from orders.models import Order, OrderLine
from orders.services import order_create
from orders.tests.factories import OrderFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("total", "items_count"),
    [(Decimal("0.00"), 1), (Decimal("99999999.99"), 1), (Decimal("75.50"), 2**31 - 1)],
)
def test_order_create_accepts_values_at_the_limits(total, items_count):
    order = order_create(total=total, items_count=items_count)

    order.refresh_from_db()
    assert (order.total, order.items_count) == (total, items_count)


@pytest.mark.parametrize(
    ("total", "items_count", "field"),
    [
        (Decimal("-0.01"), 1, "total"),
        (Decimal("100000000.00"), 1, "total"),
        (Decimal("1.001"), 1, "total"),
        (Decimal("10.00"), 0, "items_count"),
    ],
)
def test_order_create_rejects_invalid_values_and_writes_nothing(total, items_count, field):
    with pytest.raises(ValidationError) as excinfo:
        order_create(total=total, items_count=items_count)

    assert field in excinfo.value.message_dict
    assert Order.objects.count() == 0


@pytest.mark.parametrize(
    ("total", "items_count"),
    [(Decimal("-1.00"), 1), (Decimal("5.00"), 0)],
)
def test_database_check_constraints_reject_rows_that_bypass_validation(total, items_count):
    with pytest.raises(IntegrityError), transaction.atomic():
        Order.objects.bulk_create([Order(total=total, items_count=items_count)])

    assert Order.objects.count() == 0


def test_orders_are_listed_newest_first():
    first, second, third = OrderFactory(), OrderFactory(), OrderFactory()

    assert list(Order.objects.all()) == [third, second, first]


def test_timestamps_are_set_on_create_and_update_moves_only_updated_at():
    order = OrderFactory()
    created_at, updated_at = order.created_at, order.updated_at

    order.items_count = 4
    order.save()
    order.refresh_from_db()

    assert order.created_at == created_at
    assert order.updated_at > updated_at


def test_total_is_stored_as_exact_decimal():
    order = OrderFactory(total=Decimal("0.10") + Decimal("0.20"))

    order.refresh_from_db()
    assert order.total == Decimal("0.30")


@pytest.mark.sqlite
def test_the_orders_of_lines_of_a_category_are_read_from_the_lines_index_alone():
    lines = OrderLine.objects.filter(category="alcohol", quantity__gt=2).values("order_id")

    plan = Order.objects.filter(pk__in=lines).explain()

    index = "orderline_cat_qty_order_idx (category=? AND quantity>?)"
    assert f"USING COVERING INDEX {index}" in plan, plan
