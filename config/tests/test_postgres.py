"""The service on a real PostgreSQL: server-side constraints, concurrent writers, outages.

These tests need PostgreSQL (``make test-postgres`` starts a throw-away
cluster) and, for the outage tests, ``TEST_DATABASE_CONTROL``: a command that
takes ``stop`` or ``start``. ``make test`` deselects them by their marker.
"""

import json
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from decimal import Decimal
from urllib.parse import quote

import psycopg2
import pytest
from django.db import IntegrityError, connection, transaction

from api.models import ClientKey
from config.tests.scrapes import Scrape, labels
from config.tests.servers import REPO_ROOT, http_request
from orders.models import Order
from orders.services import order_create

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def database_control():
    """Return a function that stops or starts the database server, and restart it after."""
    command = os.environ.get("TEST_DATABASE_CONTROL")
    if not command:
        pytest.fail(
            "set TEST_DATABASE_CONTROL to a command taking stop|start (`make test-postgres` does)"
        )

    def control(action: str) -> None:
        # Our own connection would be broken by the restart: close it first.
        connection.close()
        subprocess.run([*shlex.split(command), action], check=True, timeout=120)

    stopped = False

    def tracked(action: str) -> None:
        nonlocal stopped
        control(action)
        stopped = action == "stop"

    yield tracked
    if stopped:
        control("start")


def live_database_url() -> str:
    """Return a URL of the test database, for a server in another process."""
    db = connection.settings_dict
    credentials = quote(db["USER"], safe="")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"], safe="")
    return f"postgres://{credentials}@{db['HOST']}:{db['PORT']}/{quote(db['NAME'], safe='')}"


def call(
    url: str, payload: dict | None = None, timeout: float = 10.0, key: str | None = None
) -> tuple[int, str, object, float]:
    """Send a GET (or a JSON POST of *payload*), with API *key* if given.

    Return the status, type, JSON body and seconds.
    """
    started = time.monotonic()
    headers = {"Authorization": f"Api-Key {key}"} if key else None
    reply = http_request(url, payload, timeout=timeout, headers=headers)
    return reply.status, reply.headers["Content-Type"], reply.json(), time.monotonic() - started


@pytest.mark.parametrize(
    ("total", "items_count", "constraint"),
    [
        (Decimal("-0.01"), 1, "order_total_non_negative"),
        (Decimal("10.00"), 0, "order_items_count_positive"),
    ],
)
def test_check_constraints_are_enforced_by_the_server_itself(total, items_count, constraint):
    with (
        pytest.raises(IntegrityError, match=constraint),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            "INSERT INTO orders_order (total, items_count, created_at, updated_at) "
            "VALUES (%s, %s, now(), now())",
            [total, items_count],
        )

    assert Order.objects.count() == 0


def test_concurrent_seed_orders_create_the_three_samples_exactly_once():
    env = {**os.environ, "DATABASE_URL": live_database_url(), "LOG_LEVEL": "WARNING"}
    seeders = [
        subprocess.Popen(
            [sys.executable, "manage.py", "seed_orders"],
            cwd=REPO_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for _ in range(6)
    ]
    outputs = [seeder.communicate(timeout=120)[0].decode() for seeder in seeders]

    assert [seeder.returncode for seeder in seeders] == [0] * 6, outputs
    assert sorted((o.total, o.items_count) for o in Order.objects.all()) == [
        (Decimal("75.50"), 1),
        (Decimal("150.00"), 3),
        (Decimal("200.00"), 5),
    ]
    assert sum("Seeded 3 orders." in output for output in outputs) == 1


@pytest.mark.server
def test_a_database_outage_is_a_503_and_the_service_recovers_without_restart(
    gunicorn_factory, database_control
):
    order = order_create(total=Decimal("150.00"), items_count=3)
    check = {"order_id": order.pk, "rules": ["min_total_100"]}
    server = gunicorn_factory(DATABASE_URL=live_database_url())
    assert call(f"{server.url}/rules/check/", check)[0] == 200

    database_control("stop")
    health = call(f"{server.url}/health/")
    ready = call(f"{server.url}/health/ready")
    checked = call(f"{server.url}/rules/check/", check)
    live = call(f"{server.url}/health/live")

    # Each answered within the client's 10 s guard against a hang.
    for status, content_type, body, _ in (health, ready, checked):
        assert status == 503
        assert content_type == "application/json"
        assert body == {
            "error": "Service Unavailable",
            "code": "database_unavailable",
            "detail": "The database is not available. Try again shortly.",
        }
    assert live[:3] == (200, "application/json", {"status": "ok"})

    database_control("start")
    assert call(f"{server.url}/health/ready")[:3] == (
        200,
        "application/json",
        {"status": "ok", "database": "ok", "throttle_store": "ok"},
    )
    status, _, body, _ = call(f"{server.url}/rules/check/", check)
    assert (status, body["passed"]) == (200, True)
    assert server.process.poll() is None


@pytest.mark.server
def test_no_request_fails_after_a_database_restart(gunicorn_factory, database_control):
    order = order_create(total=Decimal("150.00"), items_count=3)
    check = {"order_id": order.pk, "rules": ["min_total_100", "min_items_2"]}
    server = gunicorn_factory(DATABASE_URL=live_database_url(), WEB_CONCURRENCY="2")

    def burst() -> list[int]:
        """Send 40 checks, 8 at a time, so that every worker serves some."""
        url = f"{server.url}/rules/check/"
        with ThreadPoolExecutor(max_workers=8) as pool:
            return list(pool.map(lambda _: call(url, check)[0], range(40)))

    # Every worker now holds a persistent connection (CONN_MAX_AGE).
    assert burst() == [200] * 40
    database_control("stop")
    database_control("start")

    assert burst() == [200] * 40


@contextmanager
def orders_table_locked() -> Iterator[None]:
    """Hold an exclusive lock on the orders table from a connection of our own."""
    db = connection.settings_dict
    other = psycopg2.connect(
        dbname=db["NAME"],
        user=db["USER"],
        password=db["PASSWORD"],
        host=db["HOST"],
        port=db["PORT"],
    )
    try:
        with other.cursor() as cursor:
            cursor.execute("LOCK TABLE orders_order IN ACCESS EXCLUSIVE MODE")
        yield
    finally:
        other.rollback()
        other.close()


QUERY_TIMEOUT = {
    "error": "Service Unavailable",
    "code": "query_timeout",
    "detail": "The query took longer than it may; narrow it, or try again later.",
}


@pytest.mark.server
def test_statements_that_run_out_of_time_are_503_query_timeout_and_the_service_recovers(
    gunicorn_factory,
):
    order = order_create(total=Decimal("150.00"), items_count=3)
    _, key = ClientKey.objects.create_key(name="analyst", scopes=["analyze"])
    check = {"order_id": order.pk, "rules": ["min_total_100"]}
    query = {"rules": ["min_total_100"], "outcome": "passed"}
    server = gunicorn_factory(
        DATABASE_URL=live_database_url(),
        WEB_CONCURRENCY="1",
        CHECK_STATEMENT_TIMEOUT_MS="300",
        ANALYZE_STATEMENT_TIMEOUT_MS="600",
    )

    with orders_table_locked():
        checked = call(f"{server.url}/rules/check/", check)
        queried = call(f"{server.url}/rules/query/", query, key=key)
        reported = call(f"{server.url}/rules/report/", query, key=key)
    checked_after = call(f"{server.url}/rules/check/", check)
    queried_after = call(f"{server.url}/rules/query/", query, key=key)

    for status, content_type, body, _ in (checked, queried, reported):
        assert (status, content_type, body) == (503, "application/json", QUERY_TIMEOUT)
    assert (checked_after[0], checked_after[2]["passed"]) == (200, True)
    assert (queried_after[0], queried_after[2]["count"]) == (200, 1)
    logged = [json.loads(line) for line in server.log().splitlines() if line.startswith("{")]
    assert [line["message"] for line in logged].count("query timed out") == 3
    scrape = Scrape(http_request(f"{server.url}/metrics").body.decode())
    assert scrape.samples["rule_engine_budget_refusals_total"] == {labels(kind="query_timeout"): 3}


def test_readiness_leaves_the_servers_volume_alone_and_a_scrape_sizes_the_decision_table(
    client, settings, scrape
):
    # A floor no volume could meet: on PostgreSQL the volume is not ours to see.
    settings.DISK_FREE_MIN_BYTES = 2**62
    client.post(
        "/rules/check/",
        {"order": {"total": "150.00", "items_count": 3}, "rules": ["min_total_100"]},
        "application/json",
    )

    ready = client.get("/health/ready")
    samples = scrape().samples
    with connection.cursor() as cursor:
        # Partitioned by day: the partitions hold the rows, and their size is the table's.
        cursor.execute(
            "SELECT sum(pg_total_relation_size(relid)) "
            "FROM pg_partition_tree('decisions_decision') WHERE isleaf"
        )
        [table_bytes] = cursor.fetchone()

    assert ready.status_code == 200
    assert "rule_engine_database_volume_free_bytes" not in samples
    assert "rule_engine_database_volume_free_min_bytes" not in samples
    assert samples["rule_engine_decision_log_bytes"] == {labels(): table_bytes}
    assert table_bytes > 0
