import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from decisions.models import Decision
from orders.models import Order
from rules.engine import BaseRule
from rules.models import RuleSet
from rules.services import ruleset_publish
from rules.tests.factories import published_ruleset, unknown_rules_error

pytestmark = pytest.mark.django_db

CHECK = reverse("rules:rule-check")
BATCH = reverse("rules:rule-check-batch")
BUILT_INS = ["min_total_100", "min_items_2", "divisible_by_5"]


@pytest.fixture
def checkout_set(db):
    """Create an active rule set with a preset, a parameterized warning and an alias."""
    big = {"rule": "total_greater_than", "params": {"amount": "180.00"}, "alias": "big_order"}
    return published_ruleset(
        "checkout", "min_items_2", {**big, "severity": "warning"}, description="At checkout."
    )


# What min_total_100 answers for the seeded order of 75.50.
TOTAL_75_50_FAILS_MIN_TOTAL_100 = {
    "rule": "min_total_100",
    "name": "min_total_100",
    "params": {"amount": "100.00"},
    "outcome": "failed",
    "severity": "error",
    "message": "Total 75.50 is not greater than 100.00.",
    "observed": "75.50",
    "required": "100.00",
    "shortfall": "24.51",
}


def _check(api_client, body):
    return api_client.post(CHECK, body, format="json")


def test_rule_list_shows_params_severity_and_examples(api_client):
    response = api_client.get(reverse("rules:rule-list"))

    assert response.status_code == 200
    rules = {rule["name"]: rule for rule in response.json()}
    assert list(rules) == sorted(rules)
    assert rules["min_total_100"] == {
        "name": "min_total_100",
        "description": "Order total is greater than 100.00.",
        "stored": False,
        "params": {"type": "object", "properties": {}, "additionalProperties": False},
        "severity": "error",
        "examples": [
            {"order": {"total": "100.00", "items_count": 1}, "params": {}, "expected": "failed"},
            {"order": {"total": "100.01", "items_count": 1}, "params": {}, "expected": "passed"},
        ],
        "needs": [],
        "configured": True,
    }
    assert rules["total_greater_than"]["params"]["required"] == ["amount"]
    assert rules["total_greater_than"]["params"]["properties"]["amount"]["format"] == "decimal"
    assert rules["total_greater_than"]["params"]["additionalProperties"] is False


def test_rule_list_shows_a_rule_added_by_a_new_class(api_client):
    class NewRule(BaseRule):
        name = "a_new_rule"
        description = "Added by one class."

        def evaluate(self, order):
            return True

    response = api_client.get(reverse("rules:rule-list"))

    assert response.status_code == 200
    assert response.json()[0] == {
        "name": "a_new_rule",
        "description": "Added by one class.",
        "stored": False,
        "params": {"type": "object", "properties": {}, "additionalProperties": False},
        "severity": "error",
        "examples": [],
        "needs": [],
        "configured": True,
    }


@pytest.mark.parametrize(("index", "verdict"), [(0, True), (1, False), (2, True)])
def test_check_of_the_seeded_orders_keeps_passed_and_details(api_client, seeded, index, verdict):
    order = seeded[index]

    response = _check(api_client, {"order_id": order.pk, "rules": BUILT_INS})

    assert response.status_code == 200
    data = response.json()
    assert (data["order_id"], data["ruleset"], data["errors"]) == (order.pk, None, [])
    assert data["passed"] is verdict
    assert data["details"] == dict.fromkeys(BUILT_INS, verdict)
    assert [r["outcome"] for r in data["results"]] == ["passed" if verdict else "failed"] * 3


def test_check_results_say_why_with_observed_and_required_values(api_client, seeded):
    response = _check(api_client, {"order_id": seeded[1].pk, "rules": ["min_total_100"]})

    assert response.status_code == 200
    assert response.json() == {
        "decision_id": Decision.objects.get().pk,
        "order_id": seeded[1].pk,
        "ruleset": None,
        "passed": False,
        "details": {"min_total_100": False},
        "results": [TOTAL_75_50_FAILS_MIN_TOTAL_100],
        "errors": [],
    }


def test_check_with_rule_objects_params_alias_and_warning(api_client, seeded):
    body = {
        "order_id": seeded[0].pk,
        "rules": [
            "min_items_2",
            {
                "name": "total_greater_than",
                "params": {"amount": "250.00"},
                "as": "big_order",
                "severity": "warning",
            },
            {"name": "max_items", "params": {"count": 10}},
        ],
    }

    response = _check(api_client, body)

    assert response.status_code == 200
    assert response.json() == {
        "decision_id": Decision.objects.get().pk,
        "order_id": seeded[0].pk,
        "ruleset": None,
        "passed": True,
        "details": {"min_items_2": True, "big_order": False, "max_items": True},
        "results": [
            {
                "rule": "min_items_2",
                "name": "min_items_2",
                "params": {"count": 2},
                "outcome": "passed",
                "severity": "error",
                "message": "Order has 3 items; at least 2 required.",
                "observed": 3,
                "required": 2,
            },
            {
                "rule": "big_order",
                "name": "total_greater_than",
                "params": {"amount": "250.00"},
                "outcome": "failed",
                "severity": "warning",
                "message": "Total 150.00 is not greater than 250.00.",
                "observed": "150.00",
                "required": "250.00",
                "shortfall": "100.01",
            },
            {
                "rule": "max_items",
                "name": "max_items",
                "params": {"count": 10},
                "outcome": "passed",
                "severity": "error",
                "message": "Order has 3 items; at most 10 allowed.",
                "observed": 3,
                "required": 10,
            },
        ],
        "errors": [],
    }


def test_check_with_fail_fast_skips_the_rest(api_client, seeded):
    body = {"order_id": seeded[1].pk, "rules": BUILT_INS, "fail_fast": True}

    response = _check(api_client, body)

    assert response.status_code == 200
    skipped = "Skipped: an earlier rule already failed the check."
    assert response.json() == {
        "decision_id": Decision.objects.get().pk,
        "order_id": seeded[1].pk,
        "ruleset": None,
        "passed": False,
        "details": {"min_total_100": False, "min_items_2": None, "divisible_by_5": None},
        "results": [
            TOTAL_75_50_FAILS_MIN_TOTAL_100,
            {
                "rule": "min_items_2",
                "name": "min_items_2",
                "params": {"count": 2},
                "outcome": "skipped",
                "severity": "error",
                "message": skipped,
            },
            {
                "rule": "divisible_by_5",
                "name": "divisible_by_5",
                "params": {"divisor": "5.00"},
                "outcome": "skipped",
                "severity": "error",
                "message": skipped,
            },
        ],
        "errors": [],
    }


def test_check_of_an_unstored_order_writes_nothing(api_client):
    body = {"order": {"total": "150.00", "items_count": 3}, "rules": BUILT_INS}

    response = _check(api_client, body)

    assert response.status_code == 200
    assert response.json()["order_id"] is None
    assert response.json()["passed"] is True
    assert Order.objects.count() == 0


def test_check_of_an_unstored_weekend_order(api_client):
    body = {
        "order": {"total": "10.00", "items_count": 1, "created_at": "2026-11-21T10:00:00Z"},
        "rules": ["is_weekend_order"],
    }

    response = _check(api_client, body)

    assert response.status_code == 200
    assert response.json() == {
        "decision_id": Decision.objects.get().pk,
        "order_id": None,
        "ruleset": None,
        "passed": True,
        "details": {"is_weekend_order": True},
        "results": [
            {
                "rule": "is_weekend_order",
                "name": "is_weekend_order",
                "params": {},
                "outcome": "passed",
                "severity": "error",
                "message": "Order placed on Saturday 2026-11-21 (UTC) was placed on a weekend.",
                "observed": "Saturday",
                "required": "Saturday or Sunday",
            }
        ],
        "errors": [],
    }


def _invalid(detail: dict) -> dict:
    return {"error": "Bad Request", "code": "invalid_request", "detail": detail}


@pytest.mark.parametrize(
    ("order", "detail"),
    [
        (
            {"total": "-1.00", "items_count": 1},
            {"total": ["Ensure this value is greater than or equal to 0.00."]},
        ),
        (
            {"total": "1.001", "items_count": 1},
            {"total": ["Ensure that there are no more than 2 decimal places."]},
        ),
        (
            {"total": "100000000.00", "items_count": 1},
            {"total": ["Ensure that there are no more than 10 digits in total."]},
        ),
        (
            {"total": "10.00", "items_count": 0},
            {"items_count": ["Ensure this value is greater than or equal to 1."]},
        ),
        ({"items_count": 1}, {"total": ["This field is required."]}),
        (
            {"total": "10.00", "items_count": 1, "created_at": "yesterday"},
            {
                "created_at": [
                    "Datetime has wrong format. Use one of these formats instead: "
                    "YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z]."
                ]
            },
        ),
    ],
)
def test_an_invalid_unstored_order_is_a_400_naming_the_field(api_client, order, detail):
    response = _check(api_client, {"order": order, "rules": BUILT_INS})

    assert response.status_code == 400
    assert response.json() == _invalid({"order": detail})


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (
            {
                "order_id": 1,
                "order": {"total": "1.00", "items_count": 1},
                "rules": ["min_items_2"],
            },
            {"non_field_errors": ["Give exactly one of 'order_id' and 'order'."]},
        ),
        ({"order_id": 1}, {"rules": ["Give exactly one of 'rules' and 'ruleset'."]}),
        (
            {"order_id": 1, "rules": ["min_items_2"], "ruleset": "checkout"},
            {"non_field_errors": ["Give exactly one of 'rules' and 'ruleset'."]},
        ),
        (
            {"order_id": 1, "rules": ["min_items_2", {"name": "min_items_2"}]},
            {"rules": ["Each key may appear once; repeated: min_items_2."]},
        ),
        (
            {
                "order_id": 1,
                "rules": [
                    {"name": "min_items", "params": {"count": 2}, "as": "x"},
                    {"name": "max_items", "params": {"count": 2}, "as": "x"},
                ],
            },
            {"rules": ["Each key may appear once; repeated: x."]},
        ),
        (
            {"order_id": 1, "rules": [{"params": {}}]},
            {"rules": {"0": {"name": ["This field is required."]}}},
        ),
        (
            {"order_id": 1, "rules": [{"name": "min_items_2", "severity": "fatal"}]},
            {"rules": {"0": {"severity": ['"fatal" is not a valid choice.']}}},
        ),
        (
            {"order_id": 1, "rules": [{"name": "min_items_2", "params": []}]},
            {"rules": {"0": {"params": ['Expected a dictionary of items but got type "list".']}}},
        ),
        (
            {"order_id": 1, "rules": [{"name": "min_items_2", "as": ""}]},
            {"rules": {"0": {"as": ["This field may not be blank."]}}},
        ),
        (
            {"order_id": 1, "rules": [7]},
            {"rules": {"0": ["Expected a rule name or an object with a 'name'."]}},
        ),
    ],
)
def test_invalid_request_forms_are_a_400(api_client, body, detail):
    response = _check(api_client, body)

    assert response.status_code == 400
    assert response.json() == _invalid(detail)


def test_bad_params_are_a_400_naming_the_rule_and_the_parameter(api_client, seeded):
    body = {
        "order_id": seeded[0].pk,
        "rules": [
            {"name": "total_greater_than", "params": {"amount": "lots"}, "as": "big"},
            {"name": "min_items", "params": {}},
        ],
    }

    response = _check(api_client, body)

    assert response.status_code == 400
    assert response.json() == {
        "error": "Invalid rule parameters",
        "code": "invalid_params",
        "detail": {
            "message": "Invalid parameters for rule(s): big (amount); min_items (count)",
            "rules": {
                "big": {"amount": ["A valid number is required."]},
                "min_items": {"count": ["This field is required."]},
            },
        },
    }


def test_check_of_a_missing_order_is_404_in_the_error_shape(api_client):
    response = _check(api_client, {"order_id": 999, "rules": ["min_total_100"]})

    assert response.status_code == 404
    assert response.json() == {
        "error": "Not Found",
        "code": "not_found",
        "detail": "Order with id 999 does not exist.",
    }


def test_check_with_unknown_rules_names_them_and_lists_the_available_ones(api_client, seeded):
    body = {"order_id": seeded[0].pk, "rules": ["min_total_100", "nope", {"name": "nada"}]}

    response = _check(api_client, body)

    assert response.status_code == 400
    assert response.json() == unknown_rules_error("nope", "nada")


def test_a_crashing_rule_is_an_error_outcome_and_others_still_run(api_client, seeded):
    class ExplodingRule(BaseRule):
        name = "exploding"
        description = "Always raises."

        def evaluate(self, order):
            raise RuntimeError("secret internal detail")

    body = {"order_id": seeded[0].pk, "rules": ["exploding", "min_items_2"]}
    response = _check(api_client, body)

    assert response.status_code == 200
    data = response.json()
    assert data["passed"] is False
    assert data["details"] == {"exploding": False, "min_items_2": True}
    exploding = data["results"][0]
    assert exploding["outcome"] == "error"
    assert data["errors"] == [{"rule": "exploding", "reference": exploding["reference"]}]
    assert exploding["reference"] in exploding["message"]
    assert "secret internal detail" not in response.content.decode()


def test_check_with_a_ruleset_names_the_set_and_version(api_client, seeded, checkout_set):
    response = _check(api_client, {"order_id": seeded[0].pk, "ruleset": "checkout"})

    assert response.status_code == 200
    data = response.json()
    assert data["ruleset"] == {"name": "checkout", "version": checkout_set.version}
    assert data["passed"] is True
    assert data["details"] == {"min_items_2": True, "big_order": False}


def test_a_change_to_a_ruleset_is_used_by_the_next_check(api_client, seeded, checkout_set):
    before = _check(api_client, {"order_id": seeded[0].pk, "ruleset": "checkout"})
    item = checkout_set.items.get(alias="big_order")
    item.params = {"amount": "100.00"}
    item.save()
    ruleset_publish(ruleset=checkout_set)

    after = _check(api_client, {"order_id": seeded[0].pk, "ruleset": "checkout"})

    assert before.status_code == after.status_code == 200
    first, second = before.json(), after.json()
    assert first["details"]["big_order"] is False
    assert second["details"]["big_order"] is True
    assert (first["ruleset"]["version"], second["ruleset"]["version"]) == (1, 2)


@pytest.mark.parametrize(
    "pin", [{"ruleset": "checkout@1"}, {"ruleset": "checkout", "ruleset_version": 1}]
)
def test_a_check_may_pin_an_older_version_of_a_ruleset(api_client, seeded, checkout_set, pin):
    item = checkout_set.items.get(alias="big_order")
    item.params = {"amount": "100.00"}
    item.save()
    ruleset_publish(ruleset=checkout_set)

    response = _check(api_client, {"order_id": seeded[0].pk, **pin})

    assert response.status_code == 200
    assert response.json()["ruleset"] == {"name": "checkout", "version": 1}
    assert response.json()["details"]["big_order"] is False


@pytest.mark.parametrize(
    "pin", [{"ruleset": "checkout@9"}, {"ruleset": "checkout", "ruleset_version": 9}]
)
def test_an_unknown_version_of_a_ruleset_is_a_404(api_client, seeded, checkout_set, pin):
    response = _check(api_client, {"order_id": seeded[0].pk, **pin})

    assert response.status_code == 404
    assert response.json() == {
        "error": "Unknown rule set version",
        "code": "unknown_ruleset_version",
        "detail": "Rule set 'checkout' has no version 9.",
    }


PIN_ONCE = ["Pin a version once: `ruleset_version` beside a `ruleset`, or `name@N`."]


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"ruleset": "checkout@1", "ruleset_version": 1}, {"ruleset_version": PIN_ONCE}),
        ({"rules": ["min_items_2"], "ruleset_version": 1}, {"ruleset_version": PIN_ONCE}),
        (
            {"ruleset": "checkout@0"},
            {"ruleset": ["This value does not match the required pattern."]},
        ),
        (
            {"ruleset": "checkout@x"},
            {"ruleset": ["This value does not match the required pattern."]},
        ),
        (
            {"ruleset": "checkout", "ruleset_version": 0},
            {"ruleset_version": ["Ensure this value is greater than or equal to 1."]},
        ),
    ],
)
def test_a_version_pinned_twice_or_badly_is_a_400(api_client, seeded, checkout_set, body, detail):
    response = _check(api_client, {"order_id": seeded[0].pk, **body})

    assert response.status_code == 400
    assert response.json() == _invalid(detail)


def test_a_ruleset_lists_and_shows_its_versions(api_client, checkout_set):
    checkout_set.items.get(alias="big_order").delete()
    ruleset_publish(ruleset=checkout_set)

    listing = api_client.get(reverse("rules:ruleset-version-list", args=["checkout"]))
    first = api_client.get(reverse("rules:ruleset-version-detail", args=["checkout", 1]))
    missing = api_client.get(reverse("rules:ruleset-version-detail", args=["checkout", 3]))

    assert listing.status_code == first.status_code == 200
    assert [v["version"] for v in listing.json()] == [2, 1]
    assert listing.json()[1] == first.json()
    assert first.json()["items"][1] == {
        "rule": "big_order",
        "name": "total_greater_than",
        "params": {"amount": "180.00"},
        "severity": "warning",
    }
    assert first.json()["conditions"] == {}
    assert len(listing.json()[0]["items"]) == 1
    assert missing.status_code == 404
    assert missing.json() == {
        "error": "Unknown rule set version",
        "code": "unknown_ruleset_version",
        "detail": "Rule set 'checkout' has no version 3.",
    }


def test_ruleset_list_and_detail(api_client, checkout_set):
    listing = api_client.get(reverse("rules:ruleset-list"))
    detail = api_client.get(reverse("rules:ruleset-detail", args=["checkout"]))

    assert listing.status_code == detail.status_code == 200
    assert listing.json() == [detail.json()]
    body = detail.json()
    assert body["items"] == [
        {"rule": "min_items_2", "name": "min_items_2", "params": {}, "severity": None},
        {
            "rule": "big_order",
            "name": "total_greater_than",
            "params": {"amount": "180.00"},
            "severity": "warning",
        },
    ]
    assert (body["name"], body["active"], body["version"]) == ("checkout", True, 1)


def test_batch_checks_each_order_and_reports_missing_ids(api_client, seeded):
    ids = [seeded[2].pk, 999, seeded[1].pk, seeded[0].pk]

    with CaptureQueriesContext(connection) as queries:
        response = api_client.post(BATCH, {"order_ids": ids, "rules": BUILT_INS}, format="json")

    # One SELECT of the orders, one INSERT of their decisions (on PostgreSQL the query for
    # their ids, then a COPY, which the count does not see, in a savepoint of the test's).
    sent = [q["sql"] for q in queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]
    assert len(sent) == 2

    assert response.status_code == 200
    data = response.json()
    assert [entry["order_id"] for entry in data["results"]] == [ids[0], ids[2], ids[3]]
    assert [entry["passed"] for entry in data["results"]] == [True, False, True]
    assert data["results"][1]["details"] == dict.fromkeys(BUILT_INS, False)
    assert data["summary"] == {"total": 4, "passed": 2, "failed": 1, "errors": 0, "missing": [999]}
    assert data["ruleset"] is None


def test_batch_with_a_ruleset_and_fail_fast(api_client, seeded, checkout_set):
    body = {"order_ids": [seeded[1].pk], "ruleset": "checkout", "fail_fast": True}

    response = api_client.post(BATCH, body, format="json")

    assert response.status_code == 200
    assert response.json() == {
        "ruleset": {"name": "checkout", "version": 1},
        "results": [
            {
                "decision_id": Decision.objects.get().pk,
                "order_id": seeded[1].pk,
                "passed": False,
                "details": {"min_items_2": False, "big_order": None},
                "results": [
                    {
                        "rule": "min_items_2",
                        "name": "min_items_2",
                        "params": {"count": 2},
                        "outcome": "failed",
                        "severity": "error",
                        "message": "Order has 1 item; at least 2 required.",
                        "observed": 1,
                        "required": 2,
                        "shortfall": 1,
                    },
                    {
                        "rule": "big_order",
                        "name": "total_greater_than",
                        "params": {"amount": "180.00"},
                        "outcome": "skipped",
                        "severity": "warning",
                        "message": "Skipped: an earlier rule already failed the check.",
                    },
                ],
            }
        ],
        "summary": {"total": 1, "passed": 0, "failed": 1, "errors": 0, "missing": []},
    }


@pytest.mark.parametrize(
    ("order_ids", "detail"),
    [
        ([], ["Ensure this field has at least 1 elements."]),
        ([0], {"0": ["Ensure this value is greater than or equal to 1."]}),
        ([1, 1], ["Each id may appear once; repeated: 1."]),
        (list(range(1, 1002)), ["Ensure this field has no more than 1000 elements."]),
        ("1,2", ['Expected a list of items but got type "str".']),
        ([2**63], {"0": ["Ensure this value is less than or equal to 9223372036854775807."]}),
    ],
)
def test_batch_with_invalid_ids_is_a_400(api_client, order_ids, detail):
    response = api_client.post(BATCH, {"order_ids": order_ids, "rules": BUILT_INS}, format="json")

    assert response.status_code == 400
    assert response.json() == _invalid({"order_ids": detail})


# Inactive rule sets: only keys with `analyze` and sessions allowed to view rule sets see them.


@pytest.fixture
def inactive_set(checkout_set):
    """Deactivate the checkout set, and add an active one beside it."""
    RuleSet.objects.filter(pk=checkout_set.pk).update(active=False)
    ruleset_publish(ruleset=RuleSet.objects.create(name="backoffice"))
    return checkout_set


def _ruleset_views(name: str) -> list[str]:
    return [
        reverse("rules:ruleset-detail", args=[name]),
        reverse("rules:ruleset-version-list", args=[name]),
        reverse("rules:ruleset-version-detail", args=[name, 1]),
    ]


def test_an_inactive_set_is_not_listed_for_anonymous_callers(api_client, inactive_set):
    response = api_client.get(reverse("rules:ruleset-list"))

    assert response.status_code == 200
    assert [ruleset["name"] for ruleset in response.json()] == ["backoffice"]


def _no_ruleset(name: str) -> dict:
    return {
        "error": "Not Found",
        "code": "not_found",
        "detail": "No RuleSet matches the given query.",
    }


def _unknown_ruleset(name: str) -> dict:
    return {
        "error": "Unknown rule set",
        "code": "unknown_ruleset",
        "detail": f"No active rule set named {name!r}.",
    }


def _name_the_set(client, endpoint: str, name: str, order_id: int):
    """Send the request of *endpoint* that names the rule set *name*."""
    detail, versions, version = _ruleset_views(name)
    method, url, body = {
        "detail": ("get", detail, None),
        "versions": ("get", versions, None),
        "version": ("get", version, None),
        "check": ("post", CHECK, {"order_id": order_id, "ruleset": name}),
        "batch": ("post", BATCH, {"order_ids": [order_id], "ruleset": name}),
    }[endpoint]
    return getattr(client, method)(url, body, format="json")


@pytest.fixture(params=["anonymous", "check key"])
def unentitled(request, api_client, make_key):
    """Return a client that may not see inactive sets: anonymous, or a key with `check`."""
    if request.param == "check key":
        api_client.credentials(HTTP_AUTHORIZATION=f"Api-Key {make_key('checkout', ['check'])[1]}")
    return api_client


@pytest.mark.parametrize(
    ("endpoint", "error"),
    [
        ("detail", _no_ruleset),
        ("versions", _no_ruleset),
        ("version", _no_ruleset),
        ("check", _unknown_ruleset),
        ("batch", _unknown_ruleset),
    ],
    ids=["detail", "versions", "version", "check", "batch"],
)
def test_an_inactive_set_is_a_404_like_a_missing_one(
    unentitled, seeded, inactive_set, endpoint, error
):
    inactive = _name_the_set(unentitled, endpoint, "checkout", seeded[0].pk)
    missing = _name_the_set(unentitled, endpoint, "nope", seeded[0].pk)

    assert (inactive.status_code, inactive.json()) == (404, error("checkout"))
    assert (missing.status_code, missing.json()) == (404, error("nope"))


def test_an_analyze_key_lists_shows_and_checks_with_an_inactive_set(analyst, seeded, inactive_set):
    listing = analyst.get(reverse("rules:ruleset-list"))
    shown = [analyst.get(url) for url in _ruleset_views("checkout")]
    check = _check(analyst, {"order_id": seeded[0].pk, "ruleset": "checkout"})
    batch = analyst.post(
        BATCH, {"order_ids": [seeded[0].pk], "ruleset": "checkout"}, format="json"
    )

    assert [ruleset["name"] for ruleset in listing.json()] == ["backoffice", "checkout"]
    assert listing.json()[1]["active"] is False
    assert [response.status_code for response in shown] == [200, 200, 200]
    assert check.status_code == batch.status_code == 200
    assert check.json()["ruleset"] == {"name": "checkout", "version": 1}


def test_a_staff_session_sees_an_inactive_set(client, admin_user, inactive_set):
    client.force_login(admin_user)

    response = client.get(reverse("rules:ruleset-detail", args=["checkout"]))

    assert response.status_code == 200
    assert response.json()["active"] is False
