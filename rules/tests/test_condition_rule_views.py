"""The condition rules API: read by analysts, written with the model permission."""

import base64

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from rules.models import ConditionRule, RuleSet
from rules.tests.factories import published_ruleset

pytestmark = pytest.mark.django_db

LIST = reverse("rules:condition-rule-list")
NO_ALCOHOL_TO_NO = {
    "!": {
        "and": [
            {"==": [{"var": "shipping.country"}, "NO"]},
            {"some": [{"var": "lines"}, {"==": [{"var": "category"}, "alcohol"]}]},
        ]
    }
}
BIG_ORDER = {">": [{"var": "total"}, "500.00"]}
BODY = {
    "name": "big_order",
    "description": "Total above 500.00.",
    "severity": "warning",
    "condition": BIG_ORDER,
}
CONDITION_PERMISSIONS = ("add_conditionrule", "change_conditionrule", "delete_conditionrule")


def _detail(name):
    return reverse("rules:condition-rule-detail", args=[name])


def _token_client(user):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


@pytest.fixture
def editor_user(django_user_model):
    """Return a user, not staff, who may add, change and delete condition rules."""
    editor = django_user_model.objects.create_user(username="editor")
    editor.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="rules", codename__in=CONDITION_PERMISSIONS
        )
    )
    return editor


@pytest.fixture
def editor(editor_user):
    """Return a client with a token of the editor."""
    return _token_client(editor_user)


@pytest.fixture
def stranger(django_user_model):
    """Return a client with a token of a user who holds no permission."""
    return _token_client(django_user_model.objects.create_user(username="stranger"))


def _stored(name="big_order", condition=BIG_ORDER, severity="warning"):
    return ConditionRule.objects.create(
        name=name, description="Total above 500.00.", severity=severity, condition=condition
    )


def _as_shown(rule):
    rule.refresh_from_db()
    return {
        "name": rule.name,
        "description": rule.description,
        "severity": rule.severity,
        "condition": rule.condition,
        "updated_at": rule.updated_at.isoformat().replace("+00:00", "Z"),
    }


def test_create_stores_the_rule_and_answers_it_with_its_location(editor):
    response = editor.post(LIST, BODY, format="json")

    rule = ConditionRule.objects.get(name="big_order")
    assert (response.status_code, response.json()) == (201, _as_shown(rule))
    assert response["Location"] == _detail("big_order")
    assert rule.history.get().history_user.get_username() == "editor"


def test_create_takes_a_condition_over_lines_and_defaults_the_severity_to_error(editor):
    body = {"name": "no_alcohol_to_no", "description": "No alcohol to Norway."}

    response = editor.post(LIST, {**body, "condition": NO_ALCOHOL_TO_NO}, format="json")

    assert response.status_code == 201
    assert response.json()["severity"] == "error"
    assert ConditionRule.objects.get(name="no_alcohol_to_no").condition == NO_ALCOHOL_TO_NO


def test_the_list_is_paged_by_name(editor):
    rules = [_stored(name) for name in ("zeta", "alpha", "mid")]

    first = editor.get(LIST, {"page_size": 2})
    second = editor.get(first.json()["next"])

    assert first.status_code == 200
    assert first.json()["results"] == [_as_shown(rules[1]), _as_shown(rules[2])]
    assert first.json()["previous"] is None
    assert (second.status_code, second.json()["results"]) == (200, [_as_shown(rules[0])])
    assert second.json()["next"] is None


def test_detail_shows_one_rule(editor):
    rule = _stored()

    response = editor.get(_detail("big_order"))

    assert (response.status_code, response.json()) == (200, _as_shown(rule))


def test_detail_of_a_missing_rule_is_a_404_naming_it(editor):
    response = editor.get(_detail("nope"))

    assert (response.status_code, response.json()) == (
        404,
        {
            "error": "Not Found",
            "code": "not_found",
            "detail": "No condition rule is named 'nope'.",
        },
    )


def test_replace_changes_the_content_and_publishes_the_sets_that_use_the_rule(editor):
    rule = _stored()
    checkout = published_ruleset("checkout", "big_order")
    body = {"description": "Total above 900.00.", "condition": {">": [{"var": "total"}, 900]}}

    response = editor.put(_detail("big_order"), body, format="json")

    rule.refresh_from_db()
    assert (response.status_code, response.json()) == (200, _as_shown(rule))
    assert (rule.description, rule.severity, rule.condition) == (
        "Total above 900.00.",
        "error",
        {">": [{"var": "total"}, 900]},
    )
    checkout.refresh_from_db()
    latest = checkout.versions.first()
    assert (checkout.version, latest.number, latest.created_by) == (2, 2, "editor")
    assert latest.conditions_by_rule()["big_order"]["condition"] == body["condition"]
    assert rule.history.first().history_user.get_username() == "editor"


def test_replace_refuses_a_name_in_the_body(editor):
    _stored()

    response = editor.put(_detail("big_order"), {**BODY, "name": "other"}, format="json")

    assert (response.status_code, response.json()) == (
        400,
        {
            "error": "Bad Request",
            "code": "invalid_request",
            "detail": {"name": ["Unknown field."]},
        },
    )


def test_replace_of_a_missing_rule_is_a_404(editor):
    response = editor.put(
        _detail("nope"), {"description": "x", "condition": BIG_ORDER}, format="json"
    )

    assert response.status_code == 404
    assert response.json()["detail"] == "No condition rule is named 'nope'."


@pytest.mark.parametrize(
    ("condition", "path", "nearest"),
    [
        ({"==": [{"var": "shipping.contry"}, "NO"]}, "shipping.contry", "shipping.country"),
        ({"<=": [{"var": "risk.scor"}, 70]}, "risk.scor", "risk.score"),
    ],
)
def test_an_unknown_fact_is_a_400_naming_the_nearest_known_one(editor, condition, path, nearest):
    response = editor.post(LIST, {**BODY, "condition": condition}, format="json")

    assert (response.status_code, response.json()) == (
        400,
        {
            "error": "Unknown fact",
            "code": "unknown_fact",
            "detail": {
                "message": (
                    f"condition {next(iter(condition))!r}[0] 'var': unknown variable {path!r}; the"
                    f" nearest known fact is {nearest!r} (GET /facts/ lists them all)."
                ),
                "path": path,
                "nearest": nearest,
            },
        },
    )
    assert not ConditionRule.objects.exists()


def test_replace_with_an_unknown_fact_is_a_400_and_changes_nothing(editor):
    rule = _stored()
    before = _as_shown(rule)
    body = {"description": "x", "condition": {"==": [{"var": "shipping.contry"}, "NO"]}}

    response = editor.put(_detail("big_order"), body, format="json")

    assert (response.status_code, response.json()["code"]) == (400, "unknown_fact")
    assert _as_shown(rule) == before


def _nested_not(depth):
    """Return a condition of *depth* nested negations of one comparison."""
    condition = BIG_ORDER
    for _ in range(depth):
        condition = {"!": condition}
    return condition


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        (
            {"nope": [1, 2]},
            "condition: unknown operator 'nope'; supported: !, !=, %, <, <=, ==, >, >=, all, and,"
            " count, in, none, or, some, sum, var.",
        ),
        ({">": [{"var": "total"}]}, "condition '>' takes exactly two operands."),
        (None, "This field may not be null."),
        # The admin's size limits.
        (
            {"in": [{"var": "currency"}, ["EUR"] * 300]},
            "condition: more than 200 nodes (objects, lists and values).",
        ),
        (_nested_not(25), "condition" + " '!'" * 20 + ": objects nest deeper than 20."),
    ],
)
def test_another_invalid_condition_is_a_400_under_condition(editor, condition, message):
    response = editor.post(LIST, {**BODY, "condition": condition}, format="json")

    assert (response.status_code, response.json()) == (
        400,
        {"error": "Bad Request", "code": "invalid_request", "detail": {"condition": [message]}},
    )
    assert not ConditionRule.objects.exists()


def test_a_taken_name_is_a_400(editor):
    _stored()

    response = editor.post(LIST, BODY, format="json")

    assert (response.status_code, response.json()) == (
        400,
        {
            "error": "Bad Request",
            "code": "invalid_request",
            "detail": {"name": ["Condition rule with this Name already exists."]},
        },
    )


def test_a_name_taken_by_a_request_that_raced_this_one_is_the_same_400(editor, monkeypatch):
    # Both requests validated the name before either saved: the database's constraint decides.
    monkeypatch.setattr(ConditionRule, "validate_unique", lambda self, exclude=None: None)
    _stored()

    response = editor.post(LIST, BODY, format="json")

    assert (response.status_code, response.json()) == (
        400,
        {
            "error": "Bad Request",
            "code": "invalid_request",
            "detail": {"name": ["Condition rule with this Name already exists."]},
        },
    )
    assert ConditionRule.objects.count() == 1


def test_a_code_rules_name_is_a_400(editor):
    response = editor.post(LIST, {**BODY, "name": "min_total_100"}, format="json")

    assert (response.status_code, response.json()) == (
        400,
        {
            "error": "Bad Request",
            "code": "invalid_request",
            "detail": {"name": ["A code rule is already named 'min_total_100'."]},
        },
    )
    assert not ConditionRule.objects.exists()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "Big-Order", "This value does not match the required pattern."),
        ("name", "big_order\n", "This value does not match the required pattern."),
        ("name", "a" * 101, "Ensure this field has no more than 100 characters."),
        ("name", 12, "Not a valid string."),
        ("description", "   ", "This field may not be blank."),
        ("severity", "fatal", '"fatal" is not a valid choice.'),
        ("extra", 1, "Unknown field."),
    ],
)
def test_an_invalid_field_is_a_400_naming_it(editor, field, value, message):
    response = editor.post(LIST, {**BODY, field: value}, format="json")

    assert (response.status_code, response.json()) == (
        400,
        {"error": "Bad Request", "code": "invalid_request", "detail": {field: [message]}},
    )


def test_delete_removes_an_unused_rule_and_records_who(editor):
    rule = _stored()

    response = editor.delete(_detail("big_order"))

    assert (response.status_code, response.content) == (204, b"")
    assert not ConditionRule.objects.exists()
    assert rule.history.first().history_type == "-"
    assert rule.history.first().history_user.get_username() == "editor"


def test_delete_of_a_rule_in_use_is_a_409_naming_the_sets(editor):
    _stored()
    published_ruleset("checkout", "big_order")

    response = editor.delete(_detail("big_order"))

    assert (response.status_code, response.json()) == (
        409,
        {
            "error": "Rule in use",
            "code": "rule_in_use",
            "detail": {
                "message": (
                    "Condition rule 'big_order' is used by rule set(s) checkout v1; "
                    "remove it there first."
                ),
                "rulesets": ["checkout"],
            },
        },
    )
    assert ConditionRule.objects.filter(name="big_order").exists()


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", LIST, None),
        ("post", LIST, BODY),
        ("get", _detail("big_order"), None),
        ("put", _detail("big_order"), BODY),
        ("delete", _detail("big_order"), None),
    ],
)
def test_anonymous_callers_are_a_401(api_client, method, path, body):
    _stored()

    response = getattr(api_client, method)(path, body, format="json")

    assert (response.status_code, response.json()) == (
        401,
        {
            "error": "Unauthorized",
            "code": "not_authenticated",
            "detail": "Authentication credentials were not provided.",
        },
    )


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", LIST, None),
        ("post", LIST, BODY),
        ("get", _detail("big_order"), None),
        ("put", _detail("big_order"), {"description": "x", "condition": BIG_ORDER}),
        ("delete", _detail("big_order"), None),
    ],
)
def test_a_user_without_the_permission_is_a_403(stranger, method, path, body):
    _stored()

    response = getattr(stranger, method)(path, body, format="json")

    assert (response.status_code, response.json()) == (
        403,
        {
            "error": "Forbidden",
            "code": "permission_denied",
            "detail": "You do not have permission to perform this action.",
        },
    )
    assert ConditionRule.objects.get().description == "Total above 500.00."


def test_each_write_needs_its_own_permission(django_user_model):
    _stored()
    changer = django_user_model.objects.create_user(username="changer")
    changer.user_permissions.set(Permission.objects.filter(codename="change_conditionrule"))
    client = _token_client(changer)

    read = client.get(_detail("big_order"))
    created = client.post(LIST, {**BODY, "name": "other"}, format="json")
    deleted = client.delete(_detail("big_order"))
    replaced = client.put(
        _detail("big_order"), {"description": "x", "condition": BIG_ORDER}, format="json"
    )

    assert [read.status_code, created.status_code, deleted.status_code] == [200, 403, 403]
    assert replaced.status_code == 200


def test_an_analyze_key_reads_but_does_not_write(api_client, make_key):
    rule = _stored()
    _, key = make_key("analyst", ["analyze"])
    api_client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")

    read = api_client.get(_detail("big_order"))
    written = api_client.post(LIST, {**BODY, "name": "other"}, format="json")

    assert (read.status_code, read.json()) == (200, _as_shown(rule))
    assert (written.status_code, written.json()["code"]) == (403, "permission_denied")


def test_a_check_key_does_not_read(api_client, make_key):
    _, key = make_key("checkout", ["check"])
    api_client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")

    response = api_client.get(LIST)

    assert (response.status_code, response.json()["code"]) == (403, "permission_denied")


def test_a_staff_session_with_the_view_permission_reads(client, django_user_model):
    rule = _stored()
    staff = django_user_model.objects.create_user(username="staff", is_staff=True)
    staff.user_permissions.set(Permission.objects.filter(codename="view_conditionrule"))
    client.force_login(staff)

    response = client.get(_detail("big_order"))

    assert (response.status_code, response.json()) == (200, _as_shown(rule))


def test_a_session_write_needs_its_csrf_token(django_user_model, editor_user):
    session = APIClient(enforce_csrf_checks=True)
    session.force_login(editor_user)

    response = session.post(LIST, BODY, format="json")

    assert (response.status_code, response.json()["code"]) == (403, "permission_denied")
    assert not ConditionRule.objects.exists()


def test_a_rule_created_through_the_api_refuses_an_alcohol_line_shipped_to_no(editor):
    editor.post(
        LIST,
        {
            "name": "no_alcohol_to_no",
            "description": "No alcohol to NO.",
            "condition": NO_ALCOHOL_TO_NO,
        },
        format="json",
    )
    order = {
        "total": "40.00",
        "shipping": {"country": "NO"},
        "lines": [{"sku": "WINE-12", "category": "alcohol", "quantity": 1, "unit_price": "40.00"}],
    }

    response = APIClient().post(
        reverse("rules:rule-check"), {"order": order, "rules": ["no_alcohol_to_no"]}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["passed"] is False
    assert RuleSet.objects.count() == 0


def test_a_forged_cursor_holding_a_nul_is_a_404(editor):
    """A NUL in a cursor's position would reach PostgreSQL, which refuses it outright."""
    _stored()

    response = editor.get(LIST, {"cursor": base64.b64encode(b"p=%00big").decode()})

    assert (response.status_code, response.json()) == (
        404,
        {"error": "Not Found", "code": "not_found", "detail": "Invalid cursor"},
    )
