"""Checks whose rules ask another service: the API, end to end, with the stand-in risk service.

The risk service runs for real on the loopback (``rules.risk_service``); the
check calls it over HTTP through ``rules.fetching``, as in production.
"""

import logging
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.core.cache import caches
from django.urls import reverse

from config.tests.scrapes import labels
from decisions.models import Decision
from orders.models import Customer
from orders.tests.factories import OrderFactory
from rules.fetching import reset_state
from rules.models import ConditionRule
from rules.risk_service import RiskService
from rules.tests.factories import published_ruleset

pytestmark = pytest.mark.django_db

CHECK = reverse("rules:rule-check")
BATCH = reverse("rules:rule-check-batch")
# A condition rule passes when its condition holds: low risk, or a small order.
LOW_RISK_OR_SMALL = {"or": [{"<=": [{"var": "risk.score"}, 70]}, {"<=": [{"var": "total"}, 200]}]}
RISKY = {"name": "risk_score_at_most", "params": {"score": 70}}


@pytest.fixture(autouse=True)
def _fresh_breakers_and_cache() -> Iterator[None]:
    """Start each test with every breaker closed and no answer kept."""
    reset_state()
    caches["providers"].clear()
    yield
    reset_state()


@pytest.fixture
def risk(settings: Any) -> Iterator[RiskService]:
    """Run the stand-in risk service, scoring customer C-1 at 85 and anyone else at 20."""
    service = RiskService(scores={"C-1": 85}).start()
    settings.RISK_SERVICE_URL = service.url
    settings.PROVIDER_BREAKER_FAILURES = 3
    settings.PROVIDER_BREAKER_OPEN_SECONDS = 60
    yield service
    service.stop()


@pytest.fixture
def low_risk_or_small(db: None) -> ConditionRule:
    """Store the condition rule of the issue's example."""
    return ConditionRule.objects.create(
        name="low_risk_or_small",
        description="The risk score is at most 70, or the total at most 200.00.",
        condition=LOW_RISK_OR_SMALL,
    )


def _cart(total: str, customer: str = "C-1") -> dict[str, Any]:
    return {"total": total, "items_count": 1, "customer": {"id": customer}}


def _check(client, order: dict[str, Any], *rules: Any, **extra: Any):
    return client.post(CHECK, {"order": order, "rules": list(rules), **extra}, format="json")


@pytest.mark.usefixtures("low_risk_or_small")
def test_a_stored_condition_over_the_risk_score_refuses_a_risky_large_order(
    api_client, analyst, risk
):
    refused = _check(api_client, _cart("250.00"), "low_risk_or_small")
    small = _check(api_client, _cart("150.00"), "low_risk_or_small")
    trusted = _check(api_client, _cart("250.00", customer="C-2"), "low_risk_or_small")

    assert refused.status_code == 200
    assert [refused.json()["passed"], small.json()["passed"], trusted.json()["passed"]] == [
        False,
        True,
        True,
    ]
    [result] = refused.json()["results"]
    assert (result["rule"], result["outcome"]) == ("low_risk_or_small", "failed")
    detail = reverse("decisions:decision-detail", args=[refused.json()["decision_id"]])
    decision = analyst.get(detail)
    supplied = decision.json()["order"]["providers"]["risk"]
    assert supplied["values"] == {"risk.score": 85}
    assert (supplied["error"], supplied["cache_hit"], supplied["fallback"]) == (None, False, False)
    assert [request.body["customer.id"] for request in risk.received] == ["C-1", "C-1", "C-2"]


def test_the_risk_service_is_sent_the_order_facts_it_reads_with_its_token(
    api_client, risk, settings
):
    settings.RISK_SERVICE_TOKEN = "s3cret"
    risk.token = "s3cret"
    Customer.objects.create(external_id="C-1", segment="vip", country="NO")

    response = _check(api_client, _cart("250.00"), RISKY)

    assert response.json()["results"][0]["message"] == "Risk score 85 is above 70."
    [request] = risk.received
    assert request.authorization == "Bearer s3cret"
    assert request.body == {
        "total": "250.00",
        "currency": "EUR",
        "items_count": 1,
        "customer.id": "C-1",
        "customer.age_days": 0,
        "shipping.country": None,
        "billing.country": None,
        "payment_method": None,
    }


def test_a_check_asks_again_from_the_cache_not_the_service(api_client, risk):
    first = _check(api_client, _cart("250.00"), RISKY)
    second = _check(api_client, _cart("250.00"), RISKY)

    assert len(risk.received) == 1
    records = [
        Decision.objects.get(pk=r.json()["decision_id"]).snapshot["providers"]["risk"]
        for r in (first, second)
    ]
    assert [record["cache_hit"] for record in records] == [False, True]
    assert records[1]["values"] == {"risk.score": 85}


@pytest.mark.usefixtures("low_risk_or_small")
def test_with_the_service_down_checks_err_then_the_breaker_opens_and_metrics_show_it(
    api_client, risk, scrape
):
    before = scrape()
    risk.stop()

    answers = [_check(api_client, _cart(f"25{n}.00"), "low_risk_or_small") for n in range(5)]

    assert {answer.status_code for answer in answers} == {200}
    results = [answer.json()["results"][0] for answer in answers]
    assert {result["outcome"] for result in results} == {"error"}
    assert {result["code"] for result in results} == {"provider_unavailable"}
    assert [result["reason"] for result in results] == [
        "error",
        "error",
        "error",
        "breaker_open",
        "breaker_open",
    ]
    assert results[3]["message"] == (
        "Provider risk is unavailable (breaker_open), so risk.score is unknown."
        " Rule low_risk_or_small could not be evaluated."
    )
    assert [answer.json()["passed"] for answer in answers] == [False] * 5
    after = scrape()
    assert after.total("rule_engine_provider_breaker_state", provider="risk") == 2
    assert after.growth(before, "rule_engine_provider_calls_total") == {
        labels(provider="risk", result="error"): 3,
        labels(provider="risk", result="breaker_open"): 2,
    }


def test_under_fail_fast_a_provider_is_not_called_when_an_earlier_rule_already_failed(
    api_client, risk
):
    skipped = _check(api_client, _cart("50.00"), "min_total_100", RISKY, fail_fast=True)
    asked = _check(api_client, _cart("150.00"), "min_total_100", RISKY, fail_fast=True)

    assert [r["outcome"] for r in skipped.json()["results"]] == ["failed", "skipped"]
    assert [r["outcome"] for r in asked.json()["results"]] == ["passed", "failed"]
    assert len(risk.received) == 1
    assert "providers" not in Decision.objects.get(pk=skipped.json()["decision_id"]).snapshot


def test_a_check_that_needs_no_provider_calls_none(api_client, risk):
    response = _check(api_client, _cart("250.00"), "min_total_100")

    assert response.json()["passed"] is True
    assert risk.received == []


def test_a_batch_asks_the_service_once_per_distinct_input(api_client, risk):
    customers = [Customer.objects.create(external_id=f"C-{n}") for n in (1, 2)]
    orders = [
        OrderFactory(total=Decimal("250.00"), items_count=1, customer=customers[n % 2])
        for n in range(4)
    ]
    body = {"order_ids": [order.pk for order in orders], "rules": [RISKY]}

    response = api_client.post(BATCH, body, format="json")

    assert response.status_code == 200
    assert [r["passed"] for r in response.json()["results"]] == [False, True, False, True]
    assert sorted(request.body["customer.id"] for request in risk.received) == ["C-1", "C-2"]


def test_a_check_notes_the_providers_wait_on_its_access_line(api_client, risk, caplog):
    with caplog.at_level(logging.INFO, logger="config.access"):
        _check(api_client, _cart("250.00"), RISKY)
        _check(api_client, _cart("250.00"), "min_total_100")

    asked, plain = [r for r in caplog.records if r.getMessage() == "request served"]
    assert asked.providers_ms >= 0
    assert not hasattr(plain, "providers_ms")


def test_a_replay_reproduces_with_the_recorded_score_and_refresh_asks_again(
    api_client, admin_client, risk
):
    decision_id = _check(api_client, _cart("250.00"), RISKY).json()["decision_id"]
    risk.scores["C-1"] = 40
    caches["providers"].clear()
    reset_state()  # this process's answers too
    url = reverse("decisions:decision-replay", args=[decision_id])

    recorded = admin_client.post(url)
    refreshed = admin_client.post(f"{url}?refresh=true")

    assert len(risk.received) == 2
    assert recorded.json()["reproduced"] is True
    assert recorded.json()["now"]["passed"] is False
    assert (recorded.json()["refreshed"], recorded.json()["provided_changes"]) == (False, [])
    body = refreshed.json()
    assert (body["reproduced"], body["then"]["passed"], body["now"]["passed"]) == (
        True,
        False,
        True,
    )
    assert body["refreshed"] is True
    assert body["provided_changes"] == [{"fact": "risk.score", "recorded": 85, "now": 40}]
    assert body["differences"] == [
        {"rule": "risk_score_at_most", "then": "failed", "now": "passed"}
    ]


def test_a_replay_refresh_with_the_service_unconfigured_is_refused(
    api_client, admin_client, risk, settings
):
    decision_id = _check(api_client, _cart("250.00"), RISKY).json()["decision_id"]
    settings.RISK_SERVICE_URL = ""
    url = reverse("decisions:decision-replay", args=[decision_id])

    response = admin_client.post(f"{url}?refresh=true")

    assert response.status_code == 400
    assert response.json()["code"] == "provider_not_configured"


def test_a_backtest_reads_the_recorded_scores_and_calls_no_one(api_client, analyst, risk):
    published_ruleset("checkout", {"rule": "risk_score_at_most", "params": {"score": 70}})
    for customer in ("C-1", "C-2"):
        body = {"order": _cart("250.00", customer), "ruleset": "checkout"}
        assert api_client.post(CHECK, body, format="json").status_code == 200
    risk.stop()

    url = reverse("rules:ruleset-backtest", args=["checkout"])
    proposed = [{"name": "risk_score_at_most", "params": {"score": 90}}]
    response = analyst.post(url, {"rules": proposed}, format="json")

    assert response.status_code == 200
    data = response.json()
    assert (data["evaluated_in"], data["decisions"]) == ("python", 2)
    assert (data["passed_then"], data["passed_after"], data["fail_to_pass"]) == (1, 2, 1)
    assert len(risk.received) == 2
