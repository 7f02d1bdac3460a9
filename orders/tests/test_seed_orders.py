from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from orders.models import Order
from orders.tests.factories import OrderFactory

pytestmark = pytest.mark.django_db


def _seed() -> str:
    out = StringIO()
    call_command("seed_orders", stdout=out)
    return out.getvalue()


def test_seed_orders_creates_the_three_sample_orders_in_order():
    output = _seed()

    rows = list(Order.objects.order_by("id").values_list("total", "items_count"))
    assert rows == [(Decimal("150.00"), 3), (Decimal("75.50"), 1), (Decimal("200.00"), 5)]
    assert "Seeded 3 orders." in output


def test_seed_orders_run_twice_creates_nothing_the_second_time():
    _seed()

    output = _seed()

    assert Order.objects.count() == 3
    assert "nothing seeded" in output


def test_seed_orders_leaves_a_table_with_orders_alone():
    OrderFactory(total=Decimal("1.00"), items_count=1)

    output = _seed()

    assert list(Order.objects.values_list("total", flat=True)) == [Decimal("1.00")]
    assert "nothing seeded" in output
