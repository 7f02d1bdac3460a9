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


def test_a_check_logs_its_verdict_with_the_request_id(client, json_log_lines):
    order = OrderFactory()

    response = client.post(
        "/rules/check/",
        {"order_id": order.pk, "rules": ["min_items_2"]},
        content_type="application/json",
        HTTP_X_REQUEST_ID="check-1",
    )

    [line] = [line for line in json_log_lines() if line["logger"] == "rules.views"]
    assert line == {
        "time": line["time"],
        "level": "INFO",
        "logger": "rules.views",
        "message": "rules checked",
        "order_id": order.pk,
        "passed": True,
        "decision_id": response.json()["decision_id"],
        "request_id": "check-1",
    }


def test_a_streamed_report_is_logged_when_its_stream_ends_with_the_bytes_sent(
    client, json_log_lines
):
    OrderFactory.create_batch(3)

    response = client.post(
        "/rules/report/",
        {"rules": ["min_items_2"]},
        content_type="application/json",
        HTTP_X_REQUEST_ID="report-1",
    )
    logged_before_reading = [
        line for line in json_log_lines() if line["logger"] == "config.access"
    ]
    body = b"".join(response.streaming_content)
    response.close()

    [line] = [line for line in json_log_lines() if line["logger"] == "config.access"]
    assert logged_before_reading == []
    assert (line["path"], line["status"], line["request_id"]) == (
        "/rules/report/",
        200,
        "report-1",
    )
    assert line["bytes"] == len(body) > 0
