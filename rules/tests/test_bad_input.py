"""Bad input gets a clear 4xx in the error shape, never a 5xx or an HTML page."""

import json

import pytest
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orders.tests.factories import OrderFactory

pytestmark = pytest.mark.django_db

CHECK = reverse("rules:rule-check")
ERROR_KEYS = {"error", "code", "detail"}


def _post(client: Client, body: bytes | str, content_type: str = "application/json"):
    return client.post(CHECK, data=body, content_type=content_type)


def _assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == ERROR_KEYS
    assert body["code"] == code
    return body


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "order_id"),
        ({"rules": ["min_total_100"]}, "order_id"),
        ({"order_id": 1}, "rules"),
        ({"order_id": 0, "rules": ["min_total_100"]}, "order_id"),
        ({"order_id": -5, "rules": ["min_total_100"]}, "order_id"),
        ({"order_id": 2**63, "rules": ["min_total_100"]}, "order_id"),
        ({"order_id": 10**30, "rules": ["min_total_100"]}, "order_id"),
        ({"order_id": 1.5, "rules": ["min_total_100"]}, "order_id"),
        ({"order_id": True, "rules": ["min_total_100"]}, "order_id"),
        ({"order_id": "one", "rules": ["min_total_100"]}, "order_id"),
        ({"order_id": None, "rules": ["min_total_100"]}, "order_id"),
        ({"order_id": [1], "rules": ["min_total_100"]}, "order_id"),
        ({"order_id": 1, "rules": []}, "rules"),
        ({"order_id": 1, "rules": "min_total_100"}, "rules"),
        ({"order_id": 1, "rules": {"min_total_100": True}}, "rules"),
        ({"order_id": 1, "rules": [None]}, "rules"),
        ({"order_id": 1, "rules": [["min_total_100"]]}, "rules"),
        ({"order_id": 1, "rules": [""]}, "rules"),
        ({"order_id": 1, "rules": ["x" * 101]}, "rules"),
        ({"order_id": 1, "rules": [f"rule_{n}" for n in range(101)]}, "rules"),
        ({"order_id": 1, "rules": ["min_items_2", "min_items_2"]}, "rules"),
    ],
)
def test_invalid_fields_are_a_400_naming_the_field(client, body, field):
    result = _assert_error(_post(client, json.dumps(body)), 400, "invalid_request")

    assert field in result["detail"]


@pytest.mark.parametrize("name", ["\\ud800", "a\\u0000b"])
def test_a_rule_name_with_a_lone_surrogate_or_null_character_is_a_400(client, name):
    body = '{"order_id": 1, "rules": ["' + name + '"]}'

    result = _assert_error(_post(client, body), 400, "invalid_request")

    assert "rules" in result["detail"]


@pytest.mark.parametrize("body", ["[1, 2]", '"text"', "42", "null", "true"])
def test_json_that_is_not_an_object_is_a_400(client, body):
    _assert_error(_post(client, body), 400, "invalid_request")


@pytest.mark.parametrize(
    "body",
    ['{"order_id": 1,', "{'order_id': 1}", '{"order_id": NaN, "rules": []}', b"\xff\xfe{"],
)
def test_malformed_json_is_a_400(client, body):
    _assert_error(_post(client, body), 400, "parse_error")


def test_json_nested_ten_thousand_deep_is_a_400(client):
    body = '{"order_id": 1, "rules": ' + "[" * 10_000 + "]" * 10_000 + "}"

    result = _assert_error(_post(client, body), 400, "parse_error")

    assert result["detail"] == "JSON is nested too deeply."


def test_a_body_of_five_megabytes_is_a_413(client):
    body = json.dumps({"order_id": 1, "rules": ["min_total_100"], "pad": "x" * 5_000_000})

    _assert_error(_post(client, body), 413, "request_too_large")


def test_a_large_body_within_the_limit_is_still_parsed(client):
    order = OrderFactory()
    body = json.dumps({"order_id": order.pk, "rules": ["min_total_100"], "pad": "x" * 500_000})

    response = _post(client, body)

    assert response.status_code == 200
    assert response.json()["order_id"] == order.pk


@pytest.mark.parametrize(
    "url",
    [
        CHECK,
        reverse("rules:rule-check-batch"),
        reverse("rules:rule-query"),
        reverse("rules:rule-report"),
        reverse("rules:ruleset-preview", args=["checkout"]),
    ],
)
@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"],
)
def test_a_body_that_is_not_json_is_a_415_at_every_post_endpoint(analyst, url, content_type):
    response = analyst.post(url, data="rules=min_total_100", content_type=content_type)

    _assert_error(response, 415, "unsupported_media_type")


def test_a_bogus_basic_authorization_header_is_ignored(client):
    order = OrderFactory()
    body = json.dumps({"order_id": order.pk, "rules": ["min_items_2"]})

    response = client.post(
        CHECK, data=body, content_type="application/json", HTTP_AUTHORIZATION="Basic YWRtaW46eA=="
    )

    assert response.status_code == 200
    assert response.json()["details"] == {"min_items_2": order.items_count >= 2}


def _json_values() -> st.SearchStrategy:
    scalars = (
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.text(max_size=120)
    )
    return st.recursive(
        scalars,
        lambda children: (
            st.lists(children, max_size=5)
            | st.dictionaries(st.text(max_size=10), children, max_size=5)
        ),
        max_leaves=20,
    )


_rule_names = st.sampled_from(["min_total_100", "min_items_2", "divisible_by_5"]) | st.text(
    max_size=110
)
_bodies = (
    _json_values()
    | st.fixed_dictionaries({"order_id": _json_values(), "rules": _json_values()})
    | st.fixed_dictionaries(
        {
            "order_id": st.integers(min_value=-(2**70), max_value=2**70),
            "rules": st.lists(_rule_names, max_size=105),
        }
    )
)


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=_bodies)
def test_arbitrary_json_never_gets_a_5xx_and_errors_keep_their_shape(client, body):
    response = _post(client, json.dumps(body))

    assert response.status_code < 500
    assert response["Content-Type"] == "application/json"
    data = response.json()
    if response.status_code == 200:
        assert set(data) >= {"passed", "details"}
    else:
        assert set(data) == ERROR_KEYS


@pytest.mark.parametrize("fail_fast", [0, 1, "true", "yes", None])
def test_fail_fast_is_a_json_boolean_or_a_400(client, fail_fast):
    body = {"order_id": 1, "rules": ["min_total_100"], "fail_fast": fail_fast}

    response = _post(client, json.dumps(body))

    detail = _assert_error(response, 400, "invalid_request")["detail"]
    expected = "This field may not be null." if fail_fast is None else "Must be true or false."
    assert detail == {"fail_fast": [expected]}
