import logging
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.urls import reverse

from orders.tests.factories import OrderFactory
from rules.models import ConditionRule, RuleSet, RuleSetItem

pytestmark = pytest.mark.django_db


def test_every_change_to_a_set_or_its_items_raises_its_version():
    ruleset = RuleSet.objects.create(name="checkout")
    versions = [ruleset.version]

    item = RuleSetItem.objects.create(ruleset=ruleset, rule="min_items_2")
    versions.append(RuleSet.objects.get().version)
    item.severity = "warning"
    item.save()
    versions.append(RuleSet.objects.get().version)
    ruleset.description = "Changed."
    ruleset.save()
    versions.append(ruleset.version)
    item.delete()
    versions.append(RuleSet.objects.get().version)

    assert versions == sorted(set(versions))
    assert versions[0] == 1


def test_the_database_refuses_two_items_with_the_same_key():
    ruleset = RuleSet.objects.create(name="checkout")
    RuleSetItem.objects.create(ruleset=ruleset, position=1, rule="min_items", alias="x")

    with pytest.raises(IntegrityError), transaction.atomic():
        RuleSetItem.objects.create(ruleset=ruleset, position=2, rule="max_items", alias="x")


def test_the_database_refuses_two_items_at_the_same_position():
    ruleset = RuleSet.objects.create(name="checkout")
    RuleSetItem.objects.create(ruleset=ruleset, position=1, rule="min_items_2")

    with pytest.raises(IntegrityError), transaction.atomic():
        RuleSetItem.objects.create(ruleset=ruleset, position=1, rule="min_total_100")


CHECK = reverse("rules:rule-check")
BIG = {">": [{"var": "total"}, "100"]}
# Conditions that no longer compile: saved before the limits, or written past the admin.
BROKEN = [
    {">": [{"var": "total"}, "1e999990"]},
    {">": [{"var": ["total", 0]}, 100]},
    {">": [{"var": {}}, 100]},
]


def _store(name: str, condition: object) -> ConditionRule:
    """Store a condition rule as a database write would, without validating it."""
    return ConditionRule.objects.create(
        name=name, description="Total over 100.", condition=condition
    )


def _logged(caplog, message: str, rule: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.getMessage() == message and r.rule == rule]


def test_a_stored_condition_is_compiled_once_per_change():
    stored = _store("big", BIG)

    first = ConditionRule.objects.get().bind({})
    again = ConditionRule.objects.get().bind({})
    stored.description = "Total over 100.00."
    stored.save()
    changed = ConditionRule.objects.get().bind({})

    assert again is first
    assert changed is not first
    assert changed.description == "Total over 100.00."


@pytest.mark.parametrize("condition", BROKEN)
def test_a_stored_rule_that_does_not_compile_is_an_error_outcome_and_others_still_run(
    api_client, caplog, condition
):
    _store("broken_stored_rule", condition)
    order = OrderFactory(total=Decimal("150.00"), items_count=3)
    body = {"order_id": order.pk, "rules": ["broken_stored_rule", "min_items_2"]}

    with caplog.at_level(logging.WARNING):
        response = api_client.post(CHECK, body, format="json")

    assert response.status_code == 200
    data = response.json()
    assert (data["passed"], data["details"]) == (
        False,
        {"broken_stored_rule": False, "min_items_2": True},
    )
    broken, min_items = data["results"]
    assert (broken["outcome"], min_items["outcome"]) == ("error", "passed")
    assert data["errors"] == [{"rule": "broken_stored_rule", "reference": broken["reference"]}]
    [failed] = _logged(caplog, "rule evaluation failed", "broken_stored_rule")
    assert failed.error_id == broken["reference"]
    assert str(failed.exc_info[1]).startswith("condition '>'[")


def test_a_stored_condition_too_deep_to_decode_is_an_error_outcome(api_client):
    stored = _store("broken_stored_rule", BIG)
    deep = "[" * 999 + "]" * 999  # as deep as SQLite's JSON allows
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE rules_conditionrule SET condition = %s WHERE id = %s", [deep, stored.pk]
        )
    order = OrderFactory()
    body = {"order_id": order.pk, "rules": ["broken_stored_rule", "min_items_2"]}

    response = api_client.post(CHECK, body, format="json")
    listed = api_client.get(reverse("rules:rule-list"))

    assert response.status_code == 200
    assert response.json()["details"] == {"broken_stored_rule": False, "min_items_2": True}
    assert response.json()["results"][0]["outcome"] == "error"
    assert listed.status_code == 200


def test_a_stored_condition_that_does_not_compile_is_compiled_and_logged_once_per_change(
    api_client, caplog
):
    _store("broken_stored_rule", BROKEN[0])
    body = {"order_id": OrderFactory().pk, "rules": ["broken_stored_rule"]}

    with caplog.at_level(logging.WARNING):
        first = api_client.post(CHECK, body, format="json")
        second = api_client.post(CHECK, body, format="json")

    assert (first.status_code, second.status_code) == (200, 200)
    [compiled] = _logged(caplog, "stored condition does not compile", "broken_stored_rule")
    assert "'1e999990' is beyond plus or minus 2147483647" in compiled.reason
    assert len(_logged(caplog, "rule evaluation failed", "broken_stored_rule")) == 2


def test_a_check_naming_an_unknown_rule_is_refused_before_any_stored_condition_compiles(
    api_client, caplog
):
    _store("broken_stored_rule", BROKEN[0])
    body = {"order_id": OrderFactory().pk, "rules": ["broken_stored_rule", "no_such_rule"]}
    available = [rule["name"] for rule in api_client.get(reverse("rules:rule-list")).json()]

    with caplog.at_level(logging.DEBUG):
        response = api_client.post(CHECK, body, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "error": "Unknown rule",
        "code": "unknown_rule",
        "detail": {
            "message": "Unknown rule(s): no_such_rule",
            "unknown": ["no_such_rule"],
            "available": available,
        },
    }
    assert "broken_stored_rule" in available
    assert not [r for r in caplog.records if getattr(r, "rule", None) == "broken_stored_rule"]
