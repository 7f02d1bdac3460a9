"""Health checks for orchestrators: liveness, readiness, and a database that breaks."""

import json
import os
import sqlite3
import time
from contextlib import closing
from pathlib import Path

import pytest
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder

from config.tests.servers import http_request, start_gunicorn

pytestmark = pytest.mark.django_db

UNAVAILABLE = {
    "error": "Service Unavailable",
    "code": "database_unavailable",
    "detail": "The database is not available. Try again shortly.",
}
READY = {"status": "ok", "database": "ok", "throttle_store": "ok"}
CHECK = {"order_id": 1, "rules": ["min_total_100"]}


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
    assert response.json()["status"] == "ok"
    assert response.json() == READY


def test_readiness_reports_a_throttle_store_that_fails_and_stays_ready(client):
    """Throttling fails open without its store, so the service still takes traffic."""
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE django_cache RENAME TO django_cache_away")

    response = client.get("/health/ready")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "throttle_store": "unavailable"}


@pytest.mark.parametrize("path", ["/health/", "/health/live", "/health/ready"])
def test_health_checks_are_not_redirected_to_https(client, settings, path):
    settings.SECURE_SSL_REDIRECT = True

    response = client.get(path)

    assert response.status_code == 200
    assert response.json()["status"] == "ok"


@pytest.mark.server
def test_a_missing_database_file_is_a_503_and_recovery_needs_no_restart(
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

    # Each answered (within the client's 10 s guard against a hang), none a 500.
    assert [(status, body) for status, body, _ in answers] == [(503, UNAVAILABLE)] * 3
    assert live[:2] == (200, {"status": "ok"})
    assert call(f"{server.url}/health/ready")[:2] == (200, READY)
    status, body, _ = call(f"{server.url}/rules/check/", check)
    assert (status, body["passed"]) == (200, True)


def copy_database(source: Path, target: Path) -> None:
    """Put a consistent copy of the SQLite database *source* at *target*, at once."""
    fresh = target.with_name("fresh.sqlite3")
    with closing(sqlite3.connect(source)) as original, closing(sqlite3.connect(fresh)) as copy:
        original.backup(copy)
    fresh.replace(target)


def unavailable_records(log: str) -> list[dict]:
    """Return the ``database unavailable`` records of a gunicorn log."""
    records = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    return [record for record in records if record["message"] == "database unavailable"]


def cause(record: dict) -> str:
    """Return what a ``database unavailable`` record gives as its cause."""
    return record.get("cause") or record["exc_info"].splitlines()[-1]


def replace_with_garbage(path: Path) -> None:
    garbage = path.with_name("garbage")
    garbage.write_bytes(b"this is not a database\n" * 256)
    garbage.replace(path)


def move_away(path: Path) -> None:
    path.rename(path.with_name("moved-away.sqlite3"))


def empty(path: Path) -> None:
    path.write_bytes(b"")


@pytest.mark.server
@pytest.mark.parametrize(
    ("break_database", "logged_cause"),
    [
        (replace_with_garbage, "django.db.utils.DatabaseError: file is not a database"),
        (move_away, "the SQLite file is missing"),
        (empty, "the database holds no schema"),
    ],
)
def test_a_broken_sqlite_file_is_503_database_unavailable_until_it_is_restored(
    gunicorn_site, gunicorn_factory, tmp_path, break_database, logged_cause
):
    site, _ = gunicorn_site
    database = tmp_path / "db.sqlite3"
    copy_database(site / "db.sqlite3", database)
    # No persistent connection: every request opens the file, as a new worker would.
    server = gunicorn_factory(DATABASE_URL=f"sqlite:///{database}", CONN_MAX_AGE="0")

    break_database(database)
    existed = database.exists()
    readiness = [call(f"{server.url}{path}")[:2] for path in ("/health/", "/health/ready")]
    exists_after_readiness = database.exists()
    readiness_log = unavailable_records(server.log())
    api = [call(f"{server.url}/rules/check/", CHECK)[:2], call(f"{server.url}/orders/")[:2]]
    api_log = unavailable_records(server.log())[len(readiness_log) :]
    copy_database(site / "db.sqlite3", database)

    assert readiness == [(503, UNAVAILABLE)] * 2
    assert exists_after_readiness is existed
    assert [cause(record) for record in readiness_log] == [logged_cause] * 2
    assert api == [(503, UNAVAILABLE)] * 2
    assert len(api_log) == 2
    assert '"Internal Server Error' not in server.log()
    assert call(f"{server.url}/health/ready")[:2] == (200, READY)
    status, body, _ = call(f"{server.url}/rules/check/", CHECK)
    assert (status, body["passed"]) == (200, True)


@pytest.mark.server
def test_a_corrupt_table_is_503_database_unavailable_logged_with_its_cause(
    gunicorn_site, gunicorn_factory, tmp_path
):
    site, _ = gunicorn_site
    database = tmp_path / "db.sqlite3"
    copy_database(site / "db.sqlite3", database)
    server = gunicorn_factory(DATABASE_URL=f"sqlite:///{database}", CONN_MAX_AGE="0")
    with closing(sqlite3.connect(database)) as connection:
        (page,) = connection.execute(
            "SELECT rootpage FROM sqlite_master WHERE name = 'orders_order'"
        ).fetchone()
        (page_size,) = connection.execute("PRAGMA page_size").fetchone()
    with database.open("r+b") as file:
        file.seek((page - 1) * page_size)
        file.write(b"\xff" * page_size)

    answer = call(f"{server.url}/orders/")[:2]

    assert answer == (503, UNAVAILABLE)
    assert [cause(record) for record in unavailable_records(server.log())] == [
        "django.db.utils.DatabaseError: database disk image is malformed"
    ]


# gunicorn as root, but without the capability that lets root write whatever the
# file's mode: a file without write permission is then read-only to it, as to any user.
WITHOUT_OVERRIDE = ["setpriv", "--bounding-set=-dac_override,-dac_read_search"]


@pytest.mark.server
def test_a_read_only_database_file_is_503_until_writable_again_with_no_restart(
    gunicorn_site, tmp_path
):
    """A SQLite connection opened on a read-only file stays read-only: it must not be kept."""
    site, env = gunicorn_site
    database = tmp_path / "db.sqlite3"
    copy_database(site / "db.sqlite3", database)
    rates = {name: "1000/min" for name in ("THROTTLE_CHECK", "THROTTLE_ANONYMOUS")}
    env = {**env, **rates, "DATABASE_URL": f"sqlite:///{database}", "WEB_CONCURRENCY": "1"}
    prefix = WITHOUT_OVERRIDE if os.geteuid() == 0 else []

    database.chmod(0o444)
    # One worker, whose kept connection (CONN_MAX_AGE) opens on the read-only file.
    with start_gunicorn(env, tmp_path / "gunicorn.log", prefix) as server:
        read_only = [
            call(f"{server.url}/rules/check/", CHECK)[:2],
            call(f"{server.url}/orders/")[0],
            call(f"{server.url}/rules/")[0],
            call(f"{server.url}/health/ready")[:2],
        ]
        # SQLite made its -wal and -shm files read-only like the database: all three.
        for path in tmp_path.glob("db.sqlite3*"):
            path.chmod(0o644)
        writable = [call(f"{server.url}/rules/check/", CHECK)[:2] for _ in range(2)]
        log = server.log()

    # Reads pass (throttling fails open); the check, which records its decision, cannot.
    assert read_only == [(503, UNAVAILABLE), 200, 200, (200, READY)]
    assert [(status, body["passed"]) for status, body in writable] == [(200, True)] * 2
    assert '"Internal Server Error' not in log


@pytest.mark.parametrize("path", ["/health/", "/health/ready"])
def test_readiness_answers_migrations_pending_while_a_migration_is_not_applied(client, path):
    MigrationRecorder.Migration.objects.filter(app="orders").order_by("-name")[:1].get().delete()

    response = client.get(path)

    assert response.status_code == 503
    assert response.json() == {
        "error": "Service Unavailable",
        "code": "migrations_pending",
        "detail": "The database schema is older than the code: migrations are pending.",
    }


def test_readiness_accepts_migrations_the_code_does_not_know(client):
    MigrationRecorder.Migration.objects.create(app="orders", name="9999_from_a_newer_release")

    response = client.get("/health/ready")

    assert (response.status_code, response.json()) == (200, READY)


# Outside a test's transaction, as in production: no savepoint around the store's read.
@pytest.mark.django_db(transaction=True)
def test_readiness_checks_the_schema_and_the_throttle_store_with_three_small_queries(
    client, django_assert_num_queries
):
    client.get("/health/ready")

    with django_assert_num_queries(3):
        response = client.get("/health/ready")

    assert (response.status_code, response.json()) == (200, READY)
