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


def _assert_error(response, status: int, body: dict) -> None:
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    assert response.json() == body


def _invalid(detail: dict) -> dict:
    return {"error": "Bad Request", "code": "invalid_request", "detail": detail}


def _unparsable(detail: str) -> dict:
    return {"error": "Bad Request", "code": "parse_error", "detail": detail}


ONE_ORDER = ["Give exactly one of 'order_id' and 'order'."]
AT_LEAST_1 = ["Ensure this value is greater than or equal to 1."]
AT_MOST_64_BITS = ["Ensure this value is less than or equal to 9223372036854775807."]
NOT_AN_INTEGER = ["A valid integer is required."]


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({}, {"order_id": ONE_ORDER}),
        ({"rules": ["min_total_100"]}, {"order_id": ONE_ORDER}),
        ({"order_id": 1}, {"rules": ["Give exactly one of 'rules' and 'ruleset'."]}),
        ({"order_id": 0, "rules": ["min_total_100"]}, {"order_id": AT_LEAST_1}),
        ({"order_id": -5, "rules": ["min_total_100"]}, {"order_id": AT_LEAST_1}),
        ({"order_id": 2**63, "rules": ["min_total_100"]}, {"order_id": AT_MOST_64_BITS}),
        ({"order_id": 10**30, "rules": ["min_total_100"]}, {"order_id": AT_MOST_64_BITS}),
        ({"order_id": 1.5, "rules": ["min_total_100"]}, {"order_id": NOT_AN_INTEGER}),
        ({"order_id": True, "rules": ["min_total_100"]}, {"order_id": NOT_AN_INTEGER}),
        ({"order_id": "one", "rules": ["min_total_100"]}, {"order_id": NOT_AN_INTEGER}),
        (
            {"order_id": None, "rules": ["min_total_100"]},
            {"order_id": ["This field may not be null."]},
        ),
        ({"order_id": [1], "rules": ["min_total_100"]}, {"order_id": NOT_AN_INTEGER}),
        ({"order_id": 1, "rules": []}, {"rules": ["Ensure this field has at least 1 elements."]}),
        (
            {"order_id": 1, "rules": "min_total_100"},
            {"rules": ['Expected a list of items but got type "str".']},
        ),
        (
            {"order_id": 1, "rules": {"min_total_100": True}},
            {"rules": ['Expected a list of items but got type "dict".']},
        ),
        ({"order_id": 1, "rules": [None]}, {"rules": {"0": ["This field may not be null."]}}),
        (
            {"order_id": 1, "rules": [["min_total_100"]]},
            {"rules": {"0": ["Expected a rule name or an object with a 'name'."]}},
        ),
        ({"order_id": 1, "rules": [""]}, {"rules": {"0": ["This field may not be blank."]}}),
        (
            {"order_id": 1, "rules": ["x" * 101]},
            {"rules": {"0": ["Ensure this field has no more than 100 characters."]}},
        ),
        (
            {"order_id": 1, "rules": [f"rule_{n}" for n in range(101)]},
            {"rules": ["Ensure this field has no more than 100 elements."]},
        ),
        (
            {"order_id": 1, "rules": ["min_items_2", "min_items_2"]},
            {"rules": ["Each key may appear once; repeated: min_items_2."]},
        ),
    ],
)
def test_invalid_fields_are_a_400_naming_the_field(client, body, detail):
    _assert_error(_post(client, json.dumps(body)), 400, _invalid(detail))


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("\\ud800", "Surrogate characters are not allowed: U+D800."),
        ("a\\u0000b", "Null characters are not allowed."),
    ],
)
def test_a_rule_name_with_a_lone_surrogate_or_null_character_is_a_400(client, name, message):
    body = '{"order_id": 1, "rules": ["' + name + '"]}'

    _assert_error(_post(client, body), 400, _invalid({"rules": {"0": [message]}}))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("[1, 2]", "Invalid data. Expected a dictionary, but got list."),
        ('"text"', "Invalid data. Expected a dictionary, but got str."),
        ("42", "Invalid data. Expected a dictionary, but got int."),
        ("null", "No data provided"),
        ("true", "Invalid data. Expected a dictionary, but got bool."),
    ],
)
def test_json_that_is_not_an_object_is_a_400(client, body, message):
    _assert_error(_post(client, body), 400, _invalid({"non_field_errors": [message]}))


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (
            '{"order_id": 1,',
            "JSON parse error - Expecting property name enclosed in double quotes: "
            "line 1 column 16 (char 15)",
        ),
        (
            "{'order_id': 1}",
            "JSON parse error - Expecting property name enclosed in double quotes: "
            "line 1 column 2 (char 1)",
        ),
        ('{"order_id": NaN, "rules": []}', "JSON parse error - NaN is not valid JSON"),
        (b"\xff\xfe{", "Request body is not valid utf-8."),
    ],
)
def test_malformed_json_is_a_400(client, body, detail):
    _assert_error(_post(client, body), 400, _unparsable(detail))


def test_json_nested_ten_thousand_deep_is_a_400(client):
    body = '{"order_id": 1, "rules": ' + "[" * 10_000 + "]" * 10_000 + "}"

    _assert_error(_post(client, body), 400, _unparsable("JSON is nested too deeply."))


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (
            '{"order_id": 1, "rules": [{"name": "total_greater_than", '
            '"params": {"\\ud800": "1"}}]}',
            {"rules": {"0": {"params": ["Surrogate characters are not allowed: U+D800."]}}},
        ),
        (
            '{"order_id": 1, "rules": [{"name": "total_greater_than", '
            '"params": {"a\\u0000": 1}}]}',
            {"rules": {"0": {"params": ["Null characters are not allowed."]}}},
        ),
        (
            '{"order_id": 1, "rules": ["min_total_100"], "\\udfff": 1}',
            {"non_field_errors": ["Surrogate characters are not allowed: U+DFFF."]},
        ),
        (
            '{"order_id": 1, "rules": [{"name": "total_greater_than", "params": {"amount": '
            '["\\ud83d"]}}]}',
            {
                "rules": {
                    "0": {
                        "params": {
                            "amount": {"0": ["Surrogate characters are not allowed: U+D83D."]}
                        }
                    }
                }
            },
        ),
    ],
)
def test_a_lone_surrogate_or_null_character_anywhere_is_a_400_at_its_place(client, body, detail):
    """Object keys too: such a key is reported at its object, and never echoed."""
    response = _post(client, body)

    assert response.status_code == 400
    assert response.json() == {"error": "Bad Request", "code": "invalid_request", "detail": detail}


def test_a_lone_surrogate_in_a_filter_name_is_a_400(analyst):
    body = '{"rules": ["min_total_100"], "outcome": "passed", "filters": {"\\ud800": "1"}}'

    response = analyst.post(reverse("rules:rule-query"), body, content_type="application/json")

    assert response.status_code == 400
    assert response.json() == {
        "error": "Bad Request",
        "code": "invalid_request",
        "detail": {"filters": ["Surrogate characters are not allowed: U+D800."]},
    }


def test_a_surrogate_pair_is_one_character_and_no_error(client):
    order = OrderFactory()
    body = '{"order_id": ORDER, "rules": [{"name": "min_total_100", "as": "\\ud83d\\ude00"}]}'

    response = _post(client, body.replace("ORDER", str(order.pk)))

    assert response.status_code == 200
    assert list(response.json()["details"]) == ["\U0001f600"]


@pytest.mark.parametrize(
    "charset", ["hex", "rot13", "base64", "latin-1", "ascii", "no-such-charset"]
)
def test_a_charset_that_json_does_not_come_in_is_a_415(client, charset):
    body = json.dumps({"order_id": 1, "rules": ["min_total_100"]}).encode()

    response = client.generic(
        "POST", CHECK, data=body, content_type=f"application/json; charset={charset}"
    )

    assert response.status_code == 415
    assert response.json() == {
        "error": "Unsupported Media Type",
        "code": "unsupported_media_type",
        "detail": f'Unsupported charset "{charset}": send JSON in UTF-8 (or UTF-16, UTF-32).',
    }


@pytest.mark.parametrize("charset", ["utf-8", "UTF8", '"utf-8"', "utf-16", "utf-16-be", "utf-32"])
def test_a_body_in_a_charset_json_comes_in_is_read_in_it(client, charset):
    order = OrderFactory()
    encoding = charset.strip('"')
    body = json.dumps({"order_id": order.pk, "rules": ["min_items_2"]}).encode(encoding)

    response = client.generic(
        "POST", CHECK, data=body, content_type=f"application/json; charset={charset}"
    )

    assert response.status_code == 200
    assert response.json()["details"] == {"min_items_2": order.items_count >= 2}


def test_a_body_of_five_megabytes_is_a_413(client):
    body = json.dumps({"order_id": 1, "rules": ["min_total_100"], "pad": "x" * 5_000_000})

    _assert_error(
        _post(client, body),
        413,
        {
            "error": "Request Entity Too Large",
            "code": "request_too_large",
            "detail": "Request body is too large.",
        },
    )


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

    _assert_error(
        response,
        415,
        {
            "error": "Unsupported Media Type",
            "code": "unsupported_media_type",
            "detail": f'Unsupported media type "{content_type}" in request.',
        },
    )


def test_a_bogus_basic_authorization_header_is_ignored(client):
    order = OrderFactory()
    body = json.dumps({"order_id": order.pk, "rules": ["min_items_2"]})

    response = client.post(
        CHECK, data=body, content_type="application/json", HTTP_AUTHORIZATION="Basic YWRtaW46eA=="
    )

    assert response.status_code == 200
    assert response.json()["details"] == {"min_items_2": order.items_count >= 2}


# Any code point, lone surrogates and NUL included, which json.dumps escapes.
_any_text = st.text(st.characters(exclude_categories=()), max_size=120)


def _json_values() -> st.SearchStrategy:
    scalars = (
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats(allow_nan=False, allow_infinity=False)
        | _any_text
    )
    return st.recursive(
        scalars,
        lambda children: (
            st.lists(children, max_size=5)
            | st.dictionaries(st.text(max_size=10) | _any_text, children, max_size=5)
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


@pytest.mark.parametrize(
    ("fail_fast", "message"),
    [
        (0, "Must be true or false."),
        (1, "Must be true or false."),
        ("true", "Must be true or false."),
        ("yes", "Must be true or false."),
        (None, "This field may not be null."),
    ],
)
def test_fail_fast_is_a_json_boolean_or_a_400(client, fail_fast, message):
    body = {"order_id": 1, "rules": ["min_total_100"], "fail_fast": fail_fast}

    response = _post(client, json.dumps(body))

    _assert_error(response, 400, _invalid({"fail_fast": [message]}))
