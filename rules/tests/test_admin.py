import json

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, given, settings

from rules.conditions import ConditionError, compile_condition
from rules.models import ConditionRule, RuleSet, RuleSetItem
from rules.tests.strategies import json_values

pytestmark = pytest.mark.django_db

ADD = reverse("admin:rules_ruleset_add")
CHANGELIST = reverse("admin:rules_ruleset_changelist")


def _form(name: str = "checkout", *items: dict, initial: int = 0, active: bool = True) -> dict:
    data = {
        "name": name,
        "description": "At checkout.",
        "items-TOTAL_FORMS": str(len(items)),
        "items-INITIAL_FORMS": str(initial),
        "items-MIN_NUM_FORMS": "0",
        "items-MAX_NUM_FORMS": "1000",
    }
    if active:
        data["active"] = "on"
    for index, item in enumerate(items):
        for field, value in item.items():
            data[f"items-{index}-{field}"] = value
    return data


def _item(position: int, rule: str, params: str = "{}", alias: str = "", severity: str = ""):
    return {
        "position": str(position),
        "rule": rule,
        "params": params,
        "alias": alias,
        "severity": severity,
    }


def test_add_a_ruleset_with_items_inline(admin_client):
    data = _form(
        "checkout",
        _item(1, "min_items_2"),
        _item(2, "total_greater_than", '{"amount": "250.00"}', "big_order", "warning"),
    )

    response = admin_client.post(ADD, data)

    assert response.status_code == 302
    ruleset = RuleSet.objects.get(name="checkout")
    assert [(s.key, s.name, dict(s.params)) for s in ruleset.specs()] == [
        ("min_items_2", "min_items_2", {}),
        ("big_order", "total_greater_than", {"amount": "250.00"}),
    ]


@pytest.mark.parametrize(
    ("item", "error"),
    [
        (_item(1, "no_such_rule"), "Unknown rule(s): no_such_rule"),
        (_item(1, "total_greater_than", '{"amount": "lots"}'), "amount: A valid number"),
        (_item(1, "total_greater_than", "{}"), "amount: This field is required."),
        (_item(1, "min_total_100", '{"amount": "5"}'), "takes no parameters"),
        (_item(1, "min_items", '["count"]'), "Parameters are a JSON object."),
        (_item(1, "min_items_2", "{not json"), "Enter a valid JSON."),
    ],
)
def test_invalid_items_are_form_errors_and_nothing_is_saved(admin_client, item, error):
    response = admin_client.post(ADD, _form("checkout", item))

    assert response.status_code == 200
    assert error in response.content.decode()
    assert RuleSet.objects.count() == 0


def test_two_items_with_the_same_key_are_a_form_error(admin_client):
    data = _form("checkout", _item(1, "min_items_2"), _item(2, "min_items_2"))

    response = admin_client.post(ADD, data)

    assert response.status_code == 200
    assert "Two items have the key" in response.content.decode()
    assert RuleSet.objects.count() == 0


def test_changelist_shows_name_active_version_rule_count_and_last_change(admin_client):
    admin_client.post(ADD, _form("checkout", _item(1, "min_items_2"), _item(2, "min_total_100")))

    response = admin_client.get(CHANGELIST)

    content = response.content.decode()
    assert response.status_code == 200
    for column in (
        "column-name",
        "column-active",
        "column-version",
        "column-rule_count",
        "column-updated_at",
    ):
        assert column in content
    [row] = response.context["cl"].result_list
    assert row.item_count == 2


def test_one_admin_save_is_one_new_version_holding_the_sets_content(admin_client):
    admin_client.post(ADD, _form("checkout", _item(1, "min_items_2")))
    ruleset = RuleSet.objects.get()
    item = ruleset.items.get()
    change = reverse("admin:rules_ruleset_change", args=[ruleset.pk])
    data = _form(
        "checkout",
        {**_item(1, "min_items_2"), "id": str(item.pk), "ruleset": str(ruleset.pk)},
        _item(2, "min_total_100", severity="warning"),
        _item(3, "divisible_by_5"),
        initial=1,
    )
    data["items-0-severity"] = "warning"

    response = admin_client.post(change, data)

    assert response.status_code == 302
    ruleset.refresh_from_db()
    assert ruleset.version == 2
    assert [version.number for version in ruleset.versions.all()] == [2, 1]
    assert [(i["rule"], i["severity"]) for i in ruleset.current().items] == [
        ("min_items_2", "warning"),
        ("min_total_100", "warning"),
        ("divisible_by_5", ""),
    ]
    assert ruleset.versions.get(number=1).items[0]["severity"] == ""
    assert ruleset.current().created_by == "admin"


def test_a_save_that_changes_no_rule_makes_no_new_version(admin_client):
    admin_client.post(ADD, _form("checkout", _item(1, "min_items_2")))
    ruleset = RuleSet.objects.get()
    item = ruleset.items.get()
    change = reverse("admin:rules_ruleset_change", args=[ruleset.pk])
    data = _form(
        "checkout",
        {**_item(1, "min_items_2"), "id": str(item.pk), "ruleset": str(ruleset.pk)},
        initial=1,
        active=False,
    )

    response = admin_client.post(change, data)

    assert response.status_code == 302
    ruleset.refresh_from_db()
    assert (ruleset.active, ruleset.version) == (False, 1)


CONDITION_ADD = reverse("admin:rules_conditionrule_add")


def _condition_form(name: str, condition: str) -> dict:
    return {
        "name": name,
        "description": "A stored rule.",
        "severity": "error",
        "condition": condition,
    }


def test_add_a_condition_rule(admin_client):
    response = admin_client.post(
        CONDITION_ADD, _condition_form("big", '{">": [{"var": "total"}, "100"]}')
    )

    assert response.status_code == 302
    assert ConditionRule.objects.get().bind({}).as_q() is not None


@pytest.mark.parametrize(
    ("name", "condition", "error"),
    [
        ("big", '{"+": [{"var": "total"}, 1]}', "unknown operator"),
        ("big", '{">": [{"var": "price"}, 1]}', "unknown variable"),
        ("big", '{">": [{"var": "total"}]}', "takes exactly two operands"),
        ("min_total_100", '{">": [{"var": "total"}, 1]}', "A code rule is already named"),
        ("Big Rule", '{">": [{"var": "total"}, 1]}', "Use lower case"),
    ],
)
def test_an_invalid_condition_rule_is_a_form_error(admin_client, name, condition, error):
    response = admin_client.post(CONDITION_ADD, _condition_form(name, condition))

    assert response.status_code == 200
    assert error in response.content.decode()
    assert ConditionRule.objects.count() == 0


def test_the_change_page_offers_an_impact_preview_of_the_edited_rules(admin_client):
    admin_client.post(ADD, _form("checkout", _item(1, "min_items_2")))
    ruleset = RuleSet.objects.get()

    response = admin_client.get(reverse("admin:rules_ruleset_change", args=[ruleset.pk]))

    content = response.content.decode()
    assert 'id="ruleset-preview-button"' in content
    assert f'data-url="{reverse("rules:ruleset-preview", args=["checkout"])}"' in content
    assert "rules/ruleset_preview.js" in content


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ('{">": [{"var": ["total", 0]}, 1]}', "a default value is not supported"),
        ('{">": [{"var": {}}, 1]}', "takes a field name as a string"),
        ('{">": [{"var": "total"}, "1e999990"]}', "is beyond plus or minus 2147483647"),
        ('{"==": [{"%": [{"var": "total"}, 0]}, 0]}', "the divisor must be a positive number"),
        ("[" * 500 + "]" * 500, "more than 200 nodes"),
        ("[" * 100_000 + "]" * 100_000, "Enter a valid JSON."),
        ('{">": [{"var": "total"}, ' + "1" * 5000 + "]}", "Enter a valid JSON."),
        ('{">": [{"var": "total"}, "\\udfff"]}', "Enter a valid JSON."),
    ],
)
def test_a_malformed_condition_is_a_form_error_never_a_500(admin_client, text, error):
    response = admin_client.post(CONDITION_ADD, _condition_form("big", text))

    assert response.status_code == 200
    assert error in response.content.decode()
    assert ConditionRule.objects.count() == 0


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(source=json_values)
def test_arbitrary_json_in_the_admin_is_saved_or_a_form_error(admin_client, source):
    ConditionRule.objects.all().delete()
    try:
        compile_condition(source)
    except ConditionError:
        valid = False
    else:
        valid = True

    response = admin_client.post(CONDITION_ADD, _condition_form("fuzzed", json.dumps(source)))

    if valid:
        assert response.status_code == 302
        assert ConditionRule.objects.get().condition == source
    else:
        assert response.status_code == 200
        assert "condition" in response.context["adminform"].form.errors
        assert ConditionRule.objects.count() == 0


def test_the_admin_refuses_to_delete_a_stored_rule_a_set_uses_naming_the_set(admin_client):
    rule = ConditionRule.objects.create(
        name="big", description="Over 100.", condition={">": [{"var": "total"}, "100"]}
    )
    admin_client.post(ADD, _form("checkout", _item(1, "big")))
    delete = reverse("admin:rules_conditionrule_delete", args=[rule.pk])

    page = admin_client.get(delete)
    confirmed = admin_client.post(delete, {"post": "yes"})

    assert "used by rule set(s) checkout v1" in page.content.decode()
    assert confirmed.status_code == 200
    assert "used by rule set(s) checkout v1" in confirmed.content.decode()
    assert ConditionRule.objects.filter(pk=rule.pk).exists()


def _change_url(ruleset: RuleSet) -> str:
    return reverse("admin:rules_ruleset_change", args=[ruleset.pk])


def _existing(item: RuleSetItem, **changes: str) -> dict:
    fields = _item(item.position, item.rule, json.dumps(item.params), item.alias, item.severity)
    return {**fields, **changes, "id": str(item.pk), "ruleset": str(item.ruleset_id)}


def _unchanged_params(data: dict, *indexes: int) -> dict:
    """Add the initial params the page sends beside each item's (a callable default)."""
    return {**data, **{f"initial-items-{index}-params": "{}" for index in indexes}}


def test_the_history_of_a_rule_set_shows_who_changed_which_field_from_what_to_what(admin_client):
    admin_client.post(ADD, _form("checkout", _item(1, "min_items_2")))
    ruleset = RuleSet.objects.get()
    data = _unchanged_params(_form("checkout", _existing(ruleset.items.get()), initial=1), 0)
    data["description"] = "At checkout, in the shop."

    admin_client.post(_change_url(ruleset), data)
    page = admin_client.get(reverse("admin:rules_ruleset_history", args=[ruleset.pk]))

    latest = ruleset.history.first()
    assert (latest.history_type, latest.history_user.get_username()) == ("~", "admin")
    assert RuleSetItem.history.count() == 1
    [change] = latest.diff_against(latest.prev_record).changes
    assert (change.field, change.old, change.new) == (
        "description",
        "At checkout.",
        "At checkout, in the shop.",
    )
    content = " ".join(page.content.decode().split())
    assert (
        "<strong>Description:</strong> At checkout. &nbsp;&rarr;&nbsp;&nbsp;"
        "At checkout, in the shop."
    ) in content


def test_the_history_of_a_rule_set_shows_its_items_changes_by_whom(admin_client):
    admin_client.post(ADD, _form("checkout", _item(1, "total_greater_than", '{"amount": "100"}')))
    ruleset = RuleSet.objects.get()
    item = ruleset.items.get()
    data = _form(
        "checkout",
        _existing(item, params='{"amount": "160.00"}', severity="warning"),
        _item(2, "min_items_2"),
        initial=1,
    )

    admin_client.post(_change_url(ruleset), data)
    page = admin_client.get(reverse("admin:rules_ruleset_history", args=[ruleset.pk]))

    records = RuleSetItem.history.filter(ruleset_id=ruleset.pk)
    assert {(r.rule, r.history_type, r.history_user.get_username()) for r in records} == {
        ("total_greater_than", "+", "admin"),
        ("total_greater_than", "~", "admin"),
        ("min_items_2", "+", "admin"),
    }
    rows = [row.details for row in page.context["item_change_rows"]]
    assert rows[:2] == [
        ("position 2", "rule min_items_2"),
        ('params {"amount": "100"} → {"amount": "160.00"}', "severity default → warning"),
    ]
    assert "severity default → warning" in page.content.decode()


def test_the_history_of_a_condition_rule_shows_who_changed_the_condition(admin_client):
    admin_client.post(CONDITION_ADD, _condition_form("big", '{">": [{"var": "total"}, "100"]}'))
    rule = ConditionRule.objects.get()

    admin_client.post(
        reverse("admin:rules_conditionrule_change", args=[rule.pk]),
        _condition_form("big", '{">": [{"var": "total"}, "150"]}'),
    )
    page = admin_client.get(reverse("admin:rules_conditionrule_history", args=[rule.pk]))

    latest = rule.history.first()
    assert latest.history_user.get_username() == "admin"
    [change] = latest.diff_against(latest.prev_record).changes
    assert (change.field, change.old, change.new) == (
        "condition",
        {">": [{"var": "total"}, "100"]},
        {">": [{"var": "total"}, "150"]},
    )
    content = page.content.decode()
    assert "Condition:" in content
    assert "&#x27;150&#x27;" in content


def test_a_condition_rule_change_republishes_its_sets_by_the_admin_who_made_it(admin_client):
    admin_client.post(CONDITION_ADD, _condition_form("big", '{">": [{"var": "total"}, "100"]}'))
    rule = ConditionRule.objects.get()
    ruleset = RuleSet.objects.create(name="checkout")
    RuleSetItem.objects.create(ruleset=ruleset, rule="big")
    ruleset.publish(by="someone")

    admin_client.post(
        reverse("admin:rules_conditionrule_change", args=[rule.pk]),
        _condition_form("big", '{">": [{"var": "total"}, "150"]}'),
    )

    current = RuleSet.objects.get().current()
    assert (current.number, current.created_by) == (2, "admin")
