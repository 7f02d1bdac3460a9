"""The proxy in front of the service (deploy/nginx), as docker-compose runs it.

nginx runs its configuration as it is, before a check pool and an analysis
pool of production gunicorn (``start_proxied_stack``), on the session's site.
"""

import json
import re

import pytest

from config.tests.servers import http_request, start_proxied_stack, wait_until

pytestmark = pytest.mark.server

CHECK = {"order_id": 1, "rules": ["min_total_100"]}


def logged(log: str, message: str, request_id: str) -> list[dict]:
    """Return the JSON lines of *log* with *message* that name *request_id*."""
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    return [
        line
        for line in lines
        if line.get("message") == message and line.get("request_id") == request_id
    ]


def test_a_client_cannot_pick_the_address_the_service_sees(proxied_stack):
    reply = http_request(
        f"{proxied_stack.url}/rules/check/",
        CHECK,
        headers={"X-Forwarded-For": "203.0.113.9", "X-Request-ID": "spoofed-address"},
    )

    assert reply.status == 200
    [served] = logged(proxied_stack.checks.log(), "request served", "spoofed-address")
    assert served["client_ip"] == "127.0.0.1"


def test_the_proxy_and_the_service_log_one_request_id(proxied_stack):
    kept = http_request(
        f"{proxied_stack.url}/rules/check/", CHECK, headers={"X-Request-ID": "abc.123"}
    )
    replaced = http_request(
        f"{proxied_stack.url}/rules/check/", CHECK, headers={"X-Request-ID": "a b"}
    )

    assert kept.headers["X-Request-ID"] == "abc.123"
    new_id = replaced.headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", new_id)
    ids = ("abc.123", new_id)
    # nginx logs a request once it has sent the whole answer: a moment after it came.
    assert wait_until(
        lambda: all(logged(proxied_stack.proxy.log(), "request proxied", i) for i in ids), 5
    )
    for request_id in ids:
        [proxied] = logged(proxied_stack.proxy.log(), "request proxied", request_id)
        [served] = logged(proxied_stack.checks.log(), "request served", request_id)
        assert proxied["status"] == served["status"] == 200


def test_the_proxy_names_no_version(proxied_stack):
    reply = http_request(f"{proxied_stack.url}/health/")

    assert reply.headers["Server"] == "nginx"


def test_a_body_over_the_limit_is_refused_by_the_proxy_in_the_error_shape(proxied_stack):
    reply = http_request(
        f"{proxied_stack.url}/rules/check/",
        {**CHECK, "pad": "x" * (1024 * 1024)},
        headers={"X-Request-ID": "too-large"},
    )

    # What the service itself answers, asked directly.
    direct = http_request(
        f"{proxied_stack.checks.url}/rules/check/", {**CHECK, "pad": "x" * (1024 * 1024)}
    )

    assert (reply.status, reply.headers["Content-Type"]) == (413, "application/json")
    assert reply.json() == {
        "error": "Request Entity Too Large",
        "code": "request_too_large",
        "detail": "Request body is too large.",
    }
    assert logged(proxied_stack.checks.log(), "request served", "too-large") == []
    assert (direct.status, direct.json()) == (reply.status, reply.json())


def test_a_pool_that_does_not_answer_is_a_502_in_the_error_shape(gunicorn_site, tmp_path):
    _, env = gunicorn_site
    with start_proxied_stack(env, tmp_path) as proxied:
        proxied.analysis.stop()
        reply = http_request(f"{proxied.url}/decisions/")
        check = http_request(f"{proxied.url}/rules/check/", CHECK)

    assert (reply.status, reply.headers["Content-Type"]) == (502, "application/json")
    assert reply.json() == {
        "error": "Bad Gateway",
        "code": "upstream_unavailable",
        "detail": "The service is not available. Try again shortly.",
    }
    assert check.status == 200
