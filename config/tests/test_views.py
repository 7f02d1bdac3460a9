import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

ROOT = Path(__file__).resolve().parents[2]
ERROR_KEYS = {"error", "code", "detail"}


@pytest.mark.django_db
def test_health_is_ok_when_the_database_answers(client):
    response = client.get("/health/")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "throttle_store": "ok"}


UNREACHABLE_DB_SCRIPT = """
import json, sys
import django
django.setup()
from django.test import Client
client = Client(HTTP_HOST="127.0.0.1")
health = client.get("/health/")
check = client.post(
    "/rules/check/", {"order_id": 1, "rules": ["min_total_100"]}, content_type="application/json"
)
with open(sys.argv[1], "w") as out:
    json.dump([[r.status_code, r["Content-Type"], r.json()] for r in (health, check)], out)
"""


def test_health_and_check_are_503_json_when_the_database_cannot_be_opened(tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path}/missing-dir/db.sqlite3",
        "LOG_LEVEL": "CRITICAL",
    }

    results = tmp_path / "results.json"

    subprocess.run(
        [sys.executable, "-c", UNREACHABLE_DB_SCRIPT, str(results)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=60,
        check=True,
    )

    expected_body = {
        "error": "Service Unavailable",
        "code": "database_unavailable",
        "detail": "The database is not available. Try again shortly.",
    }
    assert json.loads(results.read_text()) == [
        [503, "application/json", expected_body],
        [503, "application/json", expected_body],
    ]


@pytest.mark.parametrize(
    ("method", "path", "detail"),
    [
        ("get", "/rules", "No endpoint at /rules. Did you mean /rules/ (with a trailing slash)?"),
        (
            "post",
            "/rules/check",
            "No endpoint at /rules/check. Did you mean /rules/check/ (with a trailing slash)?",
        ),
        ("get", "/rules/nope/", "No endpoint at /rules/nope/."),
        ("delete", "/no/such/path", "No endpoint at /no/such/path."),
        (
            "get",
            "/health",
            "No endpoint at /health. Did you mean /health/ (with a trailing slash)?",
        ),
    ],
)
@pytest.mark.parametrize("debug", [False, True])
def test_unknown_paths_are_json_404s_even_in_debug_mode(
    client, settings, method, path, detail, debug
):
    settings.DEBUG = debug

    response = getattr(client, method)(path)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"error": "Not Found", "code": "not_found", "detail": detail}


def test_admin_without_slash_still_redirects_to_the_admin(client):
    response = client.get("/admin")

    assert response.status_code == 301
    assert response["Location"] == "/admin/"


@pytest.mark.urls("config.tests.failing_urls")
def test_an_unexpected_error_is_a_json_500_with_a_reference_and_no_internals(caplog):
    client = Client(raise_request_exception=False)

    with caplog.at_level(logging.ERROR, logger="django.request"):
        response = client.get("/failing/", HTTP_X_REQUEST_ID="req-123")

    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "error": "Internal Server Error",
        "code": "server_error",
        "detail": "An unexpected error occurred. Reference: req-123",
    }
    assert "hunter2" not in response.content.decode()
    [record] = [r for r in caplog.records if r.name == "django.request"]
    assert record.exc_info[0] is RuntimeError


def test_a_disallowed_host_is_a_json_400(client):
    response = client.get("/rules/", HTTP_HOST="evil.example")

    assert response.status_code == 400
    assert set(response.json()) == ERROR_KEYS
