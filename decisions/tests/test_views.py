import base64
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import urlencode

import pytest
from django.urls import reverse

from decisions.filters import DecisionFilter
from decisions.models import Decision
from decisions.pagination import DecisionCursorPagination
from decisions.tests.factories import PLACED, DecisionFactory, result
from orders.facts import AddressFacts, CustomerFacts, LineFacts, OrderFacts, snapshot

pytestmark = pytest.mark.django_db

LIST = reverse("decisions:decision-list")
T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def _detail(pk: int) -> str:
    return reverse("decisions:decision-detail", args=[pk])


def _time(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def _summary(decision: Decision) -> dict:
    return {
        "id": decision.pk,
        "decided_at": _time(decision.decided_at),
        "caller": decision.caller,
        "request_id": decision.request_id,
        "order_id": decision.order_id,
        "ruleset": {"name": decision.ruleset, "version": decision.ruleset_version}
        if decision.ruleset
        else None,
        "passed": decision.passed,
        "outcomes": decision.outcomes,
    }


def _ids(response) -> list[int]:
    return [decision["id"] for decision in response.json()["results"]]


@pytest.fixture
def three():
    """Return three decisions, made a day apart, oldest first."""
    return [
        DecisionFactory(decided_at=T0 - timedelta(days=2)),
        DecisionFactory(decided_at=T0 - timedelta(days=1)),
        DecisionFactory(decided_at=T0),
    ]


def test_list_shows_decisions_newest_first_in_cursor_pages(analyst, three):
    old, middle, new = three

    first = analyst.get(LIST, {"page_size": 2})
    second = analyst.get(first.json()["next"])

    assert first.status_code == second.status_code == 200
    assert first.json() == {
        "next": first.json()["next"],
        "previous": None,
        "results": [_summary(new), _summary(middle)],
    }
    assert second.json() == {
        "next": None,
        "previous": second.json()["previous"],
        "results": [_summary(old)],
    }


def test_decisions_made_at_the_same_time_are_paged_by_id(analyst):
    same = [DecisionFactory(decided_at=T0) for _ in range(5)]

    first = analyst.get(LIST, {"page_size": 3})
    second = analyst.get(first.json()["next"])

    assert first.status_code == second.status_code == 200
    assert _ids(first) + _ids(second) == [decision.pk for decision in reversed(same)]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"order_id": "41"}, [0]),
        ({"ruleset": "checkout"}, [2, 1]),
        ({"ruleset": "checkout", "ruleset_version": "2"}, [2]),
        ({"ruleset_version": "1"}, [1]),
        ({"passed": "true"}, [2, 0]),
        ({"passed": "false"}, [1]),
        ({"caller": "user:7"}, [1]),
        ({"rule": "min_items_2"}, [2, 1]),
        ({"rule": "min_items_2", "outcome": "failed"}, [1]),
        ({"rule": "min_total_100", "outcome": "passed"}, [2, 1, 0]),
        ({"rule": "nope"}, []),
        ({"created_min": _time(T0 - timedelta(days=1))}, [2, 1]),
        ({"created_max": _time(T0 - timedelta(days=1))}, [1, 0]),
        ({"created_min": "2026-11-19T12:00:00+00:00", "created_max": "2026-11-19T12:00Z"}, [1]),
    ],
)
def test_each_filter_selects_its_decisions(analyst, query, expected):
    made = [
        DecisionFactory(order_id=41, decided_at=T0 - timedelta(days=2)),
        DecisionFactory(
            decided_at=T0 - timedelta(days=1),
            caller="user:7",
            ruleset="checkout",
            ruleset_version=1,
            results=[result("min_total_100"), result("min_items_2", "failed")],
        ),
        DecisionFactory(
            decided_at=T0,
            ruleset="checkout",
            ruleset_version=2,
            results=[result("min_total_100"), result("min_items_2")],
        ),
    ]

    response = analyst.get(LIST, query)

    assert response.status_code == 200
    assert _ids(response) == [made[index].pk for index in expected]


@pytest.mark.parametrize(
    "key", ["big__order", "a.b", "$[0]", "it's", "é", 'say "hi"', "-1", "1", "%", "_"]
)
def test_a_rule_key_is_matched_whole_whatever_its_characters(analyst, key):
    wanted = DecisionFactory(results=[result(key, "failed")])
    DecisionFactory(results=[result("big", "failed")])

    response = analyst.get(LIST, {"rule": key, "outcome": "failed"})

    assert response.status_code == 200
    assert response.json() == {"next": None, "previous": None, "results": [_summary(wanted)]}


@pytest.mark.parametrize("query", [{"rule": "min_items_2", "outcome": "failed"}, {"rule": "big"}])
def test_pages_of_a_rule_follow_the_cursor_newest_first_without_gaps(analyst, query):
    """Same-time decisions too: pages by rule are ordered by the rule's rows, by time then id."""
    wanted = [
        DecisionFactory(
            decided_at=T0 - timedelta(hours=index // 2),
            results=[result("big"), result("min_items_2", "failed")],
        )
        for index in range(7)
    ]
    DecisionFactory(decided_at=T0, results=[result("min_items_2", "passed")])

    pages = [analyst.get(LIST, {**query, "page_size": 3})]
    while pages[-1].json()["next"]:
        pages.append(analyst.get(pages[-1].json()["next"]))
    back = analyst.get(pages[-1].json()["previous"])

    newest_first = sorted(wanted, key=lambda d: (d.decided_at, d.pk), reverse=True)
    assert [_ids(page) for page in pages] == [
        [d.pk for d in newest_first[start : start + 3]] for start in (0, 3, 6)
    ]
    assert _ids(back) == _ids(pages[1])


@pytest.mark.parametrize(
    ("query", "detail"),
    [
        (
            {"rule": "min_total_100", "outcome": ""},
            {"outcome": ["Choose one of: passed, failed, error, skipped."]},
        ),
        (
            {"rule": "min_total_100", "outcome": "nope"},
            {"outcome": ["Choose one of: passed, failed, error, skipped."]},
        ),
        ({"passed": ""}, {"passed": ["Choose one of: true, false."]}),
        ({"passed": "yes"}, {"passed": ["Choose one of: true, false."]}),
    ],
)
def test_an_empty_or_unknown_enum_value_is_a_400_naming_the_values(analyst, three, query, detail):
    response = analyst.get(LIST, query)

    assert response.status_code == 400
    assert response.json() == {"error": "Bad Request", "code": "invalid_request", "detail": detail}


@pytest.mark.sqlite
@pytest.mark.parametrize(
    "query",
    [
        {"rule": "min_total_100", "outcome": "failed"},
        {"rule": "-1", "outcome": "error"},
        {"rule": "min_total_100", "outcome": "skipped", "created_min": "2026-01-01T00:00:00Z"},
    ],
)
def test_a_page_where_a_rule_did_not_pass_reads_the_rules_index_not_every_decision(three, query):
    queryset = DecisionFilter(data=query, queryset=Decision.objects.all()).qs
    ordering = DecisionCursorPagination().get_ordering(None, queryset, None)

    plan = queryset.order_by(*ordering)[:51].explain()

    index = "decision_outcome_rule_idx (rule=? AND outcome=?"
    assert f"SEARCH decisions_decisionoutcome USING COVERING INDEX {index}" in plan, plan
    assert "SCAN" not in plan, plan
    assert "TEMP B-TREE" not in plan, plan


def test_an_outcome_without_its_rule_is_a_400(analyst):
    response = analyst.get(LIST, {"outcome": "failed"})

    assert response.status_code == 400
    assert response.json() == {
        "error": "Bad Request",
        "code": "invalid_request",
        "detail": {"outcome": ["Give the `rule` whose outcome this is."]},
    }


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("passed", "maybe", "Choose one of: true, false."),
        ("order_id", "x", "Enter a whole number."),
        ("ruleset_version", "1.5", "Enter a whole number."),
        ("outcome", "nope", "Choose one of: passed, failed, error, skipped."),
        ("created_min", "yesterday", "Enter a valid date/time."),
        ("created_max", "0001-01-01T00:00:00+01:00", "Enter a valid date/time."),
    ],
)
def test_an_invalid_filter_value_is_a_400_naming_it(analyst, name, value, message):
    query = {name: value, "rule": "min_total_100"} if name == "outcome" else {name: value}

    response = analyst.get(LIST, query)

    assert response.status_code == 400
    assert response.json() == {
        "error": "Bad Request",
        "code": "invalid_request",
        "detail": {name: [message]},
    }


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("order_id", str(2**70), "less than or equal to 9223372036854775807"),
        ("ruleset_version", str(2**31), "less than or equal to 2147483647"),
        ("ruleset_version", "-1", "greater than or equal to 0"),
    ],
)
def test_an_id_beyond_its_column_is_a_400(analyst, three, name, value, message):
    response = analyst.get(LIST, {name: value})

    assert response.status_code == 400
    assert response.json() == {
        "error": "Bad Request",
        "code": "invalid_request",
        "detail": {name: [f"Ensure this value is {message}."]},
    }


def test_a_forged_cursor_is_a_404(analyst):
    response = analyst.get(LIST, {"cursor": "not-a-cursor"})

    assert response.status_code == 404
    assert response.json() == {
        "error": "Not Found",
        "code": "not_found",
        "detail": "Invalid cursor",
    }


@pytest.mark.parametrize(
    "position",
    ["abc", "\x00", "9999-99-99", "2026-11-20 12:00:00", "0001-01-01 00:00:00+05:00"],
)
def test_a_cursor_whose_position_is_no_decision_time_is_a_404(analyst, three, position):
    """A cursor that decodes, but holds no time the database can compare, is forged too."""
    cursor = base64.b64encode(urlencode({"p": position}).encode()).decode()

    response = analyst.get(LIST, {"cursor": cursor})

    assert response.status_code == 404
    assert response.json() == {
        "error": "Not Found",
        "code": "not_found",
        "detail": "Invalid cursor",
    }


def test_detail_shows_the_whole_record(analyst):
    decision = DecisionFactory(
        order_id=None,
        updated_at=None,
        passed=True,
        caller="user:3",
        request_id="req-42",
        fail_fast=True,
        rules=[
            {
                "name": "total_greater_than",
                "params": {"amount": "250.00"},
                "as": "big",
                "severity": "warning",
                "stored": None,
            },
            {
                "name": "weekend",
                "params": {},
                "as": None,
                "severity": None,
                "stored": {"description": "Sat/Sun.", "severity": "error", "condition": {}},
            },
        ],
        results=[
            result(
                "big",
                "failed",
                name="total_greater_than",
                params={"amount": "250.00"},
                severity="warning",
                message="Total 150.00 is not greater than 250.00.",
                facts={"observed": "150.00", "required": "250.00", "shortfall": "100.01"},
            ),
            result("weekend", "passed"),
        ],
    )

    response = analyst.get(_detail(decision.pk))

    assert response.status_code == 200
    assert response.json() == {
        **_summary(decision),
        "order_id": None,
        "order": {
            "total": "150.00",
            "items_count": 3,
            "created_at": _time(PLACED),
            "updated_at": None,
            "currency": "EUR",
        },
        "rules": decision.rules,
        "fail_fast": True,
        "results": decision.results,
        "passed": True,
        "outcomes": {"big": "failed", "weekend": "passed"},
    }


def test_detail_of_a_rule_set_decision_names_the_version_and_no_rules(analyst):
    decision = DecisionFactory(ruleset="checkout", ruleset_version=7)

    response = analyst.get(_detail(decision.pk))

    assert response.status_code == 200
    assert response.json() == {
        **_summary(decision),
        "ruleset": {"name": "checkout", "version": 7},
        "order": {
            "total": "150.00",
            "items_count": 3,
            "created_at": _time(PLACED),
            "updated_at": _time(PLACED),
            "currency": "EUR",
        },
        "rules": None,
        "fail_fast": False,
        "results": decision.results,
    }


def test_detail_of_a_missing_decision_is_a_404(analyst):
    response = analyst.get(_detail(999))

    assert response.status_code == 404
    assert response.json() == {
        "error": "Not Found",
        "code": "not_found",
        "detail": "Decision with id 999 does not exist.",
    }


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_decisions_cannot_be_written_through_the_api(analyst, method, three):
    response = getattr(analyst, method)(_detail(three[0].pk), {}, format="json")

    assert response.status_code == 405
    assert response.json() == {
        "error": "Method Not Allowed",
        "code": "method_not_allowed",
        "detail": f'Method "{method.upper()}" not allowed.',
    }
    assert Decision.objects.count() == 3


def test_detail_shows_the_whole_order_the_rules_saw_and_leaves_out_what_it_lacked(analyst):
    order = OrderFacts(
        total=Decimal("160.00"),
        items_count=3,
        created_at=PLACED,
        currency="NOK",
        customer=CustomerFacts(id="C-7", segment="vip", age_days=12),
        shipping=AddressFacts(country="NO", postal_code="0150"),
        payment_method="card",
        coupons=("WELCOME10",),
        lines=(
            LineFacts(sku="WINE-12", category="alcohol", quantity=2, unit_price=Decimal("25.00")),
            LineFacts(
                sku="CHEESE-3",
                name="Brie",
                category="food",
                quantity=1,
                unit_price=Decimal("110.00"),
            ),
        ),
        attributes={"gift_wrap": True},
    )
    decision = DecisionFactory(order_id=None, snapshot=snapshot(order))

    response = analyst.get(_detail(decision.pk))

    assert response.status_code == 200
    assert response.json()["order"] == {
        "total": "160.00",
        "items_count": 3,
        "created_at": _time(PLACED),
        "updated_at": None,
        "currency": "NOK",
        "customer": {"id": "C-7", "segment": "vip", "age_days": 12},
        "shipping": {"country": "NO", "postal_code": "0150"},
        "payment_method": "card",
        "coupons": ["WELCOME10"],
        "lines": [
            {
                "sku": "WINE-12",
                "category": "alcohol",
                "quantity": 2,
                "unit_price": "25.00",
                "line_total": "50.00",
            },
            {
                "sku": "CHEESE-3",
                "name": "Brie",
                "category": "food",
                "quantity": 1,
                "unit_price": "110.00",
                "line_total": "110.00",
            },
        ],
        "attributes": {"gift_wrap": True},
    }


def test_the_schema_documents_every_part_of_a_decision_s_order(client):
    definitions = client.get("/swagger.json").json()["definitions"]

    order = definitions["DecisionOrder"]["properties"]
    assert list(order) == [
        "total",
        "items_count",
        "created_at",
        "updated_at",
        "currency",
        "customer",
        "shipping",
        "billing",
        "payment_method",
        "channel",
        "coupons",
        "lines",
        "attributes",
        "providers",
    ]
    assert set(definitions["Supplied"]["properties"]) == {
        "values",
        "latency_ms",
        "cache_hit",
        "error",
        "fallback",
        "reference",
    }
    assert set(definitions["RecordedCustomer"]["properties"]) == {
        "id",
        "segment",
        "country",
        "age_days",
    }
    assert set(definitions["RecordedLine"]["properties"]) == {
        "sku",
        "name",
        "category",
        "quantity",
        "unit_price",
        "line_total",
    }
