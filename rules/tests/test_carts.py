"""A cart checked by ``POST /rules/check/``: the whole order, validated strictly, kept whole."""

from datetime import timedelta

import pytest
from django.utils import timezone

from decisions.models import Decision
from orders.models import Customer, Order, OrderLine

pytestmark = pytest.mark.django_db

CHECK_URL = "/rules/check/"
SEED_RULES = ["min_total_100", "min_items_2", "divisible_by_5"]
CART = {
    "total": "160.00",
    "currency": "NOK",
    "customer": {"id": "C-7", "segment": "vip", "country": "NO"},
    "shipping": {"country": "NO", "region": "Oslo", "postal_code": "0150"},
    "billing": {"country": "SE"},
    "payment_method": "card",
    "channel": "web",
    "coupons": ["WELCOME10"],
    "lines": [
        {
            "sku": "WINE-12",
            "name": "Rioja 2019",
            "category": "alcohol",
            "quantity": 2,
            "unit_price": "25.00",
        },
        {"sku": "CHEESE-3", "category": "food", "quantity": 1, "unit_price": "110.00"},
    ],
    "attributes": {"gift_wrap": True, "loyalty_tier": "3"},
}


def _check(api_client, order, rules=SEED_RULES):
    return api_client.post(CHECK_URL, {"order": order, "rules": rules}, format="json")


def _invalid(detail):
    return {"error": "Bad Request", "code": "invalid_request", "detail": {"order": detail}}


def test_a_cart_with_lines_is_checked_and_its_items_count_is_the_sum_of_the_quantities(
    api_client,
):
    response = _check(api_client, CART)

    assert response.status_code == 200
    assert response.json()["details"] == {
        "min_total_100": True,
        "min_items_2": True,
        "divisible_by_5": True,
    }
    assert Order.objects.count() == 0
    assert OrderLine.objects.count() == 0
    assert Customer.objects.count() == 0


def test_the_decision_keeps_the_whole_cart_as_the_rules_saw_it(api_client):
    response = _check(api_client, CART)

    snapshot = Decision.objects.get(pk=response.json()["decision_id"]).snapshot
    assert snapshot["items_count"] == 3
    assert snapshot["updated_at"] is None
    assert {key: snapshot[key] for key in snapshot if key not in ("created_at", "updated_at")} == {
        "total": "160.00",
        "items_count": 3,
        "currency": "NOK",
        "customer": {"id": "C-7", "segment": "vip", "country": "NO"},
        "shipping": {"country": "NO", "region": "Oslo", "postal_code": "0150"},
        "billing": {"country": "SE"},
        "payment_method": "card",
        "channel": "web",
        "coupons": ["WELCOME10"],
        "lines": [
            {
                "sku": "WINE-12",
                "name": "Rioja 2019",
                "category": "alcohol",
                "quantity": 2,
                "unit_price": "25.00",
                "line_total": "50.00",
            },
            {
                "sku": "CHEESE-3",
                "category": "food",
                "quantity": 1,
                "unit_price": "110.00",
                "line_total": "110.00",
            },
        ],
        "attributes": {"gift_wrap": True, "loyalty_tier": "3"},
    }


def test_a_replay_of_a_cart_reproduces_it(api_client, admin_client):
    decision_id = _check(api_client, CART).json()["decision_id"]

    response = admin_client.post(f"/decisions/{decision_id}/replay/")

    assert response.status_code == 200
    assert response.json()["reproduced"] is True


def test_a_cart_customer_known_by_id_brings_its_stored_facts(api_client):
    Customer.objects.create(
        external_id="C-9",
        segment="new",
        country="DE",
        created_at=timezone.now() - timedelta(days=12, hours=1),
    )
    order = {"total": "10.00", "items_count": 1, "customer": {"id": "C-9"}}

    decision_id = _check(api_client, order).json()["decision_id"]

    snapshot = Decision.objects.get(pk=decision_id).snapshot
    assert snapshot["customer"] == {"id": "C-9", "segment": "new", "country": "DE", "age_days": 12}


def test_a_seed_style_cart_keeps_the_seed_snapshot_with_the_default_currency(api_client):
    decision_id = _check(api_client, {"total": "150.00", "items_count": 3}).json()["decision_id"]

    snapshot = Decision.objects.get(pk=decision_id).snapshot
    assert set(snapshot) == {"total", "items_count", "created_at", "updated_at", "currency"}
    assert snapshot["currency"] == "EUR"


def test_items_count_that_disagrees_with_the_lines_is_inconsistent(api_client):
    response = _check(api_client, {**CART, "items_count": 5})

    assert response.status_code == 400
    assert response.json() == {
        "error": "Bad Request",
        "code": "inconsistent_order",
        "detail": {
            "message": "items_count is 5, but the lines' quantities add up to 3.",
            "items_count": 5,
            "lines_quantity": 3,
        },
    }
    assert Decision.objects.count() == 0


def test_more_lines_than_allowed_are_refused(api_client, settings):
    settings.MAX_ORDER_LINES = 2
    line = {"sku": "A", "category": "food", "quantity": 1, "unit_price": "1.00"}

    response = _check(api_client, {"total": "3.00", "lines": [line, line, line]})

    assert response.status_code == 400
    assert response.json() == {
        "error": "Bad Request",
        "code": "too_many_lines",
        "detail": "The order has 3 lines; at most 2 are allowed.",
    }


@pytest.mark.parametrize(
    ("order", "detail"),
    [
        (
            {**CART, "lines": [*CART["lines"], {"sku": "X", "category": "food", "qty": 1}]},
            {"lines[2].qty": ["Unknown field: an order has no such fact."]},
        ),
        (
            {**CART, "discount": "5.00"},
            {"discount": ["Unknown field: an order has no such fact."]},
        ),
        (
            {**CART, "customer": {"id": "C-1", "tier": "gold"}},
            {"customer.tier": ["Unknown field: an order has no such fact."]},
        ),
        (
            {**CART, "shipping": {"country": "XX"}},
            {"shipping.country": ['"XX" is not a valid choice.']},
        ),
        ({**CART, "currency": "EURO"}, {"currency": ['"EURO" is not a valid choice.']}),
        (
            {**CART, "lines": [{**CART["lines"][0], "quantity": 0}]},
            {"lines[0].quantity": ["Ensure this value is greater than or equal to 1."]},
        ),
        (
            {**CART, "lines": [{**CART["lines"][0], "unit_price": 25}]},
            {"lines[0].unit_price": ['Enter the amount as a string such as "75.50".']},
        ),
        (
            {**CART, "attributes": {"Gift Wrap": True}},
            {"attributes.Gift Wrap": ["A key is a slug of at most 50 characters."]},
        ),
        (
            {**CART, "attributes": {"size": {"w": 1}}},
            {
                "attributes.size": [
                    'A value is a string (a number as a string: "12") or a boolean.'
                ]
            },
        ),
        (
            {**CART, "attributes": {f"k{i}": "v" for i in range(51)}},
            {"attributes": ["At most 50 attributes."]},
        ),
        ({"total": "1.00"}, {"items_count": ["Required without lines."]}),
    ],
)
def test_a_cart_with_a_bad_part_is_refused_naming_its_path(api_client, order, detail):
    response = _check(api_client, order)

    assert response.status_code == 400
    assert response.json() == _invalid(detail)
    assert Decision.objects.count() == 0


def test_a_cart_with_an_alcohol_line_shipped_to_norway_is_refused_naming_the_line(api_client):
    cheese, wine = CART["lines"][1], CART["lines"][0]
    blocked = {
        "name": "blocked_categories",
        "params": {"categories": ["alcohol", "tobacco"], "countries": ["NO"]},
    }

    response = _check(api_client, {**CART, "lines": [cheese, wine]}, [blocked])

    assert response.status_code == 200
    assert response.json() == {
        "decision_id": Decision.objects.get().pk,
        "order_id": None,
        "ruleset": None,
        "passed": False,
        "details": {"blocked_categories": False},
        "results": [
            {
                "rule": "blocked_categories",
                "name": "blocked_categories",
                "params": {"categories": ["alcohol", "tobacco"], "countries": ["NO"]},
                "outcome": "failed",
                "severity": "error",
                "message": "Line 2 (WINE-12, alcohol) ships to NO, where alcohol is blocked.",
                "lines": [2],
                "country": "NO",
            }
        ],
        "errors": [],
    }


def test_a_cart_without_a_shipping_country_errs_on_blocked_categories_naming_it(api_client):
    cart = {key: value for key, value in CART.items() if key != "shipping"}
    blocked = {
        "name": "blocked_categories",
        "params": {"categories": ["alcohol"], "countries": ["NO"]},
    }

    response = _check(api_client, cart, [blocked])

    assert response.status_code == 200
    body = response.json()
    reference = body["results"][0]["reference"]
    assert body == {
        "decision_id": Decision.objects.get().pk,
        "order_id": None,
        "ruleset": None,
        "passed": False,
        "details": {"blocked_categories": False},
        "results": [
            {
                "rule": "blocked_categories",
                "name": "blocked_categories",
                "params": {"categories": ["alcohol"], "countries": ["NO"]},
                "outcome": "error",
                "severity": "error",
                "message": (
                    "The order has no shipping.country."
                    " Rule blocked_categories could not be evaluated."
                ),
                "missing": "shipping.country",
                "reference": reference,
            }
        ],
        "errors": [{"rule": "blocked_categories", "reference": reference}],
    }
