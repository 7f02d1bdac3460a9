"""``GET /metrics``: who may read it, what it shows, and every gunicorn worker in one scrape."""

import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client
from prometheus_client.multiprocess import MultiProcessCollector

from config import metrics_directory
from config.metrics_directory import SHARED_MEMORY
from config.tests.scrapes import Scrape, labels
from config.tests.servers import REPO_ROOT, GunicornServer, http_request, manage
from orders.tests.factories import OrderFactory

pytestmark = pytest.mark.django_db

NOT_FOUND = {"error": "Not Found", "code": "not_found", "detail": "No endpoint at /metrics."}
OUR_FAMILIES = {
    "rule_engine_http_requests": {"route", "method", "status_class"},
    "rule_engine_http_request_duration_seconds": {"route", "method"},
    "rule_engine_checks": {"outcome", "source"},
    "rule_engine_rule_results": {"rule", "outcome"},
    "rule_engine_throttled_requests": {"scope"},
    "rule_engine_throttle_store_errors": {"store"},
    "rule_engine_budget_refusals": {"kind"},
    "rule_engine_database_unavailable_responses": set(),
    "rule_engine_report_rows": set(),
    "rule_engine_report_bytes": set(),
    "rule_engine_command_runs": {"command"},
    "rule_engine_command_rows": {"command"},
    "rule_engine_database_volume_free_bytes": set(),
    "rule_engine_database_volume_free_min_bytes": set(),
    "rule_engine_decision_log_bytes": set(),
    "rule_engine_provider_seconds": {"provider"},
    "rule_engine_provider_calls": {"provider", "result"},
    "rule_engine_provider_breaker_state": {"provider"},
    "rule_engine_provider_cache_errors": {"operation"},
}
PROCESS_METRICS = {
    "process_cpu_seconds",
    "process_resident_memory_bytes",
    "process_virtual_memory_bytes",
    "process_open_fds",
    "process_max_fds",
    "process_start_time_seconds",
}
CHECK = {"order_id": 1, "rules": ["min_total_100", "min_items_2"]}


# --- Who may read the metrics ---------------------------------------------------------


def test_metrics_are_served_to_the_loopback_in_prometheus_text_format(client):
    response = client.get("/metrics")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    families = Scrape(response.content.decode()).families
    assert set(OUR_FAMILIES) | PROCESS_METRICS <= set(families)


def test_openmetrics_is_served_when_the_scraper_asks_for_it(client):
    response = client.get("/metrics", HTTP_ACCEPT="application/openmetrics-text; version=1.0.0")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/openmetrics-text; version=1.0.0")
    assert response.content.endswith(b"# EOF\n")


@pytest.mark.parametrize(
    ("allowed_ips", "remote_addr"),
    [
        (["127.0.0.0/8", "::1"], "203.0.113.9"),
        (["127.0.0.1"], "127.0.0.2"),
        (["10.0.0.0/8"], "127.0.0.1"),
        (["10.0.0.0/8"], "::ffff:11.0.0.1"),
        ([], "127.0.0.1"),
    ],
)
def test_other_addresses_get_the_404_of_an_unknown_path(settings, allowed_ips, remote_addr):
    settings.METRICS_ALLOWED_IPS = allowed_ips

    response = Client(REMOTE_ADDR=remote_addr).get("/metrics")

    assert response.status_code == 404
    assert response.json() == NOT_FOUND


def test_a_client_behind_a_proxy_on_the_loopback_is_not_the_loopback(settings):
    """A proxy on the same machine sends every request from 127.0.0.1, naming the client."""
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}

    proxied = Client(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.9").get("/metrics")
    scraped = Client(REMOTE_ADDR="127.0.0.1").get("/metrics")

    assert (proxied.status_code, proxied.json()) == (404, NOT_FOUND)
    assert scraped.status_code == 200


@pytest.mark.parametrize(
    ("allowed_ips", "remote_addr"),
    [
        (["127.0.0.0/8", "::1"], "127.0.0.2"),
        (["127.0.0.0/8", "::1"], "::1"),
        (["10.0.0.0/8", "192.0.2.7"], "10.1.2.3"),
        (["10.0.0.0/8", "192.0.2.7"], "192.0.2.7"),
        (["10.0.0.0/8"], "::ffff:10.1.2.3"),
    ],
)
def test_allowed_addresses_and_networks_read_the_metrics(settings, allowed_ips, remote_addr):
    settings.METRICS_ALLOWED_IPS = allowed_ips

    response = Client(REMOTE_ADDR=remote_addr).get("/metrics")

    assert response.status_code == 200
    assert b"# TYPE rule_engine_checks_total counter" in response.content


@pytest.mark.parametrize(
    ("authorization", "status"),
    [
        ("Bearer s3cret-token", 200),
        ("bearer s3cret-token", 200),
        ("Bearer wrong-token", 404),
        ("Bearer s3cret-token-and-more", 404),
        ("Token s3cret-token", 404),
        ("Bearer", 404),
        ("", 404),
    ],
)
def test_a_caller_from_elsewhere_needs_the_bearer_token(settings, authorization, status):
    settings.METRICS_TOKEN = "s3cret-token"
    client = Client(REMOTE_ADDR="203.0.113.9", HTTP_AUTHORIZATION=authorization)

    response = client.get("/metrics")

    assert response.status_code == status
    if status == 404:
        assert response.json() == NOT_FOUND


def test_without_a_token_configured_an_empty_bearer_is_refused(settings):
    settings.METRICS_TOKEN = ""

    response = Client(REMOTE_ADDR="203.0.113.9", HTTP_AUTHORIZATION="Bearer ").get("/metrics")

    assert response.status_code == 404


def test_an_allowed_scrape_needs_no_allowed_host_and_is_not_sent_to_https(settings):
    """Prometheus asks each replica by its address, over plain HTTP inside the network."""
    settings.SECURE_SSL_REDIRECT = True
    settings.METRICS_TOKEN = "s3cret-token"
    client = Client(
        REMOTE_ADDR="10.0.0.9", HTTP_HOST="10.0.0.7:8000", HTTP_AUTHORIZATION="Bearer s3cret-token"
    )

    response = client.get("/metrics")

    assert response.status_code == 200


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_only_get_reads_the_metrics(client, method):
    response = getattr(client, method)("/metrics")

    assert response.status_code == 404
    assert response.json() == NOT_FOUND


def test_an_allowed_address_that_is_not_one_stops_the_service(settings):
    settings.METRICS_ALLOWED_IPS = ["10.0.0.300"]

    with pytest.raises(ImproperlyConfigured, match=r"METRICS_ALLOWED_IPS: '10\.0\.0\.300'"):
        Client().get("/health/live")


def test_with_metrics_switched_off_nothing_is_served_or_counted(settings, scrape):
    before = scrape()
    settings.METRICS_ENABLED = False
    switched_off = Client()
    order = OrderFactory()

    metrics = switched_off.get("/metrics")
    check = switched_off.post(
        "/rules/check/", {"order_id": order.pk, "rules": ["min_total_100"]}, "application/json"
    )
    settings.METRICS_ENABLED = True
    after = scrape()

    assert metrics.status_code == 404
    assert metrics.json() == NOT_FOUND
    assert check.status_code == 200
    assert after.growth(before, "rule_engine_checks_total") == {}
    assert after.growth(before, "rule_engine_http_requests_total") == {}


# --- What is counted, under which labels ----------------------------------------------


def test_requests_are_counted_by_route_name_method_and_status_class(client, scrape):
    before = scrape()

    client.get("/rules/")
    client.get("/rules/")
    client.get("/no/such/path/17/")
    client.generic("BREW", "/rules/")
    client.get("/admin/login/")
    after = scrape()

    assert after.growth(before, "rule_engine_http_requests_total") == {
        labels(route="rules:rule-list", method="GET", status_class="2xx"): 2,
        labels(route="unknown-path", method="GET", status_class="4xx"): 1,
        labels(route="rules:rule-list", method="other", status_class="4xx"): 1,
        labels(route="admin", method="GET", status_class="2xx"): 1,
    }
    latency = after.growth(before, "rule_engine_http_request_duration_seconds_count")
    assert latency[labels(route="rules:rule-list", method="GET")] == 2


def test_latency_buckets_run_from_one_millisecond_to_ten_seconds(client, scrape):
    client.get("/rules/")

    buckets = {
        dict(key)["le"]
        for key in scrape().samples["rule_engine_http_request_duration_seconds_bucket"]
    }

    assert sorted(float(bound) for bound in buckets) == [
        0.001,
        0.0025,
        0.005,
        0.01,
        0.025,
        0.05,
        0.1,
        0.25,
        0.5,
        1.0,
        2.5,
        5.0,
        10.0,
        float("inf"),
    ]


def test_no_label_holds_an_id_a_clients_key_or_a_path(client, scrape):
    order = OrderFactory()
    body = {"order_id": order.pk, "rules": [{"name": "min_items_2", "as": "key-from-a-client"}]}
    client.post("/rules/check/", body, "application/json", HTTP_X_REQUEST_ID="request-id-42")
    client.get(f"/orders/{order.pk}/", HTTP_X_REQUEST_ID="request-id-43")
    client.get("/no/such/path/", HTTP_X_REQUEST_ID="request-id-44")

    families = scrape().families

    ours = {name: family for name, family in families.items() if name.startswith("rule_engine_")}
    created = {name for name in ours if name.endswith("_created")}
    assert set(ours) - created == set(OUR_FAMILIES)
    for name, family in ours.items():
        for sample in family.samples:
            assert set(sample.labels) - {"le"} <= OUR_FAMILIES[name.removesuffix("_created")]
            for value in sample.labels.values():
                assert not value.startswith("/"), (name, sample)
                assert "key-from-a-client" not in value, (name, sample)
                assert "request-id-4" not in value, (name, sample)
                assert value != str(order.pk), (name, sample)
    routes = {sample.labels["route"] for sample in families["rule_engine_http_requests"].samples}
    assert {"rules:rule-check", "orders:order-detail", "unknown-path"} <= routes


def test_throttled_requests_are_counted_by_the_rate_they_ran_out_of(
    client, scrape, settings, make_key
):
    settings.THROTTLE_RATES = {"check": None, "analyze": "1/min", "anonymous": "1/min"}
    _, key = make_key("analyst", ["analyze"])
    analysis = {"rules": ["min_total_100"], "outcome": "passed"}
    before = scrape()

    anonymous = [client.get("/rules/") for _ in range(2)]
    analyzing = [
        client.post(
            "/rules/query/",
            analysis,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Api-Key {key}",
        )
        for _ in range(2)
    ]
    after = scrape()

    assert [r.status_code for r in anonymous] == [200, 429]
    assert [r.status_code for r in analyzing] == [200, 429]
    assert after.growth(before, "rule_engine_throttled_requests_total") == {
        labels(scope="anonymous"): 1,
        labels(scope="analyze"): 1,
    }


DATABASE_GONE_SCRIPT = """
import json, sys
import django
django.setup()
from django.test import Client
from config.tests.scrapes import Scrape
client = Client(HTTP_HOST="127.0.0.1")
statuses = [
    client.get("/health/").status_code,
    client.post("/rules/check/", {"order_id": 1, "rules": ["min_total_100"]},
                content_type="application/json").status_code,
]
scrape = Scrape(client.get("/metrics").content.decode())
with open(sys.argv[1], "w") as out:
    json.dump([statuses, scrape.total("rule_engine_database_unavailable_responses_total")], out)
"""


def test_answers_without_a_database_are_counted(tmp_path):
    results = tmp_path / "results.json"
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path}/missing-dir/db.sqlite3",
        "LOG_LEVEL": "CRITICAL",
    }

    subprocess.run(
        [sys.executable, "-c", DATABASE_GONE_SCRIPT, str(results)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        timeout=60,
        check=True,
    )

    assert json.loads(results.read_text()) == [[503, 503], 2]


# --- The directory of gunicorn's workers ----------------------------------------------


def test_gunicorns_metrics_directory_is_emptied_of_the_librarys_files_only(tmp_path, monkeypatch):
    directory = tmp_path / "metrics"
    directory.mkdir()
    (directory / "counter_12345.db").write_bytes(b"stale counts")
    (directory / "histogram_12345.db").write_bytes(b"stale counts")
    (directory / "notes.txt").write_text("not ours")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(directory))

    assert metrics_directory.prepare() == directory

    assert sorted(p.name for p in directory.iterdir()) == ["notes.txt"]
    assert os.environ["PROMETHEUS_MULTIPROC_DIR"] == str(directory)


def test_gunicorn_refuses_to_start_when_the_library_was_imported_without_a_directory(
    monkeypatch,
):
    """The workers would inherit single-process counters: each would count alone."""
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)

    with pytest.raises(RuntimeError, match="imported before PROMETHEUS_MULTIPROC_DIR was set"):
        metrics_directory.prepare()


# --- Every gunicorn worker in one scrape ------------------------------------------------

WAIT_SECONDS = 30.0


def workers(server: GunicornServer) -> set[int]:
    """Return the pids of *server*'s workers."""
    return {child.pid for child in psutil.Process(server.process.pid).children()}


def made_directory(server: GunicornServer) -> Path:
    """Return the metrics directory that *server* made for its workers.

    Found by a worker's file in it: the variable that names it is set after
    the master started, so the workers' ``/proc/<pid>/environ`` lacks it.
    """
    pid = min(workers(server))
    parent = SHARED_MEMORY if SHARED_MEMORY.is_dir() else Path(tempfile.gettempdir())
    [found] = parent.glob(f"rule-engine-metrics-*/counter_{pid}.db")
    return found.parent


def checks_counted_by(directory: Path, pid: int) -> float:
    """Return the checks that the worker *pid* has written to *directory*."""
    for family in MultiProcessCollector.merge([str(directory / f"counter_{pid}.db")]):
        if family.name == "rule_engine_checks":
            return sum(s.value for s in family.samples if s.name == "rule_engine_checks_total")
    return 0.0


def send_checks(server: GunicornServer, count: int) -> None:
    """Send *count* checks at once, eight at a time; fail unless each is answered 200."""
    with ThreadPoolExecutor(8) as pool:
        replies = list(
            pool.map(lambda _: http_request(f"{server.url}/rules/check/", CHECK), range(count))
        )
    assert [reply.status for reply in replies] == [200] * count


def scrape_server(server: GunicornServer) -> Scrape:
    """Scrape *server* once from the loopback."""
    reply = http_request(f"{server.url}/metrics")
    assert reply.status == 200, reply.body
    return Scrape(reply.body.decode())


@pytest.mark.server
def test_one_scrape_counts_the_checks_of_every_worker(gunicorn_factory):
    server = gunicorn_factory(WEB_CONCURRENCY="2")
    directory = made_directory(server)
    pids = workers(server)
    sent = 0
    deadline = time.monotonic() + WAIT_SECONDS
    # Until both workers have served checks: which one takes a connection is the kernel's choice.
    while not all(checks_counted_by(directory, pid) for pid in pids):
        assert time.monotonic() < deadline, "one worker served every check"
        send_checks(server, 16)
        sent += 16

    scrape = scrape_server(server)

    assert len(pids) == 2
    assert scrape.total("rule_engine_checks_total") == sent
    assert scrape.samples["rule_engine_checks_total"] == {
        labels(outcome="passed", source="rules"): sent
    }
    assert scrape.total("rule_engine_rule_results_total") == 2 * sent
    assert scrape.total("rule_engine_http_requests_total", route="rules:rule-check") == sent
    assert scrape.total("rule_engine_http_request_duration_seconds_count") >= sent
    by_pid = {dict(key)["pid"] for key in scrape.samples["process_cpu_seconds_total"]}
    assert by_pid == {str(pid) for pid in {server.process.pid, *pids}}
    assert server.stop() == 0
    assert not directory.exists()


@pytest.mark.server
def test_a_workers_counts_outlive_it_and_the_next_server_starts_from_zero(
    gunicorn_factory, tmp_path
):
    directory = tmp_path / "metrics"
    server = gunicorn_factory(WEB_CONCURRENCY="2", PROMETHEUS_MULTIPROC_DIR=str(directory))
    send_checks(server, 8)
    victim = next(pid for pid in workers(server) if checks_counted_by(directory, pid))
    killed = psutil.Process(victim)

    killed.kill()
    killed.wait(WAIT_SECONDS)  # until the master has reaped it
    after_death = scrape_server(server)
    server.stop()
    next_server = gunicorn_factory(WEB_CONCURRENCY="2", PROMETHEUS_MULTIPROC_DIR=str(directory))
    fresh = scrape_server(next_server)

    assert after_death.total("rule_engine_checks_total") == 8
    by_pid = {dict(key)["pid"] for key in after_death.samples["process_cpu_seconds_total"]}
    assert str(server.process.pid) in by_pid
    assert str(victim) not in by_pid
    assert fresh.total("rule_engine_checks_total") == 0
    assert directory.is_dir()


@pytest.mark.server
def test_a_command_run_with_the_servers_directory_shows_in_its_scrape(
    gunicorn_site, gunicorn_factory, tmp_path
):
    _, env = gunicorn_site
    directory = tmp_path / "metrics"
    server = gunicorn_factory(PROMETHEUS_MULTIPROC_DIR=str(directory))

    # The site's orders exist already, so the run writes none (and other tests' site stays put).
    output = manage({**env, "PROMETHEUS_MULTIPROC_DIR": str(directory)}, "seed_orders")
    scrape = scrape_server(server)

    assert "nothing seeded" in output
    assert scrape.samples["rule_engine_command_runs_total"] == {labels(command="seed_orders"): 1}
    assert scrape.samples["rule_engine_command_rows_total"] == {labels(command="seed_orders"): 0}


# --- The database's room ----------------------------------------------------------------


def test_the_decision_logs_size_is_read_at_each_scrape(client, scrape):
    ids = [order.pk for order in OrderFactory.create_batch(200)]
    before = scrape().total("rule_engine_decision_log_bytes")

    checked = client.post(
        "/rules/check/batch/",
        {"order_ids": ids, "rules": ["min_total_100", "min_items_2"]},
        "application/json",
    )
    after = scrape().total("rule_engine_decision_log_bytes")

    assert checked.status_code == 200
    assert after > before > 0
