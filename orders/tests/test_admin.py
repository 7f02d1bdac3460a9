from decimal import Decimal

import pytest
from django.urls import reverse

from orders.models import Order
from orders.tests.factories import OrderFactory

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:orders_order_changelist")
ADD = reverse("admin:orders_order_add")


def test_changelist_shows_id_total_items_and_timestamps(admin_client):
    order = OrderFactory(total=Decimal("123.45"), items_count=7)

    response = admin_client.get(CHANGELIST)

    assert response.status_code == 200
    content = response.content.decode()
    for column in ("column-id", "column-total", "column-items_count"):
        assert column in content
    assert "column-created_at" in content
    assert "column-updated_at" in content
    assert "123.45" in content
    assert f'href="{reverse("admin:orders_order_change", args=[order.pk])}"' in content


def test_changelist_search_by_id_finds_only_that_order(admin_client):
    wanted, other = OrderFactory(total=Decimal("11.11")), OrderFactory(total=Decimal("22.22"))

    response = admin_client.get(CHANGELIST, {"q": str(wanted.pk)})

    assert response.status_code == 200
    assert list(response.context["cl"].queryset) == [wanted]
    assert other not in response.context["cl"].queryset


def test_changelist_search_with_text_finds_nothing_and_does_not_crash(admin_client):
    OrderFactory()

    response = admin_client.get(CHANGELIST, {"q": "not-a-number"})

    assert response.status_code == 200
    assert list(response.context["cl"].queryset) == []


def test_changelist_filters_by_creation_date(admin_client):
    order = OrderFactory()
    day = order.created_at

    response = admin_client.get(
        CHANGELIST,
        {
            "created_at__gte": day.strftime("%Y-%m-%d 00:00:00+00:00"),
            "created_at__lt": "2999-01-01 00:00:00+00:00",
        },
    )

    assert response.status_code == 200
    assert list(response.context["cl"].queryset) == [order]


def test_add_form_saves_a_valid_order(admin_client):
    response = admin_client.post(ADD, {"total": "42.50", "items_count": "2"})

    assert response.status_code == 302
    order = Order.objects.get()
    assert (order.total, order.items_count) == (Decimal("42.50"), 2)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"total": "-1.00", "items_count": "2"}, "total"),
        ({"total": "10.00", "items_count": "0"}, "items_count"),
        ({"total": "abc", "items_count": "2"}, "total"),
        ({"total": "1000000000", "items_count": "2"}, "total"),
    ],
)
def test_add_form_shows_validation_errors_and_saves_nothing(admin_client, data, field):
    response = admin_client.post(ADD, data)

    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    assert Order.objects.count() == 0


def test_change_form_shows_timestamps_read_only(admin_client):
    order = OrderFactory()

    response = admin_client.get(reverse("admin:orders_order_change", args=[order.pk]))

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert set(form.fields) == {"total", "items_count"}
    assert "Created at" in response.content.decode()
