import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given, settings

from decisions.tests.factories import DecisionFactory
from rules.conditions import ConditionError, compile_condition
from rules.models import ConditionRule, RuleSet, RuleSetItem, RuleSetVersion
from rules.services import ruleset_publish
from rules.tests.factories import published_ruleset
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

    response = admin_client.post(change, {**data, **_opened(admin_client, ruleset)})

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

    response = admin_client.post(change, {**data, **_opened(admin_client, ruleset)})

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


def test_a_condition_made_in_the_admin_refuses_alcohol_shipped_to_norway_naming_the_line(
    admin_client, api_client
):
    condition = (
        '{"or": [{"!=": [{"var": "shipping.country"}, "NO"]},'
        ' {"none": [{"var": "lines"}, {"==": [{"var": "category"}, "alcohol"]}]}]}'
    )
    form = {**_condition_form("no_alcohol_to_norway", condition)}
    form["description"] = "No alcohol shipped to Norway."
    assert admin_client.post(CONDITION_ADD, form).status_code == 302
    cart = {
        "total": "62.00",
        "shipping": {"country": "NO"},
        "lines": [
            {"sku": "CHEESE-3", "category": "food", "quantity": 1, "unit_price": "12.00"},
            {"sku": "WINE-12", "category": "alcohol", "quantity": 2, "unit_price": "25.00"},
        ],
    }

    response = api_client.post(
        reverse("rules:rule-check"),
        {"order": cart, "rules": ["no_alcohol_to_norway"]},
        format="json",
    )

    assert response.status_code == 200
    [result] = response.json()["results"]
    assert (response.json()["passed"], result["outcome"]) == (False, "failed")
    assert result["message"] == (
        "Failed: No alcohol shipped to Norway. Line 2 (WINE-12, alcohol)."
    )
    assert result["lines"] == [2]


@pytest.mark.parametrize(
    ("name", "condition", "error"),
    [
        ("big", '{"+": [{"var": "total"}, 1]}', "unknown operator"),
        ("big", '{">": [{"var": "price"}, 1]}', "unknown variable"),
        (
            "big",
            '{"==": [{"var": "shiping.country"}, "NO"]}',
            "the nearest known fact is &#x27;shipping.country&#x27;",
        ),
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
        ('{">": [{"var": ["subtotal", "lots"]}, 1]}', "&#x27;lots&#x27; is not a number"),
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


def _restore_url(ruleset: RuleSet, number: int) -> str:
    return reverse("admin:rules_ruleset_restore", args=[ruleset.pk, number])


def _existing(item: RuleSetItem, **changes: str) -> dict:
    fields = _item(item.position, item.rule, json.dumps(item.params), item.alias, item.severity)
    return {**fields, **changes, "id": str(item.pk), "ruleset": str(item.ruleset_id)}


def _opened(client: Client, ruleset: RuleSet) -> dict:
    """Return the hidden fields of the set's change page as it is now: what a save sends back."""
    form = client.get(_change_url(ruleset)).context["adminform"].form
    return {name: form[name].value() for name in form.fields if form[name].is_hidden}


def _unchanged_params(data: dict, *indexes: int) -> dict:
    """Add the initial params the page sends beside each item's (a callable default)."""
    return {**data, **{f"initial-items-{index}-params": "{}" for index in indexes}}


def test_the_history_of_a_rule_set_shows_who_changed_which_field_from_what_to_what(admin_client):
    admin_client.post(ADD, _form("checkout", _item(1, "min_items_2")))
    ruleset = RuleSet.objects.get()
    data = _unchanged_params(_form("checkout", _existing(ruleset.items.get()), initial=1), 0)
    data["description"] = "At checkout, in the shop."

    admin_client.post(_change_url(ruleset), {**data, **_opened(admin_client, ruleset)})
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

    admin_client.post(_change_url(ruleset), {**data, **_opened(admin_client, ruleset)})
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
    ruleset_publish(ruleset=ruleset, by="someone")

    admin_client.post(
        reverse("admin:rules_conditionrule_change", args=[rule.pk]),
        _condition_form("big", '{">": [{"var": "total"}, "150"]}'),
    )

    current = RuleSet.objects.get().current()
    assert (current.number, current.created_by) == (2, "admin")


@pytest.fixture
def versioned(db) -> RuleSet:
    """Return a set with two versions: total over 100, then over 160 and two items."""
    ruleset = RuleSet.objects.create(name="checkout")
    item = RuleSetItem.objects.create(
        ruleset=ruleset, rule="total_greater_than", params={"amount": "100.00"}
    )
    ruleset_publish(ruleset=ruleset, by="alice")
    item.params = {"amount": "160.00"}
    item.save()
    RuleSetItem.objects.create(ruleset=ruleset, position=2, rule="min_items_2")
    ruleset_publish(ruleset=ruleset, by="bob")
    return ruleset


def test_the_change_page_lists_the_versions_with_their_changes(admin_client, versioned):
    response = admin_client.get(_change_url(versioned))

    rows = response.context["version_rows"]
    assert [(r.version.number, r.version.created_by, r.current) for r in rows] == [
        (2, "bob", True),
        (1, "alice", False),
    ]
    assert [str(change) for change in rows[0].changes] == [
        'Changed total_greater_than: params {"amount": "100.00"} → {"amount": "160.00"}',
        "Added min_items_2: position 2, rule min_items_2",
    ]
    assert [str(change) for change in rows[1].changes] == [
        "Added total_greater_than: position 1, rule total_greater_than, "
        'params {"amount": "100.00"}'
    ]
    content = response.content.decode()
    assert "Changed total_greater_than: params {&quot;amount&quot;: &quot;100.00&quot;}" in content
    assert content.count("Restore this version") == 1
    assert f'action="{_restore_url(versioned, 1)}"' in content


def test_restoring_a_version_publishes_its_items_as_the_next_version(admin_client, versioned):
    first = list(RuleSetVersion.objects.order_by("number").values_list("number", "items"))

    response = admin_client.post(_restore_url(versioned, 1))

    assert response.status_code == 302
    assert response["Location"] == _change_url(versioned)
    versioned.refresh_from_db()
    restored = versioned.current()
    assert (versioned.version, restored.created_by) == (3, "admin")
    assert restored.items == RuleSetVersion.objects.get(number=1).items
    assert (
        list(RuleSetVersion.objects.order_by("number").values_list("number", "items"))[:2] == first
    )
    assert [item.spec() for item in versioned.items.all()] == restored.specs()
    page = admin_client.get(response["Location"])
    assert "Version 1 restored as version 3." in page.content.decode()
    reasons = set(RuleSetItem.history.values_list("history_change_reason", flat=True))
    assert "Restored from version 1" in reasons


@pytest.fixture
def replaced_condition(db) -> tuple[ConditionRule, RuleSet]:
    """Return a condition rule and the set whose version 1 held it and version 2 does not."""
    rule = ConditionRule.objects.create(
        name="big", description="Over 100.", condition={">": [{"var": "total"}, "100"]}
    )
    ruleset = published_ruleset("checkout", "big")
    ruleset.items.all().delete()
    RuleSetItem.objects.create(ruleset=ruleset, rule="min_items_2")
    ruleset_publish(ruleset=ruleset)
    return rule, ruleset


def test_restoring_a_version_whose_condition_rule_changed_says_so(
    admin_client, replaced_condition
):
    rule, ruleset = replaced_condition
    rule.condition = {">": [{"var": "total"}, "150"]}
    rule.save()

    response = admin_client.post(_restore_url(ruleset, 1), follow=True)

    current = RuleSet.objects.get().current()
    assert current.number == 3
    assert current.items[0]["stored"]["condition"] == {">": [{"var": "total"}, "150"]}
    assert RuleSetVersion.objects.get(number=1).items[0]["stored"]["condition"] == {
        ">": [{"var": "total"}, "100"]
    }
    assert (
        "Version 1 restored as version 3. The stored condition rule(s) big changed since "
        "version 1: version 3 holds them as they are now."
    ) in [str(message) for message in response.context["messages"]]


def test_restoring_a_version_whose_condition_rule_was_deleted_is_refused(
    admin_client, replaced_condition
):
    rule, ruleset = replaced_condition
    rule.delete()

    response = admin_client.post(_restore_url(ruleset, 1), follow=True)

    assert RuleSet.objects.get().version == 2
    assert [item.rule for item in ruleset.items.all()] == ["min_items_2"]
    assert [str(message) for message in response.context["messages"]] == [
        "Version 1 was not restored: it uses rule(s) that no longer exist: big."
    ]


def test_restoring_the_items_the_current_version_holds_changes_nothing(admin_client, versioned):
    admin_client.post(_restore_url(versioned, 1), follow=True)

    response = admin_client.post(_restore_url(versioned, 1), follow=True)

    assert RuleSet.objects.get().version == 3
    assert [str(message) for message in response.context["messages"]] == [
        "Version 3, the current one, already holds the items of version 1; nothing changed."
    ]


def test_a_get_on_the_restore_url_changes_nothing(admin_client, versioned):
    response = admin_client.get(_restore_url(versioned, 1))

    assert response.status_code == 405
    assert RuleSet.objects.get().version == 2


def test_a_restore_without_the_csrf_token_is_refused(admin_user, versioned):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)

    response = client.post(_restore_url(versioned, 1))

    assert response.status_code == 403
    assert RuleSet.objects.get().version == 2


def test_only_staff_allowed_to_change_rule_sets_may_restore(client, django_user_model, versioned):
    user = django_user_model.objects.create_user("viewer", password="a-long-password-1234")
    client.force_login(user)
    anonymous = Client().post(_restore_url(versioned, 1))
    not_staff = client.post(_restore_url(versioned, 1))
    user.is_staff = True
    user.save()
    user.user_permissions.add(Permission.objects.get(codename="view_ruleset"))
    viewer = client.post(_restore_url(versioned, 1))
    viewer_page = client.get(_change_url(versioned))

    assert anonymous.status_code == not_staff.status_code == 302
    assert anonymous["Location"].startswith(reverse("admin:login"))
    assert not_staff["Location"].startswith(reverse("admin:login"))
    assert viewer.status_code == 403
    assert viewer_page.status_code == 200
    assert "Restore this version" not in viewer_page.content.decode()
    assert RuleSet.objects.get().version == 2


def test_an_unknown_version_cannot_be_restored(admin_client, versioned):
    response = admin_client.post(_restore_url(versioned, 9))

    assert response.status_code == 404
    assert RuleSet.objects.get().version == 2


GLANCE = reverse("admin:rules_glance")


def _decided(days_ago: int, outcomes: dict[str, str]):
    """Store a decision of *days_ago* days back with these outcomes by rule key."""
    decided_at = timezone.now() - timedelta(days=days_ago)
    return DecisionFactory(
        decided_at=decided_at,
        order_id=None,
        rules=[{"name": key} for key in outcomes],
        results=[],
        outcomes=outcomes,
        passed=all(outcome == "passed" for outcome in outcomes.values()),
    )


def test_rules_at_a_glance_charts_failures_and_errors_per_rule_and_day(admin_client):
    _decided(0, {"min_total_100": "failed", "min_items_2": "passed"})
    _decided(0, {"min_total_100": "error", "min_items_2": "failed"})
    _decided(3, {"min_total_100": "failed"})
    _decided(20, {"divisible_by_5": "failed"})

    response = admin_client.get(GLANCE)

    assert response.status_code == 200
    rows = {row.rule: row for row in response.context["failing"]}
    assert list(rows) == ["min_total_100", "min_items_2"]
    assert rows["min_total_100"].failed[-1] == 1
    assert rows["min_total_100"].errored[-1] == 1
    assert rows["min_total_100"].failed[-4] == 1
    assert (rows["min_items_2"].failed_total, rows["min_items_2"].errored_total) == (1, 0)
    chart = response.context["chart"]
    assert [len(series.points) for series in chart.series] == [14, 14]
    assert [point.count for point in chart.series[0].points][-4:] == [1, 0, 0, 2]
    assert response.content.decode().count('class="glance-point"') == 28


def test_rules_at_a_glance_says_when_nothing_failed(admin_client):
    response = admin_client.get(GLANCE)

    assert response.status_code == 200
    assert "No rule failed or errored in these days." in response.content.decode()


STALE = "Someone else changed this rule set since you opened this page"


@pytest.fixture
def colleague(django_user_model) -> Client:
    """Return a client logged in as a second admin."""
    client = Client()
    client.force_login(django_user_model.objects.create_superuser("colleague"))
    return client


def test_a_save_from_a_page_opened_before_anothers_save_is_refused(admin_client, colleague):
    admin_client.post(ADD, _form("checkout", _item(1, "min_items_2"), _item(2, "min_total_100")))
    ruleset = RuleSet.objects.get()
    first, second = ruleset.items.all()
    mine, theirs = _opened(admin_client, ruleset), _opened(colleague, ruleset)
    saved = admin_client.post(
        _change_url(ruleset),
        {
            **_form(
                "checkout", _existing(first, severity="warning"), _existing(second), initial=2
            ),
            **mine,
        },
    )

    refused = colleague.post(
        _change_url(ruleset),
        {
            **_form("checkout", _existing(first), _existing(second, alias="big"), initial=2),
            **theirs,
        },
    )

    assert saved.status_code == 302
    assert refused.status_code == 200
    assert STALE in refused.content.decode()
    assert [(item.rule, item.severity, item.alias) for item in ruleset.items.all()] == [
        ("min_items_2", "warning", ""),
        ("min_total_100", "", ""),
    ]
    ruleset.refresh_from_db()
    assert ruleset.version == 2
    assert ruleset.current().created_by == "admin"


def test_a_save_refused_as_stale_goes_through_from_the_page_opened_again(admin_client, colleague):
    admin_client.post(ADD, _form("checkout", _item(1, "min_items_2")))
    ruleset = RuleSet.objects.get()
    theirs = _opened(colleague, ruleset)
    admin_client.post(
        _change_url(ruleset),
        {
            **_form("checkout", _existing(ruleset.items.get()), initial=1, active=False),
            **_opened(admin_client, ruleset),
        },
    )
    data = _form("checkout", _existing(ruleset.items.get(), severity="warning"), initial=1)
    refused = colleague.post(_change_url(ruleset), {**data, **theirs})

    saved = colleague.post(_change_url(ruleset), {**data, **_opened(colleague, ruleset)})

    assert (refused.status_code, saved.status_code) == (200, 302)
    assert ruleset.items.get().severity == "warning"


def test_a_save_that_does_not_say_which_state_it_was_opened_on_is_refused(admin_client):
    admin_client.post(ADD, _form("checkout", _item(1, "min_items_2")))
    ruleset = RuleSet.objects.get()
    data = _form("checkout", _existing(ruleset.items.get(), severity="warning"), initial=1)

    response = admin_client.post(_change_url(ruleset), data)

    assert response.status_code == 200
    assert STALE in response.content.decode()
    assert ruleset.items.get().severity == ""


# How long the other save waits for this one to queue behind its lock.
WAIT_SECONDS = 10


def _wait_for_a_lock_waiter() -> None:
    """Return once another connection waits for a lock; fail after ``WAIT_SECONDS``."""
    deadline = time.monotonic() + WAIT_SECONDS
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
            if cursor.fetchone()[0]:
                return
            time.sleep(0.01)
    raise AssertionError("no save waited for the rule set's lock")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_save_made_while_another_commits_waits_for_it_and_is_refused(admin_client):
    """On PostgreSQL: the check reads the set under its lock, so this save waits and sees."""
    if connection.vendor != "postgresql":
        pytest.fail("this test needs PostgreSQL: run `make test-postgres`")
    ruleset = published_ruleset("checkout", "min_items_2")
    item = ruleset.items.get()
    opened = _opened(admin_client, ruleset)
    locked = threading.Event()

    def other_save() -> None:
        """Save a change to the set as the admin does, holding its row until this one waits."""
        try:
            with transaction.atomic():
                RuleSet.objects.select_for_update().get(pk=ruleset.pk)
                locked.set()
                _wait_for_a_lock_waiter()
                RuleSetItem.objects.filter(pk=item.pk).update(severity="warning")
                RuleSet.objects.filter(pk=ruleset.pk).update(updated_at=timezone.now())
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        other = pool.submit(other_save)
        assert locked.wait(WAIT_SECONDS)
        response = admin_client.post(
            _change_url(ruleset),
            {**_form("checkout", _existing(item, alias="items"), initial=1), **opened},
        )
        other.result(timeout=WAIT_SECONDS * 2)

    assert response.status_code == 200
    assert STALE in response.content.decode()
    item.refresh_from_db()
    assert (item.severity, item.alias) == ("warning", "")
