import logging
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from decisions.models import OUTCOMES, Decision
from orders.facts import snapshot_aliases
from orders.models import Order
from orders.tests.factories import OrderFactory
from rules.engine import BaseRule, Outcome, RuleSpec
from rules.models import ConditionRule, RuleSet
from rules.resolver import resolver
from rules.services import ruleset_publish
from rules.tests.factories import published_ruleset, unknown_rules_error

pytestmark = pytest.mark.django_db

CHECK = reverse("rules:rule-check")
BATCH = reverse("rules:rule-check-batch")
BUILT_INS = ["min_total_100", "min_items_2", "divisible_by_5"]


def _replay(pk: int) -> str:
    return reverse("decisions:decision-replay", args=[pk])


def _record(client, pk: int) -> dict:
    response = client.get(reverse("decisions:decision-detail", args=[pk]))
    assert response.status_code == 200
    return response.json()


def _time(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


@pytest.fixture
def order(db) -> Order:
    return OrderFactory(total=Decimal("75.50"), items_count=1)


@pytest.fixture
def checkout(db) -> RuleSet:
    """Return an active rule set of two rules, published as version 1."""
    big = {"rule": "total_greater_than", "params": {"amount": "50.00"}, "alias": "big"}
    return published_ruleset("checkout", "min_items_2", {**big, "severity": "warning"})


@pytest.fixture
def stored_rule(db) -> ConditionRule:
    return ConditionRule.objects.create(
        name="over_70", description="Total over 70.", condition={">": [{"var": "total"}, "70"]}
    )


# Recording


def test_the_record_knows_the_engines_outcomes_and_no_other():
    """The decision log keeps its own copy: it knows nothing of rules."""
    assert tuple(outcome.value for outcome in Outcome) == OUTCOMES


def test_a_check_answers_with_its_stored_decision_which_holds_the_whole_record(
    api_client, analyst, order
):
    body = {
        "order_id": order.pk,
        "rules": ["min_total_100", {"name": "min_items", "params": {"count": 1}, "as": "one"}],
    }

    response = api_client.post(CHECK, body, format="json", HTTP_X_REQUEST_ID="req-1")

    decision = Decision.objects.get()
    assert response.status_code == 200
    assert response["X-Decision-ID"] == str(decision.pk)
    assert response.json()["decision_id"] == decision.pk
    assert _record(analyst, decision.pk) == {
        "id": decision.pk,
        "decided_at": _time(decision.decided_at),
        "caller": "anonymous",
        "request_id": "req-1",
        "order_id": order.pk,
        "order": {
            "total": "75.50",
            "items_count": 1,
            "created_at": _time(order.created_at),
            "updated_at": _time(order.updated_at),
            "currency": "EUR",
        },
        "ruleset": None,
        "rules": [
            {"name": "min_total_100", "params": {}, "as": None, "severity": None, "stored": None},
            {
                "name": "min_items",
                "params": {"count": 1},
                "as": "one",
                "severity": None,
                "stored": None,
            },
        ],
        "fail_fast": False,
        "results": [
            {
                "rule": "min_total_100",
                "name": "min_total_100",
                "params": {"amount": "100.00"},
                "outcome": "failed",
                "severity": "error",
                "message": "Total 75.50 is not greater than 100.00.",
                "facts": {"observed": "75.50", "required": "100.00", "shortfall": "24.51"},
            },
            {
                "rule": "one",
                "name": "min_items",
                "params": {"count": 1},
                "outcome": "passed",
                "severity": "error",
                "message": "Order has 1 item; at least 1 required.",
                "facts": {"observed": 1, "required": 1},
            },
        ],
        "outcomes": {"min_total_100": "failed", "one": "passed"},
        "passed": False,
    }


def test_a_check_of_a_rule_set_records_its_name_and_version(analyst, api_client, order, checkout):
    response = api_client.post(CHECK, {"order_id": order.pk, "ruleset": "checkout"}, format="json")

    assert response.status_code == 200
    record = _record(analyst, response.json()["decision_id"])
    assert (record["ruleset"], record["rules"]) == ({"name": "checkout", "version": 1}, None)
    assert record["outcomes"] == {"min_items_2": "failed", "big": "passed"}


def test_an_ad_hoc_order_is_recorded_with_no_id_and_no_update_time(analyst, api_client):
    body = {
        "order": {"total": "10.00", "items_count": 2, "created_at": "2026-11-21T10:00:00Z"},
        "rules": ["min_items_2"],
    }

    response = api_client.post(CHECK, body, format="json")

    assert response.status_code == 200
    record = _record(analyst, response.json()["decision_id"])
    assert (record["order_id"], record["order"]) == (
        None,
        {
            "total": "10.00",
            "items_count": 2,
            "created_at": "2026-11-21T10:00:00Z",
            "updated_at": None,
            "currency": "EUR",
        },
    )
    assert Order.objects.count() == 0


def test_a_listed_stored_condition_rule_is_recorded_as_it_ran(
    analyst, api_client, order, stored_rule
):
    response = api_client.post(CHECK, {"order_id": order.pk, "rules": ["over_70"]}, format="json")

    assert response.status_code == 200
    [item] = _record(analyst, response.json()["decision_id"])["rules"]
    assert item["stored"] == {
        "description": "Total over 70.",
        "severity": "error",
        "condition": {">": [{"var": "total"}, "70"]},
    }


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        (
            {"rules": ["nope"]},
            400,
            unknown_rules_error("nope"),
        ),
        (
            {"rules": []},
            400,
            {
                "error": "Bad Request",
                "code": "invalid_request",
                "detail": {"rules": ["Ensure this field has at least 1 elements."]},
            },
        ),
        (
            {"order_id": 999_999, "rules": ["min_items_2"]},
            404,
            {
                "error": "Not Found",
                "code": "not_found",
                "detail": "Order with id 999999 does not exist.",
            },
        ),
        (
            {"ruleset": "none"},
            404,
            {
                "error": "Unknown rule set",
                "code": "unknown_ruleset",
                "detail": "No active rule set named 'none'.",
            },
        ),
    ],
)
def test_a_refused_check_records_nothing(api_client, order, body, status, error):
    response = api_client.post(CHECK, {"order_id": order.pk, **body}, format="json")

    assert response.status_code == status
    assert response.json() == error
    assert Decision.objects.count() == 0


def test_each_batch_entry_has_its_own_decision(api_client, order):
    other = OrderFactory()
    ids = [order.pk, 999, other.pk]

    response = api_client.post(BATCH, {"order_ids": ids, "rules": BUILT_INS}, format="json")

    assert response.status_code == 200
    entries = response.json()["results"]
    decisions = {d.pk: d for d in Decision.objects.all()}
    assert sorted(entry["decision_id"] for entry in entries) == sorted(decisions)
    for entry in entries:
        decision = decisions[entry["decision_id"]]
        assert (decision.order_id, decision.passed) == (entry["order_id"], entry["passed"])
        assert decision.outcomes == {
            key: "passed" if verdict else "failed" for key, verdict in entry["details"].items()
        }
    assert "X-Decision-ID" not in response


@pytest.mark.parametrize(("mode", "kept"), [("failed", [False, True]), ("off", [False, False])])
def test_a_check_the_decision_log_leaves_out_has_a_null_id_and_no_header(
    api_client, settings, mode, kept
):
    settings.DECISION_LOG = mode
    passing, failing = OrderFactory(), OrderFactory(items_count=1)
    responses = [
        api_client.post(CHECK, {"order_id": o.pk, "rules": ["min_items_2"]}, format="json")
        for o in (passing, failing)
    ]

    assert [r.status_code for r in responses] == [200, 200]
    assert [r.json()["decision_id"] is not None for r in responses] == kept
    assert ["X-Decision-ID" in r for r in responses] == kept
    assert Decision.objects.count() == sum(kept)


@pytest.mark.parametrize("mode", ["failed", "off"])
def test_a_batch_entry_the_decision_log_leaves_out_has_a_null_id(api_client, settings, mode):
    settings.DECISION_LOG = mode
    passing, failing = OrderFactory(), OrderFactory(items_count=1)

    response = api_client.post(
        BATCH, {"order_ids": [passing.pk, failing.pk], "rules": ["min_items_2"]}, format="json"
    )

    assert response.status_code == 200
    [first, second] = response.json()["results"]
    assert first["decision_id"] is None
    assert (second["decision_id"] is None) is (mode == "off")


@pytest.mark.parametrize(
    "spec",
    [
        RuleSpec("min_total_100"),
        RuleSpec("min_items_2"),
        RuleSpec("divisible_by_5"),
        RuleSpec("is_weekend_order"),
        RuleSpec("total_at_most", {"amount": "99.99"}),
    ],
    ids=lambda spec: spec.name,
)
def test_a_rules_database_filter_selects_the_decisions_whose_order_it_passes(api_client, spec):
    """Queries over decisions read facts from snapshots by name: a rule's SQL applies to them."""
    placed = [
        ("99.99", 1, datetime(2026, 11, 20, 23, 59, tzinfo=UTC)),
        ("100.00", 2, datetime(2026, 11, 21, 0, 0, tzinfo=UTC)),
        ("100.01", 3, datetime(2026, 11, 22, 12, 0, tzinfo=UTC)),
        ("75.50", 2, datetime(2026, 11, 23, 0, 0, tzinfo=UTC)),
        ("5.00", 1, datetime(2026, 11, 24, 0, 0, tzinfo=UTC)),
    ]
    ids = []
    for total, items_count, created_at in placed:
        order = OrderFactory(total=Decimal(total), items_count=items_count)
        Order.objects.filter(pk=order.pk).update(created_at=created_at)
        ids.append(order.pk)
    batch = api_client.post(BATCH, {"order_ids": ids, "rules": ["min_items_2"]}, format="json")
    [bound] = resolver.resolve([spec]).check.rules

    in_python = {d.pk for d in Decision.objects.all() if bound.rule.evaluate(Order(**d.order))}
    as_orders = Decision.objects.alias(**snapshot_aliases("snapshot"))
    in_database = set(as_orders.filter(bound.rule.as_q()).values_list("pk", flat=True))

    assert batch.status_code == 200
    assert in_database == in_python
    assert 0 < len(in_python) < len(placed)


# Replaying


def test_replay_of_an_unchanged_decision_reproduces_it(analyst, api_client, order, checkout):
    decision_id = api_client.post(
        CHECK, {"order_id": order.pk, "ruleset": "checkout"}, format="json"
    ).json()["decision_id"]
    recorded = _record(analyst, decision_id)

    response = analyst.post(_replay(decision_id))

    run = {
        "ruleset": {"name": "checkout", "version": 1},
        "passed": False,
        "results": recorded["results"],
    }
    assert response.status_code == 200
    assert response.json() == {
        "reproduced": True,
        "then": run,
        "now": run,
        "differences": [],
        "refreshed": False,
        "provided_changes": [],
    }
    assert Decision.objects.count() == 1


def test_replay_after_a_rule_set_change_runs_then_and_now_and_names_the_changes(
    analyst, api_client, order, checkout
):
    decision_id = api_client.post(
        CHECK, {"order_id": order.pk, "ruleset": "checkout"}, format="json"
    ).json()["decision_id"]
    checkout.items.filter(rule="min_items_2").update(rule="max_items", params={"count": 5})
    big = checkout.items.get(alias="big")
    big.params = {"amount": "80.00"}
    big.save()
    ruleset_publish(ruleset=checkout)

    response = analyst.post(_replay(decision_id))

    assert response.status_code == 200
    body = response.json()
    assert body["reproduced"] is True
    assert body["then"]["ruleset"] == {"name": "checkout", "version": 1}
    assert body["now"]["ruleset"] == {"name": "checkout", "version": 2}
    assert [r["rule"] for r in body["now"]["results"]] == ["max_items", "big"]
    assert (body["then"]["passed"], body["now"]["passed"]) == (False, True)
    assert body["differences"] == [
        {"rule": "min_items_2", "then": "failed", "now": None},
        {"rule": "big", "then": "passed", "now": "failed"},
        {"rule": "max_items", "then": None, "now": "passed"},
    ]


def test_replay_of_listed_rules_runs_a_stored_condition_as_it_was_then_and_as_it_is_now(
    analyst, api_client, order, stored_rule
):
    decision_id = api_client.post(
        CHECK, {"order_id": order.pk, "rules": ["over_70"]}, format="json"
    ).json()["decision_id"]
    stored_rule.condition = {">": [{"var": "total"}, "80"]}
    stored_rule.save()

    response = analyst.post(_replay(decision_id))

    assert response.status_code == 200
    body = response.json()
    assert body["reproduced"] is True
    assert (body["then"]["passed"], body["now"]["passed"]) == (True, False)
    assert body["differences"] == [{"rule": "over_70", "then": "passed", "now": "failed"}]


def test_replay_of_a_fail_fast_check_skips_as_the_check_did(analyst, api_client, order):
    body = {"order_id": order.pk, "rules": BUILT_INS, "fail_fast": True}
    decision_id = api_client.post(CHECK, body, format="json").json()["decision_id"]

    response = analyst.post(_replay(decision_id))

    assert response.status_code == 200
    replay = response.json()
    assert replay["reproduced"] is True
    assert [r["outcome"] for r in replay["then"]["results"]] == ["failed", "skipped", "skipped"]


def test_replay_of_a_rule_that_errs_reproduces_though_its_reference_is_new(
    analyst, api_client, order
):
    class ExplodingRule(BaseRule):
        name = "exploding"
        description = "Always raises."

        def evaluate(self, order):
            raise RuntimeError("boom")

    decision_id = api_client.post(
        CHECK, {"order_id": order.pk, "rules": ["exploding"]}, format="json"
    ).json()["decision_id"]

    response = analyst.post(_replay(decision_id))

    recorded = _record(analyst, decision_id)["results"][0]["message"]
    assert response.status_code == 200
    replay = response.json()
    assert replay["reproduced"] is True
    assert replay["then"]["results"][0]["outcome"] == "error"
    assert replay["then"]["results"][0]["message"] != recorded


def test_a_replay_that_does_not_reproduce_says_so_and_logs_an_error(
    analyst, api_client, order, caplog
):
    class ThresholdRule(BaseRule):
        name = "over_threshold"
        description = "Total over a threshold that the code may change."
        threshold = Decimal("50.00")

        def evaluate(self, order):
            return order.total > self.threshold

    decision_id = api_client.post(
        CHECK, {"order_id": order.pk, "rules": ["over_threshold", "min_items_2"]}, format="json"
    ).json()["decision_id"]
    ThresholdRule.threshold = Decimal("90.00")

    with caplog.at_level(logging.ERROR, logger="rules.recording"):
        response = analyst.post(_replay(decision_id))

    assert response.status_code == 200
    body = response.json()
    assert body["reproduced"] is False
    assert body["differences"] == []
    [line] = [r for r in caplog.records if r.getMessage() == "decision not reproduced"]
    assert (line.levelname, line.decision_id, line.rules) == (
        "ERROR",
        decision_id,
        ["over_threshold"],
    )


def test_replay_of_a_missing_decision_is_a_404(analyst):
    response = analyst.post(_replay(999))

    assert response.status_code == 404
    assert response.json() == {
        "error": "Not Found",
        "code": "not_found",
        "detail": "Decision with id 999 does not exist.",
    }


def test_replay_of_a_decision_whose_rule_set_is_inactive_now_is_a_404(
    analyst, api_client, order, checkout
):
    decision_id = api_client.post(
        CHECK, {"order_id": order.pk, "ruleset": "checkout"}, format="json"
    ).json()["decision_id"]
    RuleSet.objects.filter(pk=checkout.pk).update(active=False)

    response = analyst.post(_replay(decision_id))

    assert response.status_code == 404
    assert response.json() == {
        "error": "Unknown rule set",
        "code": "unknown_ruleset",
        "detail": "No active rule set named 'checkout'.",
    }
