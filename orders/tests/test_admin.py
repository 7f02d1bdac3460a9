from decimal import Decimal

import pytest
from django.urls import reverse

from orders.models import Customer, Order
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


def _form(lines=(), initial=0, **fields) -> dict:
    """Return the admin form's data: the order's *fields*, its *lines* as the inline posts them."""
    data = {
        "total": "42.50",
        "items_count": "2",
        "currency": "EUR",
        "lines-TOTAL_FORMS": str(len(lines)),
        "lines-INITIAL_FORMS": str(initial),
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "500",
        **fields,
    }
    for index, line in enumerate(lines):
        data.update({f"lines-{index}-{name}": value for name, value in line.items()})
    return data


def test_add_form_saves_a_valid_order(admin_client):
    response = admin_client.post(ADD, _form())

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
    response = admin_client.post(ADD, _form(**data))

    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    assert Order.objects.count() == 0


def test_change_form_shows_timestamps_read_only(admin_client):
    order = OrderFactory()

    response = admin_client.get(reverse("admin:orders_order_change", args=[order.pk]))

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert set(form.fields) == {
        "total",
        "items_count",
        "currency",
        "customer",
        "shipping_country",
        "shipping_region",
        "shipping_postal_code",
        "billing_country",
        "payment_method",
        "channel",
        "coupons",
        "attributes",
    }
    assert "Created at" in response.content.decode()


WINE = {"sku": "WINE-12", "category": "alcohol", "quantity": "2", "unit_price": "25.00"}
BREAD = {"sku": "BREAD", "category": "food", "quantity": "3", "unit_price": "2.50"}


def test_add_form_saves_the_lines_and_derives_the_order_figures_from_them(admin_client):
    response = admin_client.post(ADD, _form([WINE, BREAD], items_count="1"))

    assert response.status_code == 302
    order = Order.objects.get()
    assert (order.items_count, order.subtotal, order.lines_count) == (5, Decimal("57.50"), 2)
    assert list(order.lines.values_list("position", "sku")) == [(1, "WINE-12"), (2, "BREAD")]


def test_change_form_removes_and_adds_lines_and_renumbers_them(admin_client):
    admin_client.post(ADD, _form([WINE, BREAD]))
    order = Order.objects.get()
    wine, bread = order.lines.order_by("position")
    cheese = {"sku": "CHEESE", "category": "food", "quantity": "1", "unit_price": "10.00"}
    lines = [
        {**WINE, "id": wine.pk, "order": order.pk, "DELETE": "on"},
        {**BREAD, "id": bread.pk, "order": order.pk},
        cheese,
    ]

    response = admin_client.post(
        reverse("admin:orders_order_change", args=[order.pk]), _form(lines, initial=2)
    )

    assert response.status_code == 302
    order.refresh_from_db()
    assert (order.items_count, order.subtotal, order.lines_count) == (4, Decimal("17.50"), 2)
    assert list(order.lines.values_list("position", "sku")) == [(1, "BREAD"), (2, "CHEESE")]


def test_change_form_removing_every_line_leaves_an_order_without_subtotal(admin_client):
    admin_client.post(ADD, _form([WINE]))
    order = Order.objects.get()
    [wine] = order.lines.all()
    lines = [{**WINE, "id": wine.pk, "order": order.pk, "DELETE": "on"}]

    response = admin_client.post(
        reverse("admin:orders_order_change", args=[order.pk]), _form(lines, initial=1)
    )

    assert response.status_code == 302
    order.refresh_from_db()
    assert (order.items_count, order.subtotal, order.lines_count) == (2, None, 0)


def test_lines_whose_subtotal_is_out_of_range_are_a_form_error(admin_client):
    gold = {"sku": "GOLD", "category": "metal", "quantity": "2", "unit_price": "99999999.00"}

    response = admin_client.post(ADD, _form([gold]))

    assert response.status_code == 200
    assert response.context["inline_admin_formsets"][0].formset.non_form_errors() == [
        "The lines add up to 199999998.00; an order's subtotal is at most 99999999.99."
    ]
    assert Order.objects.count() == 0


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("C-1", ["C-1"]),
        ("vip", ["C-1", "C-3"]),
        ("NO", ["C-2", "C-3"]),
        ("C-", ["C-1", "C-2", "C-3"]),
    ],
)
def test_customers_are_listed_and_searched_by_id_segment_or_country(admin_client, query, expected):
    Customer.objects.create(external_id="C-1", segment="vip", country="DE")
    Customer.objects.create(external_id="C-2", segment="new", country="NO")
    Customer.objects.create(external_id="C-3", segment="vip", country="NO")

    response = admin_client.get(reverse("admin:orders_customer_changelist"), {"q": query})

    assert response.status_code == 200
    found = response.context["cl"].queryset
    assert sorted(customer.external_id for customer in found) == expected


def test_orders_are_searched_by_their_customer_id(admin_client):
    customer = Customer.objects.create(external_id="C-1")
    wanted = OrderFactory(customer=customer)
    OrderFactory()

    response = admin_client.get(CHANGELIST, {"q": "C-1"})

    assert list(response.context["cl"].queryset) == [wanted]


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        (
            {"currency": "XYZ"},
            {"currency": ["Select a valid choice. XYZ is not one of the available choices."]},
        ),
        (
            {"shipping_country": "XX"},
            {
                "shipping_country": [
                    "Select a valid choice. XX is not one of the available choices."
                ]
            },
        ),
        (
            {"payment_method": "Cash On Delivery"},
            {"payment_method": ["This value does not match the required pattern."]},
        ),
        ({"coupons": '["A", 7]'}, {"coupons": ["coupons[1]: Not a valid string."]}),
        ({"coupons": '"A"'}, {"coupons": ['Expected a list of items but got type "str".']}),
        (
            {"attributes": '{"Gift Wrap": true, "tier": {"level": 3}}'},
            {
                "attributes": [
                    "attributes.Gift Wrap: A key is a slug of at most 50 characters.",
                    "attributes.tier: A value is a string"
                    ' (a number as a string: "12") or a boolean.',
                ]
            },
        ),
    ],
)
def test_the_order_form_checks_codes_and_json_parts_as_the_api_does(admin_client, fields, errors):
    response = admin_client.post(ADD, _form(**fields))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == errors
    assert Order.objects.count() == 0


def test_the_order_form_stores_valid_parts_and_an_empty_json_part_as_none(admin_client):
    response = admin_client.post(
        ADD,
        _form(
            currency="NOK",
            shipping_country="NO",
            payment_method="card",
            coupons="",
            attributes='{"gift_wrap": true}',
        ),
    )

    assert response.status_code == 302
    order = Order.objects.get()
    assert (order.currency, order.shipping_country, order.payment_method) == ("NOK", "NO", "card")
    assert (order.coupons, order.attributes) == ([], {"gift_wrap": True})


def test_the_customer_form_takes_an_iso_country_and_a_slug_segment(admin_client):
    add = reverse("admin:orders_customer_add")
    signed_up = {"created_at_0": "2026-01-01", "created_at_1": "10:00:00"}

    refused = admin_client.post(
        add, {"external_id": "C-1", "segment": "VIP", "country": "XX", **signed_up}
    )
    stored = admin_client.post(
        add, {"external_id": "C-1", "segment": "vip", "country": "NO", **signed_up}
    )

    assert refused.status_code == 200
    assert set(refused.context["adminform"].form.errors) == {"segment", "country"}
    assert stored.status_code == 302
    customer = Customer.objects.get()
    assert (customer.external_id, customer.segment, customer.country) == ("C-1", "vip", "NO")
