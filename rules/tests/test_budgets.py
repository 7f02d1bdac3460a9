"""No request costs more than its budget: batches and reports are refused or cut short."""

import csv
import io
import json
from decimal import Decimal

import pytest
from django.urls import reverse

from decisions.models import Decision
from orders.tests.factories import OrderFactory
from rules.reports import JSON_LINES, report_lines

pytestmark = pytest.mark.django_db

CHECK = reverse("rules:rule-check")
BATCH = reverse("rules:rule-check-batch")
REPORT = reverse("rules:rule-report")
TWO_RULES = ["min_total_100", "min_items_2"]


@pytest.fixture
def orders(db):
    """Store five orders."""
    return [OrderFactory(total=Decimal("150.00"), items_count=3) for _ in range(5)]


def _lines(response) -> list[str]:
    return b"".join(response.streaming_content).decode().splitlines()


def test_a_batch_at_its_budget_is_checked(api_client, orders, settings):
    settings.BATCH_MAX_CELLS = 10

    response = api_client.post(
        BATCH, {"order_ids": [o.pk for o in orders], "rules": TWO_RULES}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["summary"]["passed"] == 5


@pytest.mark.parametrize("setting", ["BATCH_MAX_CELLS", "BATCH_ANONYMOUS_MAX_CELLS"])
def test_a_batch_over_its_budget_is_refused_naming_the_limit_and_writes_nothing(
    api_client, orders, settings, setting
):
    setattr(settings, setting, 9)

    response = api_client.post(
        BATCH, {"order_ids": [o.pk for o in orders], "rules": TWO_RULES}, format="json"
    )

    assert response.status_code == 413
    assert response.json() == {
        "error": "Batch too large",
        "code": "batch_too_large",
        "detail": {
            "message": f"10 orders x rules asked for; at most 9 are allowed ({setting}). "
            "Ask for fewer orders or rules, or narrow the filters.",
            "cells": 10,
            "limit": 9,
        },
    }
    assert not Decision.objects.exists()


def test_a_batch_with_a_key_has_the_larger_budget(api_client, make_key, orders, settings):
    settings.BATCH_ANONYMOUS_MAX_CELLS = 9
    _, key = make_key("checkout", ["check"])
    api_client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")

    response = api_client.post(
        BATCH, {"order_ids": [o.pk for o in orders], "rules": TWO_RULES}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["summary"]["passed"] == 5


def test_an_anonymous_budget_above_the_batch_budget_does_not_raise_it(
    api_client, orders, settings
):
    settings.BATCH_MAX_CELLS = 9
    settings.BATCH_ANONYMOUS_MAX_CELLS = 1000

    response = api_client.post(
        BATCH, {"order_ids": [o.pk for o in orders], "rules": TWO_RULES}, format="json"
    )

    assert response.status_code == 413
    assert response.json()["detail"]["limit"] == 9


def test_a_report_over_its_budget_is_refused_before_anything_streams(analyst, orders, settings):
    settings.REPORT_MAX_CELLS = 9

    response = analyst.post(REPORT, {"rules": TWO_RULES}, format="json")

    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "report_too_large"
    assert response.json()["detail"]["limit"] == 9


def test_a_reports_budget_counts_only_the_orders_its_filters_select(analyst, orders, settings):
    settings.REPORT_MAX_CELLS = 4
    big = OrderFactory(total=Decimal("150.00"), items_count=5)

    everything = analyst.post(REPORT, {"rules": TWO_RULES}, format="json")
    narrowed = analyst.post(
        REPORT, {"rules": TWO_RULES, "filters": {"items_min": 5}}, format="json"
    )

    assert everything.status_code == 413
    assert narrowed.status_code == 200
    assert [json.loads(line) for line in _lines(narrowed)][1:] == [[big.pk, True, True, True]]


def test_a_report_past_its_time_ends_with_an_error_record(analyst, orders, settings):
    settings.REPORT_MAX_SECONDS = 0

    response = analyst.post(REPORT, {"rules": TWO_RULES}, format="json")

    lines = [json.loads(line) for line in _lines(response)]
    assert response.status_code == 200
    assert lines[0] == {"columns": ["order_id", *TWO_RULES, "passed"]}
    assert [line[0] for line in lines[1:-1]] == [o.pk for o in orders]
    assert lines[-1] == {
        "error": "Report cut short",
        "code": "report_timeout",
        "request_id": response["X-Request-ID"],
    }


def test_a_csv_report_past_its_time_ends_with_a_comment_line(analyst, orders, settings):
    settings.REPORT_MAX_SECONDS = 0

    response = analyst.post(REPORT, {"rules": TWO_RULES}, format="json", HTTP_ACCEPT="text/csv")

    # The status went out with the header row, before time ran out.
    assert response.status_code == 200
    lines = _lines(response)
    rows = list(csv.reader(io.StringIO("\n".join(lines[:-1]))))
    assert rows[0] == ["order_id", *TWO_RULES, "passed"]
    assert len(rows) == 1 + len(orders)
    assert lines[-1] == (
        f"# error: Report cut short; code: report_timeout; request_id: {response['X-Request-ID']}"
    )


def test_a_key_of_64_characters_is_taken(api_client, orders):
    key = "k" * 64

    response = api_client.post(
        CHECK,
        {"order_id": orders[0].pk, "rules": [{"name": "min_items_2", "as": key}]},
        format="json",
    )

    assert response.status_code == 200
    assert response.json()["details"] == {key: True}


def test_a_key_over_64_characters_is_a_400_naming_the_field(api_client, orders):
    response = api_client.post(
        CHECK,
        {"order_id": orders[0].pk, "rules": [{"name": "min_items_2", "as": "k" * 65}]},
        format="json",
    )

    assert response.status_code == 400
    assert response.json() == {
        "error": "Bad Request",
        "code": "invalid_request",
        "detail": {"rules": {"0": {"as": ["Ensure this field has no more than 64 characters."]}}},
    }


# Every built-in rule, with its parameters.
BUILT_IN_RULES = [
    {"name": "total_greater_than", "params": {"amount": "100.00"}},
    {"name": "total_at_most", "params": {"amount": "5000.00"}},
    {"name": "min_items", "params": {"count": 2}},
    {"name": "max_items", "params": {"count": 50}},
    {"name": "total_divisible_by", "params": {"divisor": "5.00"}},
    "is_weekend_order",
    "min_total_100",
    "min_items_2",
    "divisible_by_5",
]


def _bytes_refusal(code: str, title: str, asked: int, limit: int, setting: str) -> dict:
    """Return the 413 body of a byte budget."""
    return {
        "error": title,
        "code": code,
        "detail": {
            "message": f"{asked:,} bytes asked for; at most {limit:,} are allowed ({setting}). "
            "Ask for fewer orders or rules, or narrow the filters.",
            "bytes": asked,
            "limit": limit,
        },
    }


def test_a_keyed_batch_of_1000_orders_with_every_built_in_rule_is_within_the_defaults(
    api_client, make_key
):
    ids = [order.pk for order in OrderFactory.create_batch(1000)]
    _, key = make_key("checkout", ["check"])
    api_client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")

    response = api_client.post(BATCH, {"order_ids": ids, "rules": BUILT_IN_RULES}, format="json")

    assert response.status_code == 200
    assert len(response.json()["results"]) == 1000
    assert Decision.objects.count() == 1000


def test_a_batch_answer_is_measured_before_anything_is_written(api_client, orders, settings):
    body = {"order_ids": [o.pk for o in orders], "rules": TWO_RULES}
    settings.DECISION_LOG = "off"
    unrecorded = api_client.post(BATCH, body, format="json")
    # Each decision id, null until written, is counted at its 19 digits at most.
    size = len(unrecorded.content) + 15 * len(orders)
    settings.DECISION_LOG = "all"
    settings.BATCH_MAX_BYTES = size - 1

    refused = api_client.post(BATCH, body, format="json")

    assert refused.status_code == 413
    assert refused.json() == _bytes_refusal(
        "batch_too_large", "Batch too large", size, size - 1, "BATCH_MAX_BYTES"
    )
    assert not Decision.objects.exists()
    settings.BATCH_MAX_BYTES = size
    assert api_client.post(BATCH, body, format="json").status_code == 200


def test_a_batch_whose_decisions_are_over_their_budget_writes_none(api_client, orders, settings):
    body = {"order_ids": [o.pk for o in orders], "rules": TWO_RULES}
    settings.DECISION_LOG_MAX_BYTES = 1

    refused = api_client.post(BATCH, body, format="json")
    size = refused.json()["detail"]["bytes"]
    settings.DECISION_LOG_MAX_BYTES = size - 1
    refused_again = api_client.post(BATCH, body, format="json")
    nothing_written = not Decision.objects.exists()
    settings.DECISION_LOG_MAX_BYTES = size
    taken = api_client.post(BATCH, body, format="json")

    assert refused_again.status_code == 413
    assert refused_again.json() == _bytes_refusal(
        "batch_too_large", "Batch too large", size, size - 1, "DECISION_LOG_MAX_BYTES"
    )
    assert nothing_written
    assert taken.status_code == 200
    assert Decision.objects.count() == len(orders)


def test_a_check_whose_decision_is_over_its_budget_is_a_413_and_writes_nothing(
    api_client, orders, settings
):
    settings.DECISION_LOG_MAX_BYTES = 100

    response = api_client.post(
        CHECK, {"order_id": orders[0].pk, "rules": TWO_RULES}, format="json"
    )

    size = response.json()["detail"]["bytes"]
    assert size > 100
    assert response.status_code == 413
    assert response.json() == _bytes_refusal(
        "request_too_large", "Request Entity Too Large", size, 100, "DECISION_LOG_MAX_BYTES"
    )
    assert not Decision.objects.exists()


def _longest_report(orders: list, content_type: str) -> int:
    """Return the bytes of a report of TWO_RULES over *orders*, each row at its longest."""
    columns = ["order_id", *TWO_RULES, "passed"]
    last = max(order.pk for order in orders)
    if content_type == "text/csv":
        return len(",".join(columns) + "\n") + len(orders) * len(f"{last},false,false,false\n")
    header = json.dumps({"columns": columns}) + "\n"
    return len(header) + len(orders) * len(f"[{last},false,false,false]\n")


@pytest.mark.parametrize("accept", ["application/x-ndjson", "text/csv"])
def test_a_report_that_could_be_longer_than_its_byte_budget_is_refused_up_front(
    analyst, orders, settings, accept
):
    size = _longest_report(orders, accept)
    settings.REPORT_MAX_BYTES = size - 1

    refused = analyst.post(REPORT, {"rules": TWO_RULES}, format="json", HTTP_ACCEPT=accept)
    settings.REPORT_MAX_BYTES = size
    taken = analyst.post(REPORT, {"rules": TWO_RULES}, format="json", HTTP_ACCEPT=accept)

    assert refused.status_code == 413
    assert refused["Content-Type"] == "application/json"
    assert refused.json() == _bytes_refusal(
        "report_too_large", "Report too large", size, size - 1, "REPORT_MAX_BYTES"
    )
    assert taken.status_code == 200
    assert len(_lines(taken)) == 1 + len(orders)


def test_a_report_that_grows_past_its_byte_budget_as_it_streams_ends_with_an_error_record():
    """Orders added while a report streams can take it past the budget its count was given."""
    header = ["order_id", *TWO_RULES, "passed"]
    first, added = [(1, True, True, True)], [(2, False, True, False)]
    budget = len(
        b'{"columns": ["order_id", "min_total_100", "min_items_2", "passed"]}\n'
        b"[1,true,true,true]\n"
    )

    body = b"".join(
        report_lines(
            header,
            iter([first, added]),
            content_type=JSON_LINES,
            seconds=60,
            max_bytes=budget,
            request_id="report-1",
        )
    )

    assert [json.loads(line) for line in body.splitlines()] == [
        {"columns": header},
        [1, True, True, True],
        {"error": "Report too large", "code": "report_too_large", "request_id": "report-1"},
    ]
