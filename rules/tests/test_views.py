from decimal import Decimal

import pytest
from django.urls import reverse

from orders.tests.factories import OrderFactory
from rules.engine import BaseRule

pytestmark = pytest.mark.django_db

CHECK = reverse("rules:rule-check")
BUILT_INS = ["min_total_100", "min_items_2", "divisible_by_5"]


@pytest.fixture
def seeded(db):
    """Create the three sample orders, as `seed_orders` does."""
    return [
        OrderFactory(total=Decimal("150.00"), items_count=3),
        OrderFactory(total=Decimal("75.50"), items_count=1),
        OrderFactory(total=Decimal("200.00"), items_count=5),
    ]


def test_rule_list_is_sorted_by_name_with_descriptions(api_client):
    response = api_client.get(reverse("rules:rule-list"))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == [
        {
            "name": "divisible_by_5",
            "description": "Order total is an exact multiple of 5 (75.50 is not).",
        },
        {"name": "min_items_2", "description": "Order has at least 2 items."},
        {"name": "min_total_100", "description": "Order total is greater than 100.00."},
    ]


def test_rule_list_shows_a_rule_added_by_a_new_class(api_client):
    class WeekendRule(BaseRule):
        name = "a_new_rule"
        description = "Added by one class."

        def evaluate(self, order):
            return True

    response = api_client.get(reverse("rules:rule-list"))

    assert response.json()[0] == {"name": "a_new_rule", "description": "Added by one class."}


@pytest.mark.parametrize(
    ("index", "passed", "verdict"), [(0, True, True), (1, False, False), (2, True, True)]
)
def test_check_of_the_seeded_orders(api_client, seeded, index, passed, verdict):
    order = seeded[index]

    response = api_client.post(CHECK, {"order_id": order.pk, "rules": BUILT_INS}, format="json")

    assert response.status_code == 200
    assert response.json() == {
        "order_id": order.pk,
        "passed": passed,
        "details": dict.fromkeys(BUILT_INS, verdict),
        "errors": [],
    }


def test_check_with_mixed_verdicts_fails_overall(api_client):
    order = OrderFactory(total=Decimal("100.00"), items_count=2)

    response = api_client.post(CHECK, {"order_id": order.pk, "rules": BUILT_INS}, format="json")

    assert response.json() == {
        "order_id": order.pk,
        "passed": False,
        "details": {"min_total_100": False, "min_items_2": True, "divisible_by_5": True},
        "errors": [],
    }


def test_check_of_a_missing_order_is_404_in_the_error_shape(api_client):
    response = api_client.post(CHECK, {"order_id": 999, "rules": ["min_total_100"]}, format="json")

    assert response.status_code == 404
    assert response.json() == {
        "error": "Not Found",
        "code": "not_found",
        "detail": "No Order matches the given query.",
    }


def test_check_with_unknown_rules_names_them_and_lists_the_available_ones(api_client, seeded):
    body = {"order_id": seeded[0].pk, "rules": ["min_total_100", "nope", "nada"]}

    response = api_client.post(CHECK, body, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "error": "Unknown rule",
        "code": "unknown_rule",
        "detail": {
            "message": "Unknown rule(s): nope, nada",
            "unknown": ["nope", "nada"],
            "available": ["divisible_by_5", "min_items_2", "min_total_100"],
        },
    }


def test_unknown_rule_is_reported_even_for_a_missing_order(api_client):
    response = api_client.post(CHECK, {"order_id": 999, "rules": ["nope"]}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "unknown_rule"


def test_a_crashing_rule_is_reported_with_a_reference_and_others_still_run(api_client, seeded):
    class ExplodingRule(BaseRule):
        name = "exploding"
        description = "Always raises."

        def evaluate(self, order):
            raise RuntimeError("secret internal detail")

    body = {"order_id": seeded[0].pk, "rules": ["exploding", "min_items_2"]}
    response = api_client.post(CHECK, body, format="json")

    assert response.status_code == 200
    data = response.json()
    assert data["passed"] is False
    assert data["details"] == {"exploding": False, "min_items_2": True}
    [error] = data["errors"]
    assert error["rule"] == "exploding"
    assert len(error["reference"]) == 32
    assert "secret internal detail" not in response.content.decode()
