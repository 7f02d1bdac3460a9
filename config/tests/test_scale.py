"""The service scaled out: three replicas behind haproxy, on one PostgreSQL and one Redis.

Each replica is the service as shipped: nginx (``deploy/nginx``) in front of a
check pool and an analysis pool, production gunicorns; haproxy runs
``deploy/haproxy/haproxy.cfg`` as it is (``config/tests/servers.py:
start_cluster``). ``make test-scale`` runs these tests on a throw-away
PostgreSQL 15 (``scripts/with-postgres.sh``); each starts its own replicas.
"""

import http.client
import itertools
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Self
from urllib.parse import urlsplit

import psycopg2
import pytest

from config.tests.scrapes import Scrape
from config.tests.servers import (
    Cluster,
    ProxiedStack,
    Reply,
    http_request,
    manage,
    prepare_site,
    start_cluster,
    start_redis,
    wait_until,
)

pytestmark = pytest.mark.scale

# The load: 32 keep-alive connections through haproxy, a check after another on each.
CLIENTS = 32
REQUEST_TIMEOUT = 10.0
# Answers the load has had before the first replica goes, and after the last is back.
ANSWERS_AROUND_RESTART = 300
LOAD_TIMEOUT = 120.0
RULES = ["min_total_100", "min_items_2", "divisible_by_5"]
REQUEST_PREFIX = "rolling-restart-"
# High enough that the load is never refused, while every check is counted in Redis.
LOAD_RATE = "1000000/min"
# The limit of the throttle test, and how many checks it sends at once.
LIMIT = 30
THROTTLE_CLIENTS = 8
CHECKS_ANSWERED = {"route": "rules:rule-check", "method": "POST", "status_class": "2xx"}


@dataclass(frozen=True)
class Answer:
    """One check of the load: its request id, and its status or the error it met."""

    request_id: str
    status: int | None
    error: str | None


class KeepAliveLoad:
    """``CLIENTS`` threads, each sending checks on one keep-alive connection until stopped.

    Each check has a request id of its own (``REQUEST_PREFIX`` and a number)
    and one of the stored orders. A request that fails is counted by the
    error's name, and its connection replaced by a new one.
    """

    def __init__(self, url: str, key: str, order_ids: list[int]) -> None:
        """Prepare the clients of the service at *url*, sending *key*, checking *order_ids*."""
        self.url = url
        self.key = key
        self.order_ids = order_ids
        self.answers: list[Answer] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._numbers = itertools.count()
        self._threads = [threading.Thread(target=self._client) for _ in range(CLIENTS)]

    def _client(self) -> None:
        """Send one check after another on one connection until the load stops."""
        parts = urlsplit(self.url)
        connection = http.client.HTTPConnection(parts.hostname, parts.port, REQUEST_TIMEOUT)
        with closing(connection):
            while not self._stop.is_set():
                answer = self._check(connection, next(self._numbers))
                with self._lock:
                    self.answers.append(answer)

    def _check(self, connection: http.client.HTTPConnection, number: int) -> Answer:
        """Send check *number* on *connection*; return its answer."""
        request_id = f"{REQUEST_PREFIX}{number}"
        order_id = self.order_ids[number % len(self.order_ids)]
        headers = {
            "Authorization": f"Api-Key {self.key}",
            "Content-Type": "application/json",
            "X-Request-ID": request_id,
        }
        try:
            body = json.dumps({"order_id": order_id, "rules": RULES})
            connection.request("POST", "/rules/check/", body, headers)
            response = connection.getresponse()
            response.read()
        except (OSError, http.client.HTTPException) as exc:
            # The next request opens a new connection.
            connection.close()
            return Answer(request_id, None, type(exc).__name__)
        return Answer(request_id, response.status, None)

    def wait_for_answers(self, count: int) -> None:
        """Return once the load has had *count* answers; fail after ``LOAD_TIMEOUT`` s."""
        if not wait_until(lambda: len(self.answers) >= count, LOAD_TIMEOUT):
            pytest.fail(f"the load had {len(self.answers)} answers, not {count}")

    def __enter__(self) -> Self:
        """Start the clients."""
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Stop the clients once their requests under way are answered."""
        self._stop.set()
        for thread in self._threads:
            thread.join(REQUEST_TIMEOUT * 2)


@pytest.fixture(scope="module")
def database_url() -> str:
    """Return the PostgreSQL database the replicas share (``make test-scale`` provides one)."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        pytest.fail(
            "the scale tests need PostgreSQL: run `make test-scale`, or set DATABASE_URL "
            "to a PostgreSQL database"
        )
    return url


@pytest.fixture(scope="module")
def scale_site(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    """Migrate and seed the PostgreSQL database once, with a Redis; yield the site's environment.

    Migrations run once, before any replica starts, as a release does.
    """
    site = tmp_path_factory.mktemp("scale")
    with start_redis(site) as redis_server:
        yield prepare_site(site, DATABASE_URL=database_url, REDIS_URL=redis_server.url)


@pytest.fixture(scope="module")
def order_ids(database_url: str, scale_site: dict[str, str]) -> list[int]:
    """Return the ids of the stored orders."""
    with closing(psycopg2.connect(database_url)) as database, database.cursor() as cursor:
        cursor.execute("SELECT id FROM orders_order ORDER BY id")
        return [order_id for (order_id,) in cursor.fetchall()]


def make_key(env: dict[str, str], name: str) -> str:
    """Make an API key with the check scope; return it."""
    return manage(env, "create_api_key", name, "--scopes", "check").splitlines()[-1]


def scrape(replica: ProxiedStack) -> Scrape:
    """Read the replica's ``/metrics`` through its nginx: its check pool's counts."""
    reply = http_request(f"{replica.url}/metrics")
    assert reply.status == 200, reply.body
    return Scrape(reply.body.decode())


def recorded_checks(database_url: str, key_name: str) -> set[str]:
    """Return the request ids of the checks by the key *key_name* that the decision log holds."""
    with closing(psycopg2.connect(database_url)) as database, database.cursor() as cursor:
        cursor.execute(
            "SELECT request_id FROM decisions_decision WHERE caller = %s", [f"key:{key_name}"]
        )
        return {request_id for (request_id,) in cursor.fetchall()}


def test_a_rolling_restart_under_load_fails_no_request(
    scale_site: dict[str, str],
    order_ids: list[int],
    database_url: str,
    tmp_path: Path,
    record_property: Callable[[str, object], None],
):
    env = {**scale_site, "THROTTLE_CHECK": LOAD_RATE}
    key = make_key(env, "rolling-restart")
    # What each replica's check pool answered, over the lives of its processes.
    counted: dict[str, float] = {}

    with start_cluster(env, tmp_path, check_workers=2, analysis_workers=1) as cluster:
        before = cluster.balancer.servers()
        load_started = time.monotonic()
        with KeepAliveLoad(cluster.url, key, order_ids) as load:
            load.wait_for_answers(ANSWERS_AROUND_RESTART)
            started = time.monotonic()
            # deploy/haproxy/README.md: one replica after the other.
            for index, replica in enumerate(cluster.replicas):
                cluster.take_out(index)
                # Nothing is under way to it any more: its counts are final.
                counted[Cluster.server_name(index)] = scrape(replica).total(
                    "rule_engine_http_requests_total", **CHECKS_ANSWERED
                )
                cluster.replace(index)
            restart_seconds = time.monotonic() - started
            load.wait_for_answers(len(load.answers) + ANSWERS_AROUND_RESTART)
        load_seconds = time.monotonic() - load_started
        after = cluster.balancer.servers()
        for index, replica in enumerate(cluster.replicas):
            counted[Cluster.server_name(index)] += scrape(replica).total(
                "rule_engine_http_requests_total", **CHECKS_ANSWERED
            )

    failed = [answer for answer in load.answers if answer.status != 200]
    retried = sum(server.retried for server in after.values())
    record_property("requests", len(load.answers))
    record_property("failed", len(failed))
    record_property("load_seconds", round(load_seconds, 1))
    record_property("restart_seconds", round(restart_seconds, 1))
    record_property("retried_connections", retried)
    record_property("answered_by_replica", counted)
    # No 5xx, no 4xx, no reset, no connection error: every check answered 200.
    assert failed == []
    # haproxy never met a replica that had stopped: taken out first, none had to be retried.
    assert retried == 0
    # A 200 means the decision is stored, and nothing stored went unanswered.
    answered = {answer.request_id for answer in load.answers}
    assert recorded_checks(database_url, "rolling-restart") == answered
    # Each replica's /metrics counts the checks haproxy sent it, and they add up to the load.
    sent = {name: after[name].answered_2xx - before[name].answered_2xx for name in after}
    assert counted == sent
    assert sum(counted.values()) == len(load.answers)
    assert all(counted.values())


def throttled_body(retry_after: str) -> dict[str, str]:
    """Return the 429 body of a check whose ``Retry-After`` header is *retry_after*."""
    unit = "second" if retry_after == "1" else "seconds"
    return {
        "error": "Too Many Requests",
        "code": "throttled",
        "detail": f"Request was throttled. Expected available in {retry_after} {unit}.",
    }


def check_concurrently(url: str, key: str, order_id: int, count: int) -> list[Reply]:
    """Send *count* checks with *key*, ``THROTTLE_CLIENTS`` at a time; return the replies."""
    body = {"order_id": order_id, "rules": RULES}
    headers = {"Authorization": f"Api-Key {key}"}
    with ThreadPoolExecutor(THROTTLE_CLIENTS) as pool:
        return list(
            pool.map(
                lambda _: http_request(f"{url}/rules/check/", body, headers=headers), range(count)
            )
        )


def test_a_keys_limit_holds_whichever_replicas_serve_it(
    scale_site: dict[str, str],
    order_ids: list[int],
    tmp_path: Path,
    record_property: Callable[[str, object], None],
):
    env = {**scale_site, "THROTTLE_CHECK": f"{LIMIT}/min"}

    with start_cluster(env, tmp_path, check_workers=1, analysis_workers=1) as cluster:
        # A count starts again with each minute: checks sent across two minutes
        # are sent again with a new key (a minute later, they cannot be).
        for attempt in range(2):
            key = make_key(env, f"limited-{attempt}")
            before = [scrape(replica) for replica in cluster.replicas]
            minute = time.time() // 60
            replies = check_concurrently(cluster.url, key, order_ids[0], 2 * LIMIT)
            if time.time() // 60 == minute:
                break
        after = [scrape(replica) for replica in cluster.replicas]

    answered, throttled = (
        [
            later.total(name, **labels) - earlier.total(name, **labels)
            for earlier, later in zip(before, after, strict=True)
        ]
        for name, labels in (
            ("rule_engine_http_requests_total", CHECKS_ANSWERED),
            ("rule_engine_throttled_requests_total", {"scope": "check"}),
        )
    )
    record_property("answered_by_replica", answered)
    record_property("throttled_by_replica", throttled)
    assert sorted(reply.status for reply in replies) == [200] * LIMIT + [429] * LIMIT
    for reply in replies:
        if reply.status == 429:
            assert reply.json() == throttled_body(reply.headers["Retry-After"])
    # Every replica let some through and refused some: one count in Redis for all.
    assert sum(answered) == LIMIT
    assert sum(throttled) == LIMIT
    assert all(answered)
    assert all(throttled)
