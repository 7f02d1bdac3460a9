"""Rules that read facts from providers: declared needs, refusals, outcomes and the record.

What happens without calling a provider: the calls themselves, against a
real server, are tested in ``test_fetching.py`` and ``test_provider_checks.py``.
"""

from decimal import Decimal
from types import MappingProxyType

import pytest
from django.urls import reverse
from django.utils import timezone

from orders.facts import (
    OrderFacts,
    ProviderUnavailableError,
    Supplied,
    from_snapshot,
    provided_facts,
    snapshot,
)
from orders.tests.factories import OrderFactory
from rules.conditions import UnknownFactError, compile_condition
from rules.engine import Outcome, RuleSpec
from rules.models import ConditionRule
from rules.resolver import resolver
from rules.tests.factories import published_ruleset

CHECK = reverse("rules:rule-check")
RISKY = {"name": "risk_score_at_most", "params": {"score": 70}}
RISK_CONDITION = {"or": [{"<=": [{"var": "risk.score"}, 70]}, {"<=": [{"var": "total"}, 200]}]}


def _order(total: str = "250.00", **supplied: Supplied) -> OrderFacts:
    """Return a cart of *total* with what providers *supplied*, as a check gives it to rules."""
    order = OrderFacts(total=Decimal(total), items_count=1, created_at=timezone.now())
    order.supplied = MappingProxyType(supplied)
    order.provided = MappingProxyType(provided_facts(supplied))
    return order


def _scored(score: int) -> Supplied:
    """Return what the risk service supplies when it answers *score*."""
    return Supplied("risk", {"risk.score": score}, 12.5)


def _run(order: OrderFacts, *specs: RuleSpec, fail_fast: bool = False):
    check, _ = resolver.resolve(list(specs))
    return check.run(order, fail_fast=fail_fast)


RISK_70 = RuleSpec("risk_score_at_most", {"score": 70})


def test_a_rule_reading_a_provided_fact_sees_what_the_provider_answered():
    [above] = _run(_order(risk=_scored(85)), RISK_70).results
    [at] = _run(_order(risk=_scored(70)), RISK_70).results

    assert (above.outcome, above.message) == (Outcome.FAILED, "Risk score 85 is above 70.")
    assert above.facts == {"observed": 85, "required": 70, "excess": 15}
    assert (at.outcome, at.message) == (Outcome.PASSED, "Risk score 70 is at most 70.")


@pytest.mark.parametrize("score", [0, 69, 70, 71, 100])
def test_the_risk_rule_judges_as_it_evaluates_and_explains(score):
    rule = resolver.resolve([RISK_70]).check.rules[0].rule
    order = _order(risk=_scored(score))

    passed = rule.evaluate(order)

    assert rule.judge(order) == (passed, *rule.explain(order, passed))


def test_the_risk_rule_judging_an_order_without_a_score_raises_as_evaluating_does():
    rule = resolver.resolve([RISK_70]).check.rules[0].rule
    order = _order(risk=Supplied("risk", None, 300.0, error="timeout"))

    with pytest.raises(ProviderUnavailableError) as evaluated:
        rule.evaluate(order)
    with pytest.raises(ProviderUnavailableError) as judged:
        rule.judge(order)

    assert str(judged.value) == str(evaluated.value)


def test_a_provider_that_gave_nothing_makes_the_rules_that_need_it_err_saying_why():
    timed_out = Supplied("risk", None, 300.0, error="timeout", reference="ref-1")

    result = _run(_order(risk=timed_out), RISK_70, RuleSpec("min_total_100"))

    [risky, total] = result.results
    assert risky.outcome is Outcome.ERROR
    assert risky.message == (
        "Provider risk is unavailable (timeout), so risk.score is unknown."
        " Rule risk_score_at_most could not be evaluated."
    )
    assert risky.facts == {
        "missing": "risk.score",
        "code": "provider_unavailable",
        "provider": "risk",
        "reason": "timeout",
    }
    assert total.outcome is Outcome.PASSED
    assert (result.passed, result.erred) == (False, frozenset({"risk_score_at_most"}))


def test_a_fallback_stands_in_for_a_provider_that_could_not_answer():
    fallback = Supplied("risk", {"risk.score": 100}, 300.0, error="timeout", fallback=True)

    [result] = _run(_order(risk=fallback), RISK_70).results

    assert (result.outcome, result.facts["observed"]) == (Outcome.FAILED, 100)


def test_a_provided_fact_nobody_asked_for_errs_as_not_asked():
    [result] = _run(_order(), RISK_70).results

    assert result.outcome is Outcome.ERROR
    assert result.facts["reason"] == "not_asked"


def test_a_snapshot_keeps_what_each_provider_supplied_and_gives_it_back():
    order = _order(risk=Supplied("risk", {"risk.score": 85}, 12.3456, cache_hit=True))

    kept = snapshot(order)
    again = from_snapshot(kept)

    assert kept["providers"] == {
        "risk": {
            "values": {"risk.score": 85},
            "latency_ms": 12.346,
            "cache_hit": True,
            "error": None,
            "fallback": False,
            "reference": None,
        }
    }
    assert snapshot(again) == kept
    assert _run(again, RISK_70).results[0].facts["observed"] == 85


def test_a_snapshot_of_an_order_no_provider_was_asked_for_has_no_providers():
    assert "providers" not in snapshot(_order())


def test_a_check_knows_before_running_which_providers_its_rules_need():
    needing, _ = resolver.resolve([RISK_70, RuleSpec("min_total_100")])
    plain, _ = resolver.resolve(["min_total_100"])

    assert [provider.name for provider in needing.providers] == ["risk"]
    assert needing.needs == {"risk.score"}
    assert plain.providers == ()


@pytest.mark.parametrize(
    ("total", "rules", "expected"),
    [
        ("50.00", ["min_total_100", RISK_70], True),
        ("150.00", ["min_total_100", RISK_70], False),
        ("50.00", [RISK_70, "min_total_100"], False),
    ],
)
def test_under_fail_fast_a_check_knows_when_no_rule_needing_a_provider_can_run(
    total, rules, expected
):
    check, _ = resolver.resolve(rules)

    assert check.fails_before_providers(_order(total)) is expected


def test_a_condition_reading_a_provided_fact_needs_its_provider_and_has_no_sql():
    condition = compile_condition(RISK_CONDITION)

    assert condition.needs == {"risk.score"}
    assert condition.reads == {"risk.score", "total"}
    assert condition.evaluate(_order(risk=_scored(85))) is False
    assert condition.evaluate(_order("200.00", risk=_scored(85))) is True


def test_a_condition_default_stands_in_for_a_provider_that_gave_nothing():
    condition = compile_condition({"<=": [{"var": ["risk.score", 100]}, 70]})
    down = Supplied("risk", None, 1.0, error="breaker_open")

    assert condition.evaluate(_order(risk=down)) is False


def test_a_condition_misspelling_a_provided_fact_is_refused_naming_it():
    with pytest.raises(UnknownFactError) as excinfo:
        compile_condition({"<=": [{"var": "risk.scor"}, 70]})

    assert excinfo.value.nearest == "risk.score"


@pytest.mark.django_db
def test_the_rule_list_says_what_a_rule_needs_and_whether_it_is_configured(api_client, settings):
    ConditionRule.objects.create(
        name="low_risk_or_small", description="Low risk, or small.", condition=RISK_CONDITION
    )
    settings.RISK_SERVICE_URL = ""

    rules = {rule["name"]: rule for rule in api_client.get(reverse("rules:rule-list")).json()}
    settings.RISK_SERVICE_URL = "http://127.0.0.1:9/score"
    configured = {r["name"]: r for r in api_client.get(reverse("rules:rule-list")).json()}

    assert rules["risk_score_at_most"]["needs"] == ["risk.score"]
    assert rules["low_risk_or_small"]["needs"] == ["risk.score"]
    assert rules["min_total_100"]["needs"] == []
    assert [rules[name]["configured"] for name in ("risk_score_at_most", "min_total_100")] == [
        False,
        True,
    ]
    assert configured["risk_score_at_most"]["configured"] is True
    assert rules["risk_score_at_most"]["examples"][1] == {
        "order": {"total": "250.00", "items_count": 1},
        "params": {"score": 70},
        "provided": {"risk.score": 71},
        "expected": "failed",
    }


@pytest.mark.django_db
@pytest.mark.parametrize("stored", [False, True])
def test_a_check_naming_rules_that_need_an_unconfigured_provider_is_refused(
    api_client, settings, stored
):
    settings.RISK_SERVICE_URL = ""
    if stored:
        ConditionRule.objects.create(
            name="low_risk_or_small", description="Low risk, or small.", condition=RISK_CONDITION
        )
    rule = "low_risk_or_small" if stored else RISKY
    body = {"order": {"total": "250.00", "items_count": 1}, "rules": ["min_total_100", rule]}

    response = api_client.post(CHECK, body, format="json")

    key = "low_risk_or_small" if stored else "risk_score_at_most"
    assert response.status_code == 400
    assert response.json() == {
        "error": "Provider not configured",
        "code": "provider_not_configured",
        "detail": {
            "message": "Provider(s) not configured: risk (set RISK_SERVICE_URL)",
            "providers": {"risk": [key]},
        },
    }


@pytest.mark.django_db
@pytest.mark.parametrize("endpoint", ["query", "report", "preview"])
def test_analysis_over_stored_orders_refuses_rules_that_need_providers(analyst, endpoint):
    OrderFactory()
    published_ruleset("checkout", "min_total_100")
    url = {
        "query": reverse("rules:rule-query"),
        "report": reverse("rules:rule-report"),
        "preview": reverse("rules:ruleset-preview", args=["checkout"]),
    }[endpoint]
    body = {"rules": ["min_total_100", RISKY]}
    if endpoint == "query":
        body["outcome"] = "passed"

    response = analyst.post(url, body, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "error": "Rules need providers",
        "code": "not_in_database",
        "detail": {
            "message": "These rules need facts from providers, which stored orders do not hold:"
            " risk_score_at_most (risk.score). Check orders one at a time (POST /rules/check/)"
            " instead.",
            "rules": {"risk_score_at_most": ["risk.score"]},
        },
    }


@pytest.mark.django_db
@pytest.mark.parametrize(
    "smuggled", [{"providers": {"risk": {"values": {"risk.score": 0}}}}, {"risk": {"score": 0}}]
)
def test_a_cart_cannot_give_a_fact_a_provider_supplies(api_client, settings, smuggled):
    settings.RISK_SERVICE_URL = "http://127.0.0.1:9/score"
    order = {"total": "250.00", "items_count": 1, **smuggled}

    response = api_client.post(CHECK, {"order": order, "rules": [RISKY]}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_request"
    assert list(response.json()["detail"]["order"]) == list(smuggled)
