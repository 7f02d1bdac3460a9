from decimal import Decimal

import pytest
from django.http import Http404

from orders.models import Order
from orders.selectors import order_get
from orders.tests.factories import OrderFactory

pytestmark = pytest.mark.django_db


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


def test_order_get_raises_http404_for_a_missing_order():
    with pytest.raises(Http404):
        order_get(2**63 - 1)
