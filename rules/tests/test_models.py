import logging
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.urls import reverse

from orders.tests.factories import OrderFactory
from rules.models import ConditionRule, RuleSet, RuleSetItem, RuleSetVersion
from rules.services import condition_rule_save, ruleset_publish

pytestmark = pytest.mark.django_db


def test_each_publish_of_a_changed_set_is_one_new_immutable_version():
    ruleset = RuleSet.objects.create(name="checkout")
    first_item = RuleSetItem.objects.create(ruleset=ruleset, position=1, rule="min_items_2")
    RuleSetItem.objects.create(ruleset=ruleset, position=2, rule="min_total_100")
    RuleSetItem.objects.create(ruleset=ruleset, position=3, rule="divisible_by_5")
    assert ruleset.version == 0

    first = ruleset_publish(ruleset=ruleset)
    again = ruleset_publish(ruleset=ruleset)
    first_item.severity = "warning"
    first_item.save()
    second = ruleset_publish(ruleset=ruleset)

    assert (first.number, again.pk, second.number) == (1, first.pk, 2)
    assert RuleSet.objects.get().version == 2
    assert [item["rule"] for item in first.items] == [
        "min_items_2",
        "min_total_100",
        "divisible_by_5",
    ]
    assert RuleSetVersion.objects.get(number=1).items[0]["severity"] == ""
    assert second.items[0]["severity"] == "warning"
    first.items = []
    with pytest.raises(ValidationError, match="never changed"):
        first.save()


@pytest.fixture
def stored_in_set(db):
    """Publish a set that uses a stored condition rule."""
    ConditionRule.objects.create(
        name="big", description="Over 100.", condition={">": [{"var": "total"}, "100"]}
    )
    ruleset = RuleSet.objects.create(name="checkout")
    RuleSetItem.objects.create(ruleset=ruleset, rule="big")
    ruleset_publish(ruleset=ruleset)
    return ruleset


def test_a_version_keeps_a_stored_condition_as_it_was(stored_in_set, api_client):
    order = OrderFactory(total=Decimal("150.00"))
    rule = ConditionRule.objects.get()
    rule.condition = {">": [{"var": "total"}, "200"]}
    condition_rule_save(rule=rule)

    now = api_client.post(
        reverse("rules:rule-check"), {"order_id": order.pk, "ruleset": "checkout"}, format="json"
    )
    then = api_client.post(
        reverse("rules:rule-check"), {"order_id": order.pk, "ruleset": "checkout@1"}, format="json"
    )

    assert now.status_code == then.status_code == 200
    assert RuleSet.objects.get().version == 2
    assert RuleSetVersion.objects.get(number=1).items[0]["stored"]["condition"] == {
        ">": [{"var": "total"}, "100"]
    }
    assert (now.json()["ruleset"]["version"], now.json()["passed"]) == (2, False)
    assert (then.json()["ruleset"]["version"], then.json()["passed"]) == (1, True)


def test_a_stored_rule_a_current_version_uses_cannot_be_deleted(stored_in_set):
    with pytest.raises(ValidationError, match="used by rule set\\(s\\) checkout v1"):
        ConditionRule.objects.get().delete()

    assert ConditionRule.objects.count() == 1


def test_a_stored_rule_no_current_version_uses_can_be_deleted(stored_in_set):
    stored_in_set.items.all().delete()
    ruleset_publish(ruleset=stored_in_set)

    ConditionRule.objects.get().delete()

    assert ConditionRule.objects.count() == 0


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
    {"==": [{"var": "shiping.country"}, "NO"]},
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
    assert str(failed.exc_info[1]).startswith("condition '")


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


@pytest.mark.parametrize(
    ("table", "constraint"),
    [
        ("rules_conditionrule", "conditionrule_severity_known"),
        ("rules_rulesetitem", "ruleset_item_severity_known"),
    ],
)
def test_the_database_refuses_an_unknown_severity(stored_in_set, table, constraint):
    with (
        pytest.raises(IntegrityError, match=constraint),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(f"UPDATE {table} SET severity = 'fatal'")  # noqa: S608


@contextmanager
def _severity_check_off() -> Iterator[None]:
    """Let a write go around the severity check, as a restore of an older dump could.

    SQLite can ignore its check constraints; PostgreSQL drops this one inside
    the test's transaction, which puts it back.
    """
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA ignore_check_constraints = ON")
            try:
                yield
            finally:
                cursor.execute("PRAGMA ignore_check_constraints = OFF")
        else:
            cursor.execute(
                "ALTER TABLE rules_conditionrule DROP CONSTRAINT conditionrule_severity_known"
            )
            yield


def test_a_stored_rule_with_an_unknown_severity_is_listed_and_checked_as_an_error(
    api_client, caplog
):
    """Not a 500 for every caller of the rule list: the rule blocks, and the log says why."""
    stored = _store("odd_severity", BIG)
    with _severity_check_off():
        ConditionRule.objects.filter(pk=stored.pk).update(severity="fatal")
    order = OrderFactory(total=Decimal("75.50"))

    with caplog.at_level(logging.WARNING):
        listed = api_client.get(reverse("rules:rule-list"))
        checked = api_client.post(
            CHECK, {"order_id": order.pk, "rules": ["odd_severity"]}, format="json"
        )

    assert listed.status_code == 200
    [described] = [rule for rule in listed.json() if rule["name"] == "odd_severity"]
    assert described["severity"] == "error"
    assert checked.status_code == 200
    assert (checked.json()["passed"], checked.json()["results"][0]["severity"]) == (
        False,
        "error",
    )
    logged = _logged(caplog, "stored rule severity unknown", "odd_severity")
    assert [record.severity for record in logged] == ["fatal", "fatal"]


def test_a_condition_nested_5000_deep_is_a_validation_error_not_a_recursion_error():
    condition = {"var": "total"}
    for _ in range(5000):
        condition = {"!": [condition]}
    rule = ConditionRule(name="deep", description="Deep.", condition=condition)

    with pytest.raises(ValidationError) as raised:
        rule.full_clean()

    place = "condition" + " '!'[0]" * 20
    assert raised.value.message_dict == {"condition": [f"{place}: objects nest deeper than 20."]}


def test_a_condition_and_other_fields_are_all_reported_at_once():
    rule = ConditionRule(name="Not A Name", description="", condition={"+": [1, 2]})

    with pytest.raises(ValidationError) as raised:
        rule.full_clean()

    assert set(raised.value.message_dict) == {"name", "description", "condition"}
    assert "unknown operator '+'" in raised.value.message_dict["condition"][0]
