import io
import json
import logging
import logging.config

import pytest
from django.conf import settings as django_settings

from orders.tests.factories import OrderFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def json_log_lines():
    """Capture what the configured JSON handler writes, as parsed lines."""
    stream = io.StringIO()
    handler = logging.getLogger().handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    original = handler.setStream(stream)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        handler.setStream(original)


def test_logging_is_configured_as_json_lines_on_stdout():
    config = django_settings.LOGGING

    assert config["handlers"]["stdout"]["stream"] == "ext://sys.stdout"
    assert config["formatters"]["json"]["()"] == "pythonjsonlogger.orjson.OrjsonFormatter"


def test_each_request_logs_one_access_line_with_the_request_id(client, json_log_lines):
    response = client.get("/rules/", HTTP_X_REQUEST_ID="abc-123")

    access = [line for line in json_log_lines() if line["logger"] == "config.access"]
    assert response["X-Request-ID"] == "abc-123"
    assert len(access) == 1
    [line] = access
    assert line["message"] == "request served"
    assert (line["method"], line["path"], line["status"]) == ("GET", "/rules/", 200)
    assert line["request_id"] == "abc-123"
    assert isinstance(line["duration_ms"], float)
    assert line["level"] == "INFO"


@pytest.mark.parametrize("supplied", ["", "has spaces", "x" * 129, "new\nline"])
def test_a_missing_or_malformed_request_id_is_replaced_by_a_generated_one(client, supplied):
    response = client.get("/rules/", HTTP_X_REQUEST_ID=supplied)

    assert response["X-Request-ID"] != supplied
    assert len(response["X-Request-ID"]) == 32


def test_a_check_is_one_log_line_carrying_its_verdict(client, json_log_lines):
    order = OrderFactory()

    response = client.post(
        "/rules/check/",
        {"order_id": order.pk, "rules": ["min_items_2"]},
        content_type="application/json",
        HTTP_X_REQUEST_ID="check-1",
    )

    [line] = json_log_lines()
    assert line == {
        **{key: line[key] for key in ("time", "duration_ms", "bytes", "client_ip")},
        "level": "INFO",
        "logger": "config.access",
        "message": "request served",
        "method": "POST",
        "path": "/rules/check/",
        "route": "rules:rule-check",
        "status": 200,
        "caller": "anonymous",
        "request_id": "check-1",
        "decision_id": response.json()["decision_id"],
        "order_id": order.pk,
        "ruleset": None,
        "ruleset_version": None,
        "passed": True,
    }


def test_a_batch_line_carries_its_summary(client, json_log_lines):
    orders = OrderFactory.create_batch(2, items_count=1)

    response = client.post(
        "/rules/check/batch/",
        {"order_ids": [*(order.pk for order in orders), 999], "rules": ["min_items_2"]},
        content_type="application/json",
    )

    assert response.status_code == 200
    [line] = json_log_lines()
    assert {key: line[key] for key in ("route", "orders", "passed", "failed", "errors")} == {
        "route": "rules:rule-check-batch",
        "orders": 3,
        "passed": 0,
        "failed": 2,
        "errors": 0,
    }


def test_a_streamed_report_is_logged_when_its_stream_ends_with_the_bytes_sent(
    analyst, json_log_lines
):
    OrderFactory.create_batch(3)

    response = analyst.post(
        "/rules/report/", {"rules": ["min_items_2"]}, format="json", HTTP_X_REQUEST_ID="report-1"
    )
    logged_before_reading = [
        line for line in json_log_lines() if line["logger"] == "config.access"
    ]
    body = b"".join(response.streaming_content)
    response.close()

    [line] = [line for line in json_log_lines() if line["logger"] == "config.access"]
    assert logged_before_reading == []
    assert (line["path"], line["status"], line["request_id"], line["caller"]) == (
        "/rules/report/",
        200,
        "report-1",
        "key:analyst",
    )
    assert line["bytes"] == len(body) > 0


def _access_line(json_log_lines) -> dict:
    [line] = [line for line in json_log_lines() if line["logger"] == "config.access"]
    return line


def test_the_access_line_names_an_anonymous_caller_and_its_address(client, json_log_lines):
    client.get("/rules/", REMOTE_ADDR="203.0.113.7")

    line = _access_line(json_log_lines)
    assert (line["caller"], line["client_ip"]) == ("anonymous", "203.0.113.7")


def test_the_access_line_names_a_key_by_its_name(api_client, make_key, json_log_lines):
    _, key = make_key("checkout-eu", ["check"])

    api_client.get("/rules/", HTTP_AUTHORIZATION=f"Api-Key {key}")

    assert _access_line(json_log_lines)["caller"] == "key:checkout-eu"


def test_the_access_line_names_a_user_by_id_in_the_admin_too(admin_client, json_log_lines):
    admin_client.get("/admin/")

    user_id = admin_client.session["_auth_user_id"]
    assert _access_line(json_log_lines)["caller"] == f"user:{user_id}"


def test_a_request_refused_for_its_key_is_logged_as_anonymous(api_client, json_log_lines):
    api_client.get("/rules/", HTTP_AUTHORIZATION="Api-Key wrong.key")

    line = _access_line(json_log_lines)
    assert (line["status"], line["caller"]) == (401, "anonymous")


@pytest.mark.parametrize(
    ("num_proxies", "client_ip"),
    [(0, "10.0.0.1"), (1, "198.51.100.2"), (2, "203.0.113.9"), (5, "192.0.2.66")],
)
def test_x_forwarded_for_counts_only_for_the_trusted_proxies(
    client, settings, json_log_lines, num_proxies, client_ip
):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": num_proxies}

    client.get(
        "/rules/",
        REMOTE_ADDR="10.0.0.1",
        HTTP_X_FORWARDED_FOR="192.0.2.66, 203.0.113.9, 198.51.100.2",
    )

    assert _access_line(json_log_lines)["client_ip"] == client_ip
