"""Who may call what: API keys and their scopes, sessions and their permissions, anonymity.

And how the access and decision logs name a caller.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import AnonymousUser, Permission
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient, APIRequestFactory

from api.auth import caller_name
from decisions.tests.factories import DecisionFactory
from orders.tests.factories import OrderFactory
from rules.models import RuleSet
from rules.tests.factories import published_ruleset

pytestmark = pytest.mark.django_db

CHECK = reverse("rules:rule-check")
BATCH = reverse("rules:rule-check-batch")
QUERY = reverse("rules:rule-query")
REPORT = reverse("rules:rule-report")
PREVIEW = reverse("rules:ruleset-preview", args=["checkout"])
RULES = ["min_total_100"]

NOT_AUTHENTICATED = {
    "error": "Unauthorized",
    "code": "not_authenticated",
    "detail": "Authentication credentials were not provided.",
}
INVALID_KEY = {
    "error": "Unauthorized",
    "code": "authentication_failed",
    "detail": "Invalid API key.",
}
PERMISSION_DENIED = {
    "error": "Forbidden",
    "code": "permission_denied",
    "detail": "You do not have permission to perform this action.",
}


@pytest.fixture
def order(db):
    """Create one stored order: 150.00, 3 items."""
    return OrderFactory(total=Decimal("150.00"), items_count=3)


@pytest.fixture
def checkout(db):
    """Create an active rule set with one rule."""
    return published_ruleset("checkout", "min_total_100")


def _client(key: str | None = None) -> APIClient:
    """Return a JSON client sending *key* as an API key, or no credentials."""
    client = APIClient()
    if key is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


# The analysis calls, each with a valid body.
ANALYSIS_CALLS = [
    ("post", QUERY, {"rules": RULES, "outcome": "failed"}),
    ("post", REPORT, {"rules": RULES}),
    ("post", PREVIEW, {"rules": ["min_items_2"]}),
    ("post", reverse("rules:ruleset-backtest", args=["checkout"]), {"rules": RULES}),
    ("get", reverse("decisions:decision-list"), None),
    ("get", reverse("decisions:decision-detail", args=[1]), None),
    ("post", reverse("decisions:decision-replay", args=[1]), None),
]
# Those of them that need no recorded decision.
ANALYSIS_OVER_ORDERS = ANALYSIS_CALLS[:4]


# Anonymous callers


def test_anonymous_checks_work_by_default(api_client, order, checkout):
    check = api_client.post(CHECK, {"order_id": order.pk, "rules": RULES}, format="json")
    batch = api_client.post(BATCH, {"order_ids": [order.pk], "rules": RULES}, format="json")
    rules = api_client.get(reverse("rules:rule-list"))
    rulesets = api_client.get(reverse("rules:ruleset-list"))

    assert [r.status_code for r in (check, batch, rules, rulesets)] == [200, 200, 200, 200]
    assert check.json()["details"] == {"min_total_100": True}


def test_an_anonymous_check_reads_only_the_order(
    api_client, order, settings, django_assert_num_queries
):
    settings.DECISION_LOG = "off"

    with django_assert_num_queries(1):
        response = api_client.post(CHECK, {"order_id": order.pk, "rules": RULES}, format="json")

    assert response.status_code == 200


@pytest.mark.parametrize(("method", "url", "body"), ANALYSIS_CALLS)
def test_analysis_without_credentials_is_a_401(api_client, order, checkout, method, url, body):
    response = getattr(api_client, method)(url, body, format="json")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Api-Key"
    assert response.json() == NOT_AUTHENTICATED


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("post", CHECK, {"order_id": 1, "rules": RULES}),
        ("post", BATCH, {"order_ids": [1], "rules": RULES}),
        ("get", reverse("rules:rule-list"), None),
        ("get", reverse("rules:ruleset-list"), None),
        ("get", reverse("rules:ruleset-detail", args=["checkout"]), None),
    ],
)
def test_with_anonymous_checks_off_checks_need_a_key(api_client, settings, method, url, body):
    settings.ALLOW_ANONYMOUS_CHECKS = False

    response = getattr(api_client, method)(url, body, format="json")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Api-Key"
    assert response.json() == NOT_AUTHENTICATED


# Keys and their scopes


def test_with_anonymous_checks_off_a_key_with_check_checks(settings, make_key, order):
    settings.ALLOW_ANONYMOUS_CHECKS = False
    _, key = make_key("checkout", ["check"])

    response = _client(key).post(CHECK, {"order_id": order.pk, "rules": RULES}, format="json")

    assert response.status_code == 200
    assert response.json()["details"] == {"min_total_100": True}


def test_with_anonymous_checks_off_a_key_without_check_is_a_403(settings, make_key, order):
    settings.ALLOW_ANONYMOUS_CHECKS = False
    _, key = make_key("reports", ["analyze"])

    response = _client(key).post(CHECK, {"order_id": order.pk, "rules": RULES}, format="json")

    assert response.status_code == 403
    assert response.json() == PERMISSION_DENIED


@pytest.mark.parametrize(("method", "url", "body"), ANALYSIS_CALLS)
def test_analysis_with_a_key_without_analyze_is_a_403(
    make_key, order, checkout, method, url, body
):
    _, key = make_key("checkout", ["check"])

    response = getattr(_client(key), method)(url, body, format="json")

    assert response.status_code == 403
    assert response.json() == PERMISSION_DENIED


@pytest.mark.parametrize(("method", "url", "body"), ANALYSIS_OVER_ORDERS)
def test_analysis_with_an_analyze_key_is_served(make_key, order, checkout, method, url, body):
    _, key = make_key("reports", ["analyze"])

    response = getattr(_client(key), method)(url, body, format="json")

    assert response.status_code == 200


def test_a_key_costs_one_query_to_verify(make_key, order, settings, django_assert_num_queries):
    settings.DECISION_LOG = "off"
    _, key = make_key("checkout", ["check"])
    client = _client(key)

    with django_assert_num_queries(2):
        response = client.post(CHECK, {"order_id": order.pk, "rules": RULES}, format="json")

    assert response.status_code == 200


@pytest.mark.parametrize(
    "key", ["wrong", "", "no-such-prefix.0123456789abcdef0123456789abcdef", "{prefix}.wrong"]
)
def test_a_wrong_key_is_a_401_even_where_anonymous_callers_are_welcome(key, make_key, order):
    real, _ = make_key("checkout", ["check"])
    key = key.format(prefix=real.prefix)

    response = _client(key).post(CHECK, {"order_id": order.pk, "rules": RULES}, format="json")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Api-Key"
    assert response.json() == INVALID_KEY


def test_a_revoked_key_is_a_401_from_the_next_request_on(make_key, order):
    stored, key = make_key("checkout", ["check", "analyze"])
    client = _client(key)
    before = client.post(QUERY, {"rules": RULES, "outcome": "failed"}, format="json")

    stored.revoked = True
    stored.save()
    after = client.post(QUERY, {"rules": RULES, "outcome": "failed"}, format="json")

    assert before.status_code == 200
    assert after.status_code == 401
    assert after.json() == INVALID_KEY


def test_an_expired_key_is_a_401(make_key, order):
    _, key = make_key("checkout", ["check"], expiry_date=timezone.now() - timedelta(seconds=1))

    response = _client(key).post(CHECK, {"order_id": order.pk, "rules": RULES}, format="json")

    assert response.status_code == 401
    assert response.json() == {
        "error": "Unauthorized",
        "code": "authentication_failed",
        "detail": "API key has expired.",
    }


def test_a_key_before_its_expiry_works(make_key, order):
    _, key = make_key("checkout", ["check"], expiry_date=timezone.now() + timedelta(days=1))

    response = _client(key).post(CHECK, {"order_id": order.pk, "rules": RULES}, format="json")

    assert response.status_code == 200


def test_a_token_header_is_no_credential_for_the_rules_api(api_client, order):
    api_client.credentials(HTTP_AUTHORIZATION="Token 0123456789abcdef0123456789abcdef01234567")

    check = api_client.post(CHECK, {"order_id": order.pk, "rules": RULES}, format="json")
    query = api_client.post(QUERY, {"rules": RULES, "outcome": "failed"}, format="json")

    assert check.status_code == 200
    assert (query.status_code, query.json()) == (401, NOT_AUTHENTICATED)


# Sessions


@pytest.fixture
def staff_client(django_user_model) -> APIClient:
    """Return a client logged in as an operator who edits rule sets, checking CSRF."""
    staff = django_user_model.objects.create_user(username="operator", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="change_ruleset"))
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(staff)
    return client


def test_a_staff_session_previews_with_its_csrf_token(staff_client, order, checkout):
    staff_client.get(reverse("admin:rules_ruleset_change", args=[checkout.pk]))
    token = staff_client.cookies["csrftoken"].value

    response = staff_client.post(
        PREVIEW, {"rules": ["min_items_2"]}, format="json", HTTP_X_CSRFTOKEN=token
    )

    assert response.status_code == 200
    assert response.json()["total"] == 1


def test_a_staff_session_without_its_csrf_token_is_a_403(staff_client, order, checkout):
    response = staff_client.post(PREVIEW, {"rules": ["min_items_2"]}, format="json")

    assert response.status_code == 403
    assert response.json() == {
        "error": "Forbidden",
        "code": "permission_denied",
        "detail": "CSRF Failed: CSRF cookie not set.",
    }


def test_a_session_of_a_user_who_is_not_staff_cannot_analyze(django_user_model, order):
    client = APIClient()
    client.force_login(django_user_model.objects.create_user(username="clerk"))

    response = client.post(QUERY, {"rules": RULES, "outcome": "failed"}, format="json")

    assert response.status_code == 403
    assert response.json() == PERMISSION_DENIED


# What a session needs for each analysis call: the permission the admin asks for the same.
VIEW_ORDER, VIEW_RULESET, VIEW_DECISION = (
    "orders.view_order",
    "rules.view_ruleset",
    "decisions.view_decision",
)
SESSION_PERMISSIONS = [
    ("post", QUERY, {"rules": RULES, "outcome": "failed"}, VIEW_ORDER),
    ("post", REPORT, {"rules": RULES}, VIEW_ORDER),
    ("post", PREVIEW, {"rules": ["min_items_2"]}, VIEW_RULESET),
    ("post", reverse("rules:ruleset-backtest", args=["checkout"]), {"rules": RULES}, VIEW_RULESET),
    ("get", reverse("decisions:decision-list"), None, VIEW_DECISION),
    ("get", "/decisions/{decision}/", None, VIEW_DECISION),
    ("post", "/decisions/{decision}/replay/", None, VIEW_DECISION),
]


@pytest.fixture
def decision(order, checkout):
    """Record one decision on the order, under the checkout set."""
    return DecisionFactory(
        order_id=order.pk, ruleset="checkout", ruleset_version=1, rules=None, results=[]
    )


def _session(django_user_model, *permissions: str) -> APIClient:
    """Return a client logged in as a staff user holding *permissions* and no others."""
    user = django_user_model.objects.create_user(username="operator", is_staff=True)
    for permission in permissions:
        app_label, codename = permission.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    client = APIClient()
    client.force_login(user)
    return client


@pytest.mark.parametrize(("method", "url", "body", "needed"), SESSION_PERMISSIONS)
def test_a_staff_session_without_the_calls_permission_is_a_403(
    django_user_model, decision, method, url, body, needed
):
    others = {VIEW_ORDER, VIEW_RULESET, VIEW_DECISION} - {needed}
    client = _session(django_user_model, *others)

    response = getattr(client, method)(url.format(decision=decision.pk), body, format="json")

    assert response.status_code == 403
    assert response.json() == PERMISSION_DENIED


@pytest.mark.parametrize(("method", "url", "body", "needed"), SESSION_PERMISSIONS)
def test_a_staff_session_with_the_calls_permission_is_served(
    django_user_model, decision, method, url, body, needed
):
    client = _session(django_user_model, needed)

    response = getattr(client, method)(url.format(decision=decision.pk), body, format="json")

    assert response.status_code == 200


def test_the_permission_to_change_rule_sets_lets_a_session_preview_and_backtest(
    django_user_model, order, checkout
):
    client = _session(django_user_model, "rules.change_ruleset")

    preview = client.post(PREVIEW, {"rules": ["min_items_2"]}, format="json")
    backtest = client.post(
        reverse("rules:ruleset-backtest", args=["checkout"]), {"rules": RULES}, format="json"
    )

    assert (preview.status_code, backtest.status_code) == (200, 200)


@pytest.mark.parametrize(("permissions", "status"), [((), 404), ((VIEW_RULESET,), 200)])
def test_a_session_sees_inactive_sets_with_the_permission_to_view_rule_sets(
    django_user_model, checkout, permissions, status
):
    RuleSet.objects.filter(pk=checkout.pk).update(active=False)
    client = _session(django_user_model, *permissions)

    response = client.get(reverse("rules:ruleset-detail", args=["checkout"]))

    assert response.status_code == status


def test_a_session_of_a_user_who_is_not_staff_cannot_analyze_even_with_the_permission(
    django_user_model, order
):
    user = django_user_model.objects.create_user(username="clerk")
    user.user_permissions.add(Permission.objects.get(codename="view_order"))
    client = APIClient()
    client.force_login(user)

    response = client.post(QUERY, {"rules": RULES, "outcome": "failed"}, format="json")

    assert response.status_code == 403
    assert response.json() == PERMISSION_DENIED


# Naming callers


def test_the_caller_is_a_user_by_id_or_anonymous(django_user_model):
    user = django_user_model.objects.create_user(username="clerk")
    request = APIRequestFactory().post("/rules/check/")
    request.user = user
    anonymous = APIRequestFactory().post("/rules/check/")
    anonymous.user = AnonymousUser()

    assert (caller_name(request), caller_name(anonymous)) == (f"user:{user.pk}", "anonymous")
