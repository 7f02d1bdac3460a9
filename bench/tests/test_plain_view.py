"""The plain benchmark view agrees with the service on the seeded orders."""

import pytest
from django.urls import reverse

from orders.seeding import orders_seed

pytestmark = [pytest.mark.bench, pytest.mark.django_db, pytest.mark.urls("bench.urls")]

RULES = ["min_total_100", "min_items_2", "divisible_by_5"]


@pytest.mark.parametrize(
    ("position", "passed", "details"),
    [
        (0, True, {"min_total_100": True, "min_items_2": True, "divisible_by_5": True}),
        (1, False, {"min_total_100": False, "min_items_2": False, "divisible_by_5": False}),
        (2, True, {"min_total_100": True, "min_items_2": True, "divisible_by_5": True}),
    ],
)
def test_plain_view_gives_the_verdicts_of_the_rule_check(api_client, position, passed, details):
    order = orders_seed()[position]
    body = {"order_id": order.pk, "rules": RULES}

    plain = api_client.post(reverse("bench-plain-check"), body, format="json")
    ours = api_client.post(reverse("rules:rule-check"), body, format="json")

    assert plain.status_code == ours.status_code == 200
    assert plain.json() == {"passed": passed, "details": details}
    assert {key: ours.json()[key] for key in ("passed", "details")} == plain.json()


def test_plain_view_answers_404_for_a_missing_order(api_client):
    response = api_client.post(
        reverse("bench-plain-check"), {"order_id": 999, "rules": RULES}, format="json"
    )

    assert response.status_code == 404
    assert b"passed" not in response.content
