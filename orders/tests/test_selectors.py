from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.http import Http404

from orders.facts import CustomerFacts, LineFacts
from orders.models import Customer, Order, OrderLine
from orders.selectors import order_facts_get, order_get
from orders.tests.factories import OrderFactory

pytestmark = pytest.mark.django_db

SIGNED_UP = datetime(2025, 1, 10, 8, 30, 15, 123456, tzinfo=UTC)
NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def _order_with_lines(count: int, customer: Customer | None = None) -> Order:
    order = OrderFactory(
        total=Decimal("100.00"),
        items_count=2 * count,
        customer=customer,
        subtotal=Decimal("10.00") * count,
        lines_count=count,
    )
    OrderLine.objects.bulk_create(
        OrderLine(
            order=order,
            position=n,
            sku=f"SKU-{n}",
            category="food",
            quantity=2,
            unit_price=Decimal("5.00"),
        )
        for n in range(count, 0, -1)
    )
    return order


def test_order_get_returns_the_same_order_as_the_orm():
    stored = OrderFactory(total=Decimal("75.50"), items_count=1)

    fetched = order_get(stored.pk)
    expected = Order.objects.get(pk=stored.pk)

    assert isinstance(fetched, Order)
    assert [getattr(fetched, f.attname) for f in Order._meta.fields] == [
        getattr(expected, f.attname) for f in Order._meta.fields
    ]
    assert isinstance(fetched.total, Decimal)
    assert str(fetched.total) == "75.50"


def test_order_get_reads_the_customer_as_the_orm_does_in_the_same_query(
    django_assert_num_queries,
):
    customer = Customer.objects.create(
        external_id="C-1", segment="vip", country="NO", created_at=SIGNED_UP
    )
    stored = OrderFactory(customer=customer)

    with django_assert_num_queries(1):
        fetched = order_get(stored.pk).customer
    expected = Customer.objects.get(pk=customer.pk)

    assert isinstance(fetched, Customer)
    assert [getattr(fetched, f.attname) for f in Customer._meta.fields] == [
        getattr(expected, f.attname) for f in Customer._meta.fields
    ]
    assert fetched.created_at == SIGNED_UP
    assert fetched.created_at.tzinfo is not None


def test_order_get_raises_http404_for_a_missing_order():
    with pytest.raises(Http404):
        order_get(2**63 - 1)


def test_a_stored_order_with_customer_and_ten_lines_is_read_in_two_queries(
    django_assert_num_queries,
):
    customer = Customer.objects.create(
        external_id="C-1", segment="vip", country="NO", created_at=SIGNED_UP
    )
    order = _order_with_lines(10, customer)

    with django_assert_num_queries(2):
        facts = order_facts_get(order.pk, now=NOW)

    assert facts.customer == CustomerFacts(id="C-1", segment="vip", country="NO", age_days=50)
    assert [line.sku for line in facts.lines] == [f"SKU-{n}" for n in range(1, 11)]
    assert facts.lines[0] == LineFacts(
        sku="SKU-1", category="food", quantity=2, unit_price=Decimal("5.00")
    )
    assert (facts.subtotal, facts.lines_count) == (Decimal("100.00"), 10)


def test_a_seed_style_order_is_read_in_one_query(django_assert_num_queries):
    order = OrderFactory(total=Decimal("75.50"), items_count=1)

    with django_assert_num_queries(1):
        facts = order_facts_get(order.pk)

    assert (facts.pk, facts.total, facts.items_count) == (order.pk, Decimal("75.50"), 1)
    assert (facts.customer, facts.lines) == (None, ())
