"""Health checks for orchestrators: liveness, readiness, and a database file that goes away."""

import sqlite3
import time

import pytest

from config.tests.servers import http_request

pytestmark = pytest.mark.django_db

UNAVAILABLE = {
    "error": "Service Unavailable",
    "code": "database_unavailable",
    "detail": "The database is not available. Try again shortly.",
}


def call(url: str, payload: dict | None = None) -> tuple[int, object, float]:
    """Send a GET (or a JSON POST of *payload*); return status, JSON body and seconds."""
    started = time.monotonic()
    reply = http_request(url, payload, timeout=10)
    return reply.status, reply.json(), time.monotonic() - started


def test_liveness_answers_without_touching_the_database(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/health/live")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.parametrize("path", ["/health/", "/health/ready"])
def test_readiness_is_ok_when_the_database_answers_and_rules_are_registered(client, path):
    response = client.get(path)

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


@pytest.mark.parametrize("path", ["/health/", "/health/live", "/health/ready"])
def test_health_checks_are_not_redirected_to_https(client, settings, path):
    settings.SECURE_SSL_REDIRECT = True

    response = client.get(path)

    assert response.status_code == 200


@pytest.mark.server
def test_a_missing_database_file_is_a_fast_503_and_recovery_needs_no_restart(
    gunicorn_site, gunicorn_factory, tmp_path
):
    site, _ = gunicorn_site
    data = tmp_path / "data"
    data.mkdir()
    with (
        sqlite3.connect(site / "db.sqlite3") as source,
        sqlite3.connect(data / "db.sqlite3") as copy,
    ):
        source.backup(copy)
    # No persistent connection: every request opens the file, as a new worker would.
    server = gunicorn_factory(DATABASE_URL=f"sqlite:///{data / 'db.sqlite3'}", CONN_MAX_AGE="0")
    check = {"order_id": 1, "rules": ["min_total_100"]}

    data.rename(tmp_path / "away")
    answers = [
        call(f"{server.url}/health/"),
        call(f"{server.url}/health/ready"),
        call(f"{server.url}/rules/check/", check),
    ]
    live = call(f"{server.url}/health/live")
    (tmp_path / "away").rename(data)

    assert [(status, body) for status, body, _ in answers] == [(503, UNAVAILABLE)] * 3
    assert all(seconds < 2.0 for _, _, seconds in answers)
    assert live[:2] == (200, {"status": "ok"})
    assert call(f"{server.url}/health/ready")[:2] == (200, {"status": "ok", "database": "ok"})
    status, body, _ = call(f"{server.url}/rules/check/", check)
    assert (status, body["passed"]) == (200, True)
