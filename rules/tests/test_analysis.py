import csv
import io
import json
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Q, Value
from django.db.models.functions import Abs
from django.db.models.lookups import GreaterThan
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from orders.models import Order, OrderLine
from orders.tests.factories import OrderFactory
from rules import analysis
from rules.engine import BaseRule
from rules.models import ConditionRule, RuleSet, RuleSetItem
from rules.resolver import resolver
from rules.services import ruleset_publish
from rules.tests.factories import published_ruleset, unknown_rules_error

pytestmark = pytest.mark.django_db

QUERY = reverse("rules:rule-query")
REPORT = reverse("rules:rule-report")
BUILT_INS = ["min_total_100", "min_items_2", "divisible_by_5"]


@pytest.fixture
def orders(db):
    """Create orders that pass all, fail all, and split the built-in rules."""
    return [
        OrderFactory(total=Decimal("150.00"), items_count=3),  # passes all
        OrderFactory(total=Decimal("75.50"), items_count=1),  # fails all
        OrderFactory(total=Decimal("200.00"), items_count=5),  # passes all
        OrderFactory(total=Decimal("100.00"), items_count=2),  # fails min_total_100
        OrderFactory(total=Decimal("12.34"), items_count=9),  # fails two
    ]


@pytest.fixture
def no_sql_rule():
    """Register a rule with no database form, as a plug-in might."""

    class OddItemsRule(BaseRule):
        name = "odd_items"
        description = "Order has an odd number of items."

        def evaluate(self, order):
            return order.items_count % 2 == 1

    return OddItemsRule


def _ids(response) -> list[int]:
    """Return the ids of the orders a 200 answer lists."""
    assert response.status_code == 200
    return [order["id"] for order in response.json()["results"]]


def _query(analyst, **body):
    return analyst.post(QUERY, body, format="json")


def test_query_finds_failing_orders_in_the_database(analyst, orders):
    response = _query(analyst, rules=BUILT_INS, outcome="failed")

    assert response.status_code == 200
    data = response.json()
    assert (data["count"], data["evaluated_in"], data["next"]) == (3, "database", None)
    assert _ids(response) == sorted([orders[1].pk, orders[3].pk, orders[4].pk], reverse=True)
    assert data["results"][0]["total"] == "12.34"


def test_query_pages_with_a_cursor(analyst, orders):
    first = _query(analyst, rules=BUILT_INS, outcome="failed", page_size=2)
    second = _query(
        analyst, rules=BUILT_INS, outcome="failed", page_size=2, cursor=first.json()["next"]
    )

    assert _ids(first) == [orders[4].pk, orders[3].pk]
    assert _ids(second) == [orders[1].pk]
    assert second.json()["next"] is None
    assert first.json()["count"] == second.json()["count"] == 3


def test_query_applies_total_and_date_filters(analyst, orders):
    response = _query(
        analyst,
        rules=BUILT_INS,
        outcome="passed",
        filters={"total_min": "160.00", "total_max": "300", "created_from": "2000-01-01T00:00Z"},
    )

    assert _ids(response) == [orders[2].pk]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"items_min": 3, "items_max": 5}, [2, 0]),
        ({"total_min": "150.00", "total_max": "150.00"}, [0]),
        ({"total_max": "9" * 40, "items_max": 2**31 - 1}, [2, 0]),
        ({"total_min": "-" + "9" * 50}, [2, 0]),
        ({"created_min": "0001-01-01T00:00:00Z", "created_max": "9999-12-31T23:59:59Z"}, [2, 0]),
        ({"created_to": "2000-01-01T00:00:00Z"}, []),
    ],
)
def test_query_filters_are_the_orders_apis_inclusive_filters(analyst, orders, filters, expected):
    response = _query(analyst, rules=BUILT_INS, outcome="passed", filters=filters)

    assert response.status_code == 200
    assert _ids(response) == [orders[index].pk for index in expected]


def test_created_from_and_created_to_are_older_names_of_created_min_and_max(analyst, orders):
    moment = orders[2].created_at.isoformat()
    older = {"created_from": moment, "created_to": moment}
    newer = {"created_min": moment, "created_max": moment}

    by_older_names = _query(analyst, rules=BUILT_INS, outcome="passed", filters=older)
    by_newer_names = _query(analyst, rules=BUILT_INS, outcome="passed", filters=newer)

    assert _ids(by_older_names) == _ids(by_newer_names) == [orders[2].pk]


@pytest.mark.parametrize(
    ("filters", "detail"),
    [
        ({"colour": "red"}, {"colour": ["Unknown filter."]}),
        (
            {"created_from": "2026-01-01T00:00Z", "created_min": "2026-01-01T00:00Z"},
            {"created_from": ["Give 'created_min' or its older name 'created_from', not both."]},
        ),
        ({"items_min": "two"}, {"items_min": ["Enter a whole number."]}),
        ({"total_min": ["1"]}, {"total_min": ['Enter a number as a string, e.g. "100.00".']}),
        ({"total_min": 100}, {"total_min": ['Enter a number as a string, e.g. "100.00".']}),
        ({"items_max": "3"}, {"items_max": ["Enter a whole number."]}),
        ({"items_max": True}, {"items_max": ["Enter a whole number."]}),
        ({"created_min": 0}, {"created_min": ["Enter a valid date/time as a string."]}),
        ([], ['Expected a dictionary of items but got type "list".']),
    ],
)
def test_invalid_filters_are_a_400_naming_the_filter(analyst, orders, filters, detail):
    response = _query(analyst, rules=BUILT_INS, outcome="passed", filters=filters)

    assert response.status_code == 400
    assert response.json() == {
        "error": "Bad Request",
        "code": "invalid_request",
        "detail": {"filters": detail},
    }


def test_query_warnings_do_not_decide(analyst, orders):
    rules = ["min_items_2", {"name": "min_total_100", "severity": "warning"}]

    response = _query(analyst, rules=rules, outcome="passed")

    assert set(_ids(response)) == {orders[0].pk, orders[2].pk, orders[3].pk, orders[4].pk}


def test_query_falls_back_to_python_for_a_rule_without_a_database_form(
    analyst, orders, no_sql_rule
):
    response = _query(analyst, rules=["odd_items", "min_total_100"], outcome="passed")

    data = response.json()
    assert data["evaluated_in"] == "python"
    assert _ids(response) == [orders[2].pk, orders[0].pk]
    assert data["count"] == 2


def test_python_fallback_pages_like_the_database(analyst, orders, no_sql_rule):
    first = _query(analyst, rules=["odd_items"], outcome="passed", page_size=1)
    second = _query(
        analyst, rules=["odd_items"], outcome="passed", page_size=1, cursor=first.json()["next"]
    )

    assert _ids(first) == [orders[4].pk]
    assert _ids(second) == [orders[2].pk]
    assert first.json()["count"] == 4


@pytest.mark.parametrize("cursor", ["nonsense", "YmVmb3JlOng=", "!!"])
def test_a_foreign_cursor_is_a_400(analyst, orders, cursor):
    response = _query(analyst, rules=BUILT_INS, outcome="failed", cursor=cursor)

    assert response.status_code == 400
    assert response.json() == {
        "error": "Invalid cursor",
        "code": "invalid_cursor",
        "detail": "The cursor is not one this service issued; start again without it.",
    }


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"rules": BUILT_INS}, {"outcome": ["This field is required."]}),
        (
            {"rules": BUILT_INS, "outcome": "maybe"},
            {"outcome": ['"maybe" is not a valid choice.']},
        ),
        (
            {"rules": BUILT_INS, "outcome": "passed", "page_size": 0},
            {"page_size": ["Ensure this value is greater than or equal to 1."]},
        ),
        (
            {"rules": BUILT_INS, "outcome": "passed", "filters": {"total_min": "lots"}},
            {"filters": {"total_min": ["Enter a number."]}},
        ),
        ({"outcome": "passed"}, {"rules": ["Give exactly one of 'rules' and 'ruleset'."]}),
    ],
)
def test_invalid_queries_are_a_400(analyst, body, detail):
    response = analyst.post(QUERY, body, format="json")

    assert response.status_code == 400
    assert response.json() == {"error": "Bad Request", "code": "invalid_request", "detail": detail}


def test_report_streams_json_lines_computed_in_the_database(analyst, orders):
    rules = ["min_total_100", {"name": "min_items", "params": {"count": 3}, "as": "three"}]

    response = analyst.post(REPORT, {"rules": rules}, format="json")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/x-ndjson"
    assert response["X-Evaluated-In"] == "database"
    lines = [json.loads(line) for line in b"".join(response.streaming_content).splitlines()]
    assert lines[:3] == [
        {"columns": ["order_id", "min_total_100", "three", "passed"]},
        [orders[0].pk, True, True, True],
        [orders[1].pk, False, False, False],
    ]
    assert len(lines) == 1 + len(orders)


def test_report_streams_csv_when_asked(analyst, orders):
    response = analyst.post(REPORT, {"rules": BUILT_INS}, format="json", HTTP_ACCEPT="text/csv")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == ["order_id", *BUILT_INS, "passed"]
    assert rows[4] == [str(orders[3].pk), "false", "true", "true", "false"]
    assert len(rows) == 1 + len(orders)


def test_report_keys_with_quotes_commas_and_percent_signs_stay_valid(analyst, orders):
    key = 'a%s, "b"'
    rules = [{"name": "min_items_2", "as": key}]

    json_lines = analyst.post(REPORT, {"rules": rules}, format="json")
    csv_text = analyst.post(REPORT, {"rules": rules}, format="json", HTTP_ACCEPT="text/csv")

    assert json_lines.status_code == csv_text.status_code == 200
    lines = b"".join(json_lines.streaming_content).splitlines()
    rows = list(csv.reader(io.StringIO(b"".join(csv_text.streaming_content).decode())))
    assert [json.loads(line) for line in lines[:2]] == [
        {"columns": ["order_id", key, "passed"]},
        [orders[0].pk, True, True],
    ]
    assert rows[:2] == [["order_id", key, "passed"], [str(orders[0].pk), "true", "true"]]


@pytest.mark.parametrize("rules", [BUILT_INS, ["odd_items", *BUILT_INS]])
def test_a_report_longer_than_its_first_batch_streams_every_row_in_order(
    analyst, orders, no_sql_rule, monkeypatch, rules
):
    """The first batch is read before the answer, the rest as it streams, after its last id."""
    monkeypatch.setattr(analysis, "STREAM_CHUNK", 2)

    response = analyst.post(REPORT, {"rules": rules}, format="json")

    assert response.status_code == 200
    ids = [json.loads(line)[0] for line in b"".join(response.streaming_content).splitlines()[1:]]
    assert ids == sorted(order.pk for order in orders)


def test_report_falls_back_to_python_with_the_same_rows(analyst, orders, no_sql_rule):
    python = analyst.post(REPORT, {"rules": ["odd_items", *BUILT_INS]}, format="json")
    database = analyst.post(REPORT, {"rules": BUILT_INS}, format="json")

    assert python.status_code == database.status_code == 200
    python_rows = [json.loads(x) for x in b"".join(python.streaming_content).splitlines()]
    database_rows = [json.loads(x) for x in b"".join(database.streaming_content).splitlines()]
    assert python["X-Evaluated-In"] == "python"
    assert python_rows[0] == {"columns": ["order_id", "odd_items", *BUILT_INS, "passed"]}
    # Leave out odd_items and passed: the rest are the database's columns.
    assert [[row[0], *row[2:-1]] for row in python_rows[1:]] == [
        row[:-1] for row in database_rows[1:]
    ]


def _report_lines(response) -> list[str]:
    return b"".join(response.streaming_content).decode().splitlines()


@pytest.mark.sqlite
def test_a_report_whose_query_fails_as_it_starts_is_a_json_error_before_any_row(analyst, orders):
    """The query's first rows are read before the answer starts, so its error is the answer."""

    class OverflowRule(BaseRule):
        name = "overflow"
        description = "Its SQL overflows a 64-bit integer when it runs."

        def evaluate(self, order):
            return True

        def as_q(self):
            return Q(GreaterThan(Abs(Value(-(2**63) + 1) - 1), 0))

    response = analyst.post(REPORT, {"rules": ["overflow"]}, format="json")

    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "error": "Service Unavailable",
        "code": "database_unavailable",
        "detail": "The database is not available. Try again shortly.",
    }


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"items_min": 2**63}, "Ensure this value is less than or equal to 2147483647."),
        ({"items_max": 2**31}, "Ensure this value is less than or equal to 2147483647."),
        ({"items_min": -1}, "Ensure this value is greater than or equal to 0."),
    ],
)
@pytest.mark.parametrize("endpoint", ["query", "preview", "report", "orders"])
def test_an_integer_filter_beyond_its_column_is_the_same_400_everywhere(
    analyst, orders, checkout, endpoint, filters, message
):
    [(name, value)] = filters.items()
    if endpoint == "orders":
        response = analyst.get(reverse("orders:order-list"), {name: str(value)})
        detail = {name: [message]}
    else:
        url = {
            "query": QUERY,
            "preview": reverse("rules:ruleset-preview", args=["checkout"]),
            "report": REPORT,
        }[endpoint]
        body = {"rules": BUILT_INS, "outcome": "passed", "filters": filters}
        if endpoint != "query":
            del body["outcome"]
        response = analyst.post(url, body, format="json")
        detail = {"filters": {name: [message]}}

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"error": "Bad Request", "code": "invalid_request", "detail": detail}


def test_report_errors_are_json_even_when_csv_was_asked(analyst):
    response = analyst.post(REPORT, {"rules": ["nope"]}, format="json", HTTP_ACCEPT="text/csv")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json() == unknown_rules_error("nope")


@pytest.fixture
def checkout(db):
    """Create a rule set that requires a total over 100.00."""
    return published_ruleset("checkout", "min_total_100")


def test_preview_counts_what_a_change_would_flip(analyst, orders, checkout):
    url = reverse("rules:ruleset-preview", args=["checkout"])
    proposed = [{"name": "total_greater_than", "params": {"amount": "99.99"}}, "min_items_2"]

    response = analyst.post(url, {"rules": proposed, "sample_size": 5}, format="json")

    assert response.status_code == 200
    assert response.json() == {
        "ruleset": {"name": "checkout", "version": checkout.version},
        "evaluated_in": "database",
        "total": 5,
        "passing_now": 2,
        "passing_after": 3,
        "newly_failing": 0,
        "newly_passing": 1,
        "sample_newly_failing": [],
        "sample_newly_passing": [orders[3].pk],
    }
    assert list(checkout.specs()) == list(RuleSet.objects.get().specs())


def test_preview_counts_only_the_orders_its_filters_select(analyst, orders, checkout):
    url = reverse("rules:ruleset-preview", args=["checkout"])
    body = {"rules": ["min_items_2"], "filters": {"total_min": "100.00", "items_max": 3}}

    response = analyst.post(url, body, format="json")

    assert response.status_code == 200
    data = response.json()
    assert (data["total"], data["passing_now"], data["passing_after"]) == (2, 1, 2)
    assert data["sample_newly_passing"] == [orders[3].pk]


def test_report_takes_the_same_filters(analyst, orders):
    body = {"rules": BUILT_INS, "filters": {"items_min": 5}}

    response = analyst.post(REPORT, body, format="json")

    assert response.status_code == 200
    rows = [json.loads(line) for line in b"".join(response.streaming_content).splitlines()]
    assert [row[0] for row in rows[1:]] == [orders[2].pk, orders[4].pk]


def test_preview_in_python_agrees_with_the_database(analyst, orders, checkout, no_sql_rule):
    url = reverse("rules:ruleset-preview", args=["checkout"])

    in_python = analyst.post(url, {"rules": ["odd_items", "min_items_2"]}, format="json")
    in_database = analyst.post(
        url, {"rules": [{"name": "max_items", "params": {"count": 1}}]}, format="json"
    )

    assert in_python.status_code == in_database.status_code == 200
    python, database = in_python.json(), in_database.json()
    assert python["evaluated_in"] == "python"
    assert (python["passing_after"], python["newly_passing"]) == (3, 1)
    assert python["sample_newly_passing"] == [orders[4].pk]
    assert python["sample_newly_failing"] == []
    assert (database["passing_after"], database["newly_failing"]) == (1, 2)
    assert database["sample_newly_failing"] == [orders[0].pk, orders[2].pk]


@pytest.mark.parametrize("route", ["rules:ruleset-preview", "rules:ruleset-backtest"])
def test_preview_or_backtest_of_a_missing_set_is_a_404(analyst, route):
    url = reverse(route, args=["nope"])

    response = analyst.post(url, {"rules": ["min_items_2"]}, format="json")

    assert response.status_code == 404
    assert response.json() == {
        "error": "Unknown rule set",
        "code": "unknown_ruleset",
        "detail": "No active rule set named 'nope'.",
    }


@pytest.fixture
def big_and_many(db):
    """Store a condition rule: total over 100 and at least 2 items."""
    return ConditionRule.objects.create(
        name="big_and_many",
        description="Total over 100.00 with at least 2 items.",
        condition={"and": [{">": [{"var": "total"}, "100"]}, {">=": [{"var": "items_count"}, 2]}]},
    )


def test_a_stored_condition_rule_works_in_checks_batches_and_queries(
    analyst, orders, big_and_many
):
    check = analyst.post(
        reverse("rules:rule-check"),
        {"order_id": orders[0].pk, "rules": ["big_and_many"]},
        format="json",
    )
    batch = analyst.post(
        reverse("rules:rule-check-batch"),
        {"order_ids": [o.pk for o in orders], "rules": ["big_and_many"]},
        format="json",
    )
    query = _query(analyst, rules=["big_and_many"], outcome="passed")

    assert check.status_code == batch.status_code == 200
    assert check.json()["details"] == {"big_and_many": True}
    assert batch.json()["summary"]["passed"] == 2
    assert query.json()["evaluated_in"] == "database"
    assert set(_ids(query)) == {orders[0].pk, orders[2].pk}


def test_a_stored_rule_that_does_not_compile_errs_on_every_order_in_queries(analyst, orders):
    ConditionRule.objects.create(
        name="broken_stored_rule",
        description="Saved before the limits.",
        condition={">": [{"var": "total"}, "1e999990"]},
    )

    passed = _query(analyst, rules=["broken_stored_rule"], outcome="passed")
    failed = _query(analyst, rules=["broken_stored_rule"], outcome="failed")
    erring = _query(analyst, rules=["broken_stored_rule"], outcome="error")

    assert (passed.status_code, failed.status_code) == (200, 200)
    assert (passed.json()["count"], passed.json()["evaluated_in"]) == (0, "database")
    assert failed.json()["count"] == 0
    assert set(_ids(erring)) == {order.pk for order in orders}


def test_a_stored_rule_is_listed_as_stored(analyst, big_and_many):
    response = analyst.get(reverse("rules:rule-list"))

    assert response.status_code == 200
    rules = {rule["name"]: rule for rule in response.json()}
    assert rules["big_and_many"]["stored"] is True
    assert rules["big_and_many"]["condition"] == big_and_many.condition
    assert rules["min_total_100"]["stored"] is False


def test_a_change_to_a_stored_rule_is_used_by_the_next_check(analyst, orders, big_and_many):
    body = {"order_id": orders[3].pk, "rules": ["big_and_many"]}
    before = analyst.post(reverse("rules:rule-check"), body, format="json")
    big_and_many.condition = {">=": [{"var": "total"}, "100"]}
    big_and_many.save()

    after = analyst.post(reverse("rules:rule-check"), body, format="json")

    assert before.status_code == after.status_code == 200
    assert (before.json()["passed"], after.json()["passed"]) == (False, True)


def test_a_stored_rule_takes_no_params(analyst, orders, big_and_many):
    body = {"order_id": orders[0].pk, "rules": [{"name": "big_and_many", "params": {"x": 1}}]}

    response = analyst.post(reverse("rules:rule-check"), body, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "error": "Invalid rule parameters",
        "code": "invalid_params",
        "detail": {
            "message": "Invalid parameters for rule(s): big_and_many (x)",
            "rules": {"big_and_many": {"x": ["Unknown parameter."]}},
        },
    }


def test_a_stored_rule_can_be_an_item_of_a_rule_set(checkout, big_and_many):
    item = RuleSetItem(ruleset=checkout, position=2, rule="big_and_many")
    item.full_clean()
    item.save()

    version = ruleset_publish(ruleset=checkout)

    assert [entry["rule"] for entry in version.items] == ["min_total_100", "big_and_many"]
    assert version.items[1]["stored"]["condition"] == big_and_many.condition


def _check_all(analyst, orders, ruleset="checkout"):
    """Check every order against *ruleset*, leaving one decision each."""
    for order in orders:
        response = analyst.post(
            reverse("rules:rule-check"), {"order_id": order.pk, "ruleset": ruleset}, format="json"
        )
        assert response.status_code == 200


def _backtest(analyst, **body):
    url = reverse("rules:ruleset-backtest", args=["checkout"])
    return analyst.post(url, body, format="json")


def test_backtest_counts_what_proposed_rules_would_flip_among_recorded_decisions(
    analyst, orders, checkout
):
    _check_all(analyst, orders)
    proposed = [{"name": "total_greater_than", "params": {"amount": "99.99"}}, "min_items_2"]

    response = _backtest(analyst, rules=proposed, sample_size=5)

    assert response.status_code == 200
    data = response.json()
    decisions = {d["order_id"]: d["id"] for d in analyst.get("/decisions/").json()["results"]}
    assert {k: v for k, v in data.items() if k not in ("created_min", "created_max")} == {
        "ruleset": {"name": "checkout", "version": 1},
        "evaluated_in": "database",
        "decisions": 5,
        "passed_then": 2,
        "passed_after": 3,
        "pass_to_fail": 0,
        "fail_to_pass": 1,
        "sample_pass_to_fail": [],
        "sample_fail_to_pass": [decisions[orders[3].pk]],
        "rules": [
            {"rule": "total_greater_than", "failing": 2, "pass_to_fail": 0, "fail_to_pass": 0},
            {"rule": "min_items_2", "failing": 1, "pass_to_fail": 0, "fail_to_pass": 0},
        ],
    }


def test_backtest_in_python_agrees_with_the_database(analyst, orders, checkout, no_sql_rule):
    _check_all(analyst, orders)

    in_database = _backtest(analyst, rules=["min_items_2", "min_total_100"])
    in_python = _backtest(analyst, rules=["min_items_2", "min_total_100", "odd_items"])

    assert in_database.status_code == in_python.status_code == 200
    database, python = in_database.json(), in_python.json()
    assert (database["evaluated_in"], python["evaluated_in"]) == ("database", "python")
    assert python["rules"][:2] == database["rules"]
    assert python["rules"][0] == {
        "rule": "min_items_2",
        "failing": 1,
        "pass_to_fail": 0,
        "fail_to_pass": 0,
    }
    assert python["rules"][1]["fail_to_pass"] == 0
    assert python["decisions"] == database["decisions"] == 5


@pytest.mark.parametrize(
    "proposed",
    [
        {"name": "blocked_categories", "params": {"categories": ["alcohol"], "countries": ["NO"]}},
        {"name": "max_quantity_per_sku", "params": {"limit": 3}},
    ],
    ids=lambda rule: rule["name"],
)
def test_backtest_of_a_rule_whose_sql_reads_lines_or_addresses_runs_in_python(
    analyst, checkout, proposed
):
    """Lines, customers and addresses are read from snapshots by the engine, not by SQL."""
    wine = {"sku": "WINE-12", "category": "alcohol", "quantity": 4, "unit_price": "25.00"}
    for country in ["NO", "SE"]:
        cart = {"total": "100.00", "shipping": {"country": country}, "lines": [wine]}
        response = analyst.post(
            reverse("rules:rule-check"), {"order": cart, "ruleset": "checkout"}, format="json"
        )
        assert response.status_code == 200

    response = _backtest(analyst, rules=[proposed])

    assert response.status_code == 200
    data = response.json()
    failing = 1 if proposed["name"] == "blocked_categories" else 2
    assert {k: v for k, v in data.items() if k not in ("created_min", "created_max")} == {
        "ruleset": {"name": "checkout", "version": 1},
        "evaluated_in": "python",
        "decisions": 2,
        "passed_then": 0,
        "passed_after": 2 - failing,
        "pass_to_fail": 0,
        "fail_to_pass": 2 - failing,
        "sample_pass_to_fail": [],
        "sample_fail_to_pass": data["sample_fail_to_pass"],
        "rules": [
            {"rule": proposed["name"], "failing": failing, "pass_to_fail": 0, "fail_to_pass": 0}
        ],
    }
    assert len(data["sample_fail_to_pass"]) == 2 - failing


def test_backtest_looks_only_at_the_window(analyst, orders, checkout):
    _check_all(analyst, orders)
    long_ago = {"created_min": "2000-01-01T00:00Z", "created_max": "2000-01-02T00:00Z"}

    response = _backtest(analyst, rules=["min_items_2"], **long_ago)

    assert response.status_code == 200
    assert (response.json()["decisions"], response.json()["created_min"]) == (
        0,
        "2000-01-01T00:00:00Z",
    )


@pytest.mark.parametrize("created_max", ["0001-01-01T00:00:00Z", "0001-01-07T23:59:59Z"])
def test_backtest_ending_within_7_days_of_the_year_1_needs_its_start(
    analyst, checkout, created_max
):
    response = _backtest(analyst, rules=["min_items_2"], created_max=created_max)

    assert response.status_code == 400
    assert response.json() == {
        "error": "Bad Request",
        "code": "invalid_request",
        "detail": {"created_min": ["Give it: 7 days before `created_max` is before the year 1."]},
    }


def test_backtest_ending_7_days_after_the_year_1_starts_it_then(analyst, checkout):
    response = _backtest(analyst, rules=["min_items_2"], created_max="0001-01-08T00:00:00Z")

    assert response.status_code == 200
    assert response.json()["created_min"] == "0001-01-01T00:00:00Z"


def test_backtest_over_its_budget_is_refused(analyst, orders, checkout, settings):
    _check_all(analyst, orders)
    settings.REPORT_MAX_CELLS = 9

    response = _backtest(analyst, rules=["min_items_2", "min_total_100"])

    assert response.status_code == 413
    assert response.json() == {
        "error": "Report too large",
        "code": "report_too_large",
        "detail": {
            "message": "10 orders x rules asked for; at most 9 are allowed (REPORT_MAX_CELLS). "
            "Ask for fewer orders or rules, or narrow the filters.",
            "cells": 10,
            "limit": 9,
        },
    }


@pytest.mark.parametrize("key", ["-1", "1", 'say "hi"', "a.b"])
def test_backtest_reads_a_recorded_outcome_under_any_key(analyst, orders, key):
    """A key is read whole, not as a JSON path (``-1``, a 503 on SQLite; ``1``, an array index)."""
    published_ruleset("keyed", {"rule": "min_total_100", "alias": key})
    _check_all(analyst, orders, ruleset="keyed")
    looser = {"name": "total_greater_than", "params": {"amount": "99.99"}, "as": key}

    response = analyst.post(
        reverse("rules:ruleset-backtest", args=["keyed"]), {"rules": [looser]}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["rules"] == [
        {"rule": key, "failing": 2, "pass_to_fail": 0, "fail_to_pass": 1}
    ]


def test_backtest_tells_per_rule_which_recorded_failures_it_would_pass(analyst, orders, checkout):
    _check_all(analyst, orders)
    looser = {"name": "total_greater_than", "params": {"amount": "99.99"}, "as": "min_total_100"}

    response = _backtest(analyst, rules=[looser])

    assert response.status_code == 200
    assert response.json()["rules"] == [
        {"rule": "min_total_100", "failing": 2, "pass_to_fail": 0, "fail_to_pass": 1}
    ]


NO_ALCOHOL_TO_NO = {
    "!": {
        "and": [
            {"==": [{"var": "shipping.country"}, "NO"]},
            {"some": [{"var": "lines"}, {"==": [{"var": "category"}, "alcohol"]}]},
        ]
    }
}


def _real_order(country: str, *categories: str) -> Order:
    """Store an order shipped to *country* ("" for none) with a line of each category."""
    order = Order.objects.create(
        total=Decimal("30.00"),
        items_count=max(len(categories), 1),
        shipping_country=country,
        subtotal=Decimal("10.00") * len(categories) if categories else None,
        lines_count=len(categories),
    )
    for position, category in enumerate(categories, start=1):
        OrderLine.objects.create(
            order=order,
            position=position,
            sku=f"SKU-{position}",
            category=category,
            quantity=1,
            unit_price=Decimal("10.00"),
        )
    return order


@pytest.fixture
def shipped(db):
    """Store orders to NO and SE with and without alcohol, and one shipped nowhere."""
    ConditionRule.objects.create(
        name="no_alcohol_to_no",
        description="No alcohol shipped to Norway.",
        condition=NO_ALCOHOL_TO_NO,
    )
    return {
        "no_wine": _real_order("NO", "books", "alcohol"),
        "no_books": _real_order("NO", "books"),
        "se_wine": _real_order("SE", "alcohol"),
        "nowhere": _real_order("", "alcohol"),
        "no_lines": _real_order("NO"),
    }


@pytest.mark.parametrize(
    ("outcome", "expected"),
    [
        ("passed", {"no_books", "se_wine", "no_lines"}),
        ("failed", {"no_wine"}),
        ("error", {"nowhere"}),
    ],
)
def test_a_condition_over_lines_and_shipping_selects_the_same_orders_in_sql_and_python(
    analyst, shipped, no_sql_rule, outcome, expected
):
    """The acceptance demo over stored orders; an order shipped nowhere errs."""
    ids = {pk: name for name, pk in ((name, order.pk) for name, order in shipped.items())}
    # odd_items (no SQL form) sends the second query through the Python engine.
    odd_items = {"name": "odd_items", "severity": "warning"}

    database = _query(analyst, rules=["no_alcohol_to_no"], outcome=outcome)
    python = _query(analyst, rules=["no_alcohol_to_no", odd_items], outcome=outcome)

    assert (database.json()["evaluated_in"], python.json()["evaluated_in"]) == (
        "database",
        "python",
    )
    assert {ids[pk] for pk in _ids(database)} == expected
    assert {ids[pk] for pk in _ids(python)} == expected
    assert database.json()["count"] == python.json()["count"] == len(expected)


HAS_WINE = {"some": [{"var": "lines"}, {"==": [{"var": "category"}, "alcohol"]}]}


@pytest.fixture
def has_wine(shipped):
    """Store a rule passed by orders with an alcohol line, and an order with two such lines."""
    ConditionRule.objects.create(
        name="has_wine", description="Some line is alcohol.", condition=HAS_WINE
    )
    return {**shipped, "two_wines": _real_order("NO", "alcohol", "books", "alcohol")}


@pytest.mark.parametrize(
    ("outcome", "filters", "expected"),
    [
        ("passed", {}, ["two_wines", "nowhere", "se_wine", "no_wine"]),
        ("passed", {"shipping_country": "NO"}, ["two_wines", "no_wine"]),
        ("passed", {"category": "books"}, ["two_wines", "no_wine"]),
        ("failed", {}, ["no_lines", "no_books"]),
    ],
)
def test_the_orders_having_a_line_are_counted_once_each_in_sql_as_in_python(
    analyst, has_wine, no_sql_rule, outcome, filters, expected
):
    odd_items = {"name": "odd_items", "severity": "warning"}
    body = {"outcome": outcome, "page_size": 1, "filters": filters}

    database = _query(analyst, rules=["has_wine"], **body)
    python = _query(analyst, rules=["has_wine", odd_items], **body)

    data = database.json()
    assert (data["count"], data["evaluated_in"]) == (len(expected), "database")
    assert _ids(database) == [has_wine[expected[0]].pk]
    assert (python.json()["count"], _ids(python)) == (len(expected), _ids(database))


def test_over_every_order_the_orders_having_a_line_are_counted_from_the_lines_alone(has_wine):
    check = resolver.resolve(["has_wine"]).check

    with CaptureQueriesContext(connection) as queries:
        page = analysis.orders_matching(
            check, Order.objects.all(), outcome="passed", page_size=1, cursor=None
        )

    assert (page.count, [order.pk for order in page.orders]) == (4, [has_wine["two_wines"].pk])
    [count] = [query["sql"] for query in queries.captured_queries if "COUNT(" in query["sql"]]
    assert 'COUNT(DISTINCT "orders_orderline"."order_id")' in count, count
    assert "orders_order" not in count.replace("orders_orderline", ""), count


def test_an_order_that_fails_one_rule_and_errs_on_another_is_found_under_both(analyst, shipped):
    ConditionRule.objects.create(
        name="ships_somewhere",
        description="Ships within the EU or to Norway.",
        condition={"in": [{"var": "billing.country"}, ["NO", "SE"]]},
    )
    rules = ["no_alcohol_to_no", "ships_somewhere"]

    failed = _query(analyst, rules=rules, outcome="failed")
    erring = _query(analyst, rules=rules, outcome="error")

    assert set(_ids(failed)) == {shipped["no_wine"].pk}
    assert set(_ids(erring)) == {order.pk for order in shipped.values()}


def test_a_report_leaves_the_cell_of_a_rule_that_errs_empty_in_sql_and_python(
    analyst, shipped, no_sql_rule
):
    body = {"rules": ["no_alcohol_to_no", {"name": "odd_items", "severity": "warning"}]}
    database = analyst.post(REPORT, {"rules": ["no_alcohol_to_no"]}, format="json")
    python = analyst.post(REPORT, body, format="json")
    as_csv = analyst.post(
        REPORT, {"rules": ["no_alcohol_to_no"]}, format="json", HTTP_ACCEPT="text/csv"
    )

    assert (database["X-Evaluated-In"], python["X-Evaluated-In"]) == ("database", "python")
    rows = [json.loads(line) for line in _report_lines(database)]
    python_rows = [json.loads(line) for line in _report_lines(python)]
    order = shipped
    assert rows == [
        {"columns": ["order_id", "no_alcohol_to_no", "passed"]},
        [order["no_wine"].pk, False, False],
        [order["no_books"].pk, True, True],
        [order["se_wine"].pk, True, True],
        [order["nowhere"].pk, None, False],
        [order["no_lines"].pk, True, True],
    ]
    assert [[row[0], row[1], row[-1]] for row in python_rows[1:]] == rows[1:]
    assert list(csv.reader(io.StringIO(b"".join(as_csv.streaming_content).decode())))[4] == [
        str(order["nowhere"].pk),
        "",
        "false",
    ]


@pytest.mark.parametrize(
    ("condition", "failing"),
    [
        (NO_ALCOHOL_TO_NO, 2),
        # Lines alone: the orders having a line (LineOrders) are not built over decisions.
        ({"none": [{"var": "lines"}, {"==": [{"var": "category"}, "alcohol"]}]}, 3),
    ],
)
def test_a_backtest_of_a_condition_over_real_orders_runs_through_the_engine(
    analyst, shipped, checkout, condition, failing
):
    ConditionRule.objects.filter(name="no_alcohol_to_no").update(condition=condition)
    _check_all(analyst, shipped.values())

    response = _backtest(analyst, rules=["no_alcohol_to_no"])

    assert response.status_code == 200
    data = response.json()
    assert (data["evaluated_in"], data["passed_after"]) == ("python", 5 - failing)
    assert data["rules"] == [
        {"rule": "no_alcohol_to_no", "failing": failing, "pass_to_fail": 0, "fail_to_pass": 0}
    ]
