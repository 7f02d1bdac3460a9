"""What the rules API counts: checks, rule outcomes, budget refusals and report rows."""

import pytest
from django.urls import reverse

from config.tests.scrapes import labels
from rules.engine import BaseRule
from rules.tests.factories import published_ruleset

pytestmark = pytest.mark.django_db

CHECK = reverse("rules:rule-check")
BATCH = reverse("rules:rule-check-batch")
REPORT = reverse("rules:rule-report")


@pytest.fixture
def checkout(db):
    """Create an active rule set that asks for two items."""
    return published_ruleset("checkout", "min_items_2")


def test_a_check_is_counted_by_verdict_and_each_rule_by_its_name_not_its_key(
    api_client, seeded, scrape
):
    before = scrape()
    rules = ["min_total_100", {"name": "min_items", "params": {"count": 1}, "as": "one_item"}]

    response = api_client.post(CHECK, {"order_id": seeded[1].pk, "rules": rules}, format="json")
    after = scrape()

    assert response.status_code == 200
    assert response.json()["details"] == {"min_total_100": False, "one_item": True}
    assert after.growth(before, "rule_engine_checks_total") == {
        labels(outcome="failed", source="rules"): 1
    }
    assert after.growth(before, "rule_engine_rule_results_total") == {
        labels(rule="min_total_100", outcome="failed"): 1,
        labels(rule="min_items", outcome="passed"): 1,
    }


def test_a_check_of_a_rule_set_is_counted_as_such(api_client, seeded, checkout, scrape):
    before = scrape()

    response = api_client.post(
        CHECK, {"order_id": seeded[0].pk, "ruleset": "checkout"}, format="json"
    )
    after = scrape()

    assert response.status_code == 200
    assert response.json()["passed"] is True
    assert after.growth(before, "rule_engine_checks_total") == {
        labels(outcome="passed", source="ruleset"): 1
    }


def test_rules_that_error_or_are_skipped_are_counted_so(api_client, seeded, scrape):
    class ExplodingRule(BaseRule):
        name = "exploding"
        description = "Always raises."

        def evaluate(self, order):
            raise RuntimeError("boom")

    before = scrape()

    response = api_client.post(
        CHECK,
        {"order_id": seeded[0].pk, "rules": ["exploding", "min_items_2"], "fail_fast": True},
        format="json",
    )
    after = scrape()

    assert response.status_code == 200
    assert after.growth(before, "rule_engine_rule_results_total") == {
        labels(rule="exploding", outcome="error"): 1,
        labels(rule="min_items_2", outcome="skipped"): 1,
    }


def test_a_batch_counts_one_check_per_order_found(api_client, seeded, scrape):
    before = scrape()
    ids = [*(order.pk for order in seeded), 999_999]

    response = api_client.post(
        BATCH, {"order_ids": ids, "rules": ["min_total_100"]}, format="json"
    )
    after = scrape()

    assert response.status_code == 200
    assert response.json()["summary"]["missing"] == [999_999]
    assert after.growth(before, "rule_engine_checks_total") == {
        labels(outcome="passed", source="rules"): 2,
        labels(outcome="failed", source="rules"): 1,
    }
    assert after.growth(before, "rule_engine_rule_results_total") == {
        labels(rule="min_total_100", outcome="passed"): 2,
        labels(rule="min_total_100", outcome="failed"): 1,
    }


def test_requests_over_their_budget_are_counted_by_kind(
    api_client, analyst, seeded, settings, scrape
):
    settings.BATCH_MAX_CELLS = 1
    settings.REPORT_MAX_CELLS = 1
    before = scrape()

    batch = api_client.post(
        BATCH, {"order_ids": [o.pk for o in seeded], "rules": ["min_total_100"]}, format="json"
    )
    report = analyst.post(REPORT, {"rules": ["min_total_100"]}, format="json")
    after = scrape()

    assert (batch.status_code, report.status_code) == (413, 413)
    assert after.growth(before, "rule_engine_budget_refusals_total") == {
        labels(kind="batch_too_large"): 1,
        labels(kind="report_too_large"): 1,
    }
    assert after.growth(before, "rule_engine_checks_total") == {}


def test_report_rows_and_bytes_are_counted_as_they_stream(analyst, seeded, scrape):
    before = scrape()

    response = analyst.post(
        REPORT, {"rules": ["min_total_100"]}, format="json", HTTP_ACCEPT="text/csv"
    )
    body = b"".join(response.streaming_content)
    after = scrape()

    assert response.status_code == 200
    assert body.count(b"\n") == 1 + len(seeded)
    assert after.growth(before, "rule_engine_report_rows_total") == {labels(): len(seeded)}
    assert after.growth(before, "rule_engine_report_bytes_total") == {labels(): len(body)}


def test_a_report_cut_short_by_its_time_budget_is_counted(analyst, seeded, settings, scrape):
    settings.REPORT_MAX_SECONDS = -1
    before = scrape()

    response = analyst.post(REPORT, {"rules": ["min_total_100"]}, format="json")
    last = b"".join(response.streaming_content).splitlines()[-1]
    after = scrape()

    assert response.status_code == 200
    assert b'"code": "report_timeout"' in last
    assert after.growth(before, "rule_engine_budget_refusals_total") == {
        labels(kind="report_timeout"): 1
    }
