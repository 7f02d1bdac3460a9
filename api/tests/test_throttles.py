"""Limits per caller: each key, user or anonymous address has its own count and rate."""

import logging
import socket
from collections.abc import Iterator
from decimal import Decimal

import pytest
from django.core.cache import caches
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from api.throttles import CallerRateThrottle, StoreBreaker
from config.tests.scrapes import labels
from config.tests.servers import free_port
from orders.tests.factories import OrderFactory

pytestmark = pytest.mark.django_db

CHECK = reverse("rules:rule-check")
RULES = reverse("rules:rule-list")
QUERY = reverse("rules:rule-query")
ORDERS = reverse("orders:order-list")
# 40 s into a minute: a window of a minute ends in 20 s.
START = 1_800_000_000.0 - 20


class Clock:
    """The throttles' time, moved by the test."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch) -> Clock:
    """Give the throttles a clock that only the test moves (DRF's ``timer`` seam)."""
    clock = Clock()
    monkeypatch.setattr(CallerRateThrottle, "timer", clock)
    return clock


@pytest.fixture
def rates(settings):
    """Set small rates: check 3/min, analyze 2/min, anonymous 2/min."""
    settings.THROTTLE_RATES = {"check": "3/min", "analyze": "2/min", "anonymous": "2/min"}
    return settings.THROTTLE_RATES


@pytest.fixture
def order(db):
    """Create one stored order."""
    return OrderFactory(total=Decimal("150.00"), items_count=3)


def _check(client: APIClient, order, **extra) -> int:
    """Post one check; return its status."""
    body = {"order_id": order.pk, "rules": ["min_total_100"]}
    return client.post(CHECK, body, format="json", **extra).status_code


def _keyed(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


def test_past_its_rate_a_caller_gets_a_429_with_retry_after(api_client, order, rates, clock):
    statuses = [_check(api_client, order) for _ in range(2)]

    response = api_client.post(
        CHECK, {"order_id": order.pk, "rules": ["min_total_100"]}, format="json"
    )

    assert statuses == [200, 200]
    assert response.status_code == 429
    assert response["Retry-After"] == "20"
    assert response.json() == {
        "error": "Too Many Requests",
        "code": "throttled",
        "detail": "Request was throttled. Expected available in 20 seconds.",
    }


def test_the_count_starts_again_when_the_window_ends(api_client, order, rates, clock):
    before = [_check(api_client, order) for _ in range(3)]
    clock.now += 20

    after = [_check(api_client, order) for _ in range(3)]

    assert before == after == [200, 200, 429]


def test_anonymous_callers_are_counted_by_address(api_client, order, rates, clock):
    first = [_check(api_client, order, REMOTE_ADDR="192.0.2.1") for _ in range(3)]
    second = [_check(api_client, order, REMOTE_ADDR="192.0.2.2") for _ in range(3)]

    assert first == second == [200, 200, 429]


def test_behind_a_trusted_proxy_the_forwarded_address_is_counted(
    api_client, order, rates, clock, settings
):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}

    def check_from(address: str) -> int:
        return _check(api_client, order, REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=address)

    assert [check_from("192.0.2.1") for _ in range(3)] == [200, 200, 429]
    assert [check_from("192.0.2.2") for _ in range(3)] == [200, 200, 429]


def test_each_key_has_its_own_count_at_the_check_rate(make_key, order, rates, clock):
    first, second = (_keyed(make_key(name, ["check"])[1]) for name in ("eu", "us"))

    from_first = [_check(first, order) for _ in range(4)]
    from_second = [_check(second, order) for _ in range(4)]
    anonymous = [_check(APIClient(), order) for _ in range(3)]

    assert from_first == from_second == [200, 200, 200, 429]
    assert anonymous == [200, 200, 429]


def test_analysis_has_its_own_rate_and_count(make_key, order, rates, clock):
    client = _keyed(make_key("reports", ["check", "analyze"])[1])
    body = {"rules": ["min_total_100"], "outcome": "failed"}

    queries = [client.post(QUERY, body, format="json").status_code for _ in range(3)]
    checks = [_check(client, order) for _ in range(4)]

    assert queries == [200, 200, 429]
    assert checks == [200, 200, 200, 429]


def test_a_user_writing_orders_is_counted_by_user(admin_user, rates, clock):
    client = APIClient()
    client.force_login(admin_user)

    statuses = [
        client.post(ORDERS, {"total": "1.00", "items_count": 1}, format="json").status_code
        for _ in range(4)
    ]

    assert statuses == [201, 201, 201, 429]


THROTTLED = {
    "error": "Too Many Requests",
    "code": "throttled",
    "detail": "Request was throttled. Expected available in 20 seconds.",
}


@pytest.fixture
def anonymous_ten(settings):
    """Let an address send ten requests a minute without credentials; keys and users more."""
    settings.THROTTLE_RATES = {"check": "100/min", "analyze": "100/min", "anonymous": "10/min"}


def test_wrong_keys_count_against_the_address_at_the_anonymous_rate(
    order, make_key, anonymous_ten, clock
):
    real, key = make_key("checkout", ["check"])
    wrong = _keyed(f"{real.prefix}.{'0' * 32}")

    responses = [
        wrong.post(CHECK, {"order_id": order.pk, "rules": ["min_total_100"]}, format="json")
        for _ in range(25)
    ]
    right = _check(_keyed(key), order)
    elsewhere = _check(wrong, order, REMOTE_ADDR="192.0.2.9")

    assert [r.status_code for r in responses] == [401] * 10 + [429] * 15
    assert responses[0].json() == {
        "error": "Unauthorized",
        "code": "authentication_failed",
        "detail": "Invalid API key.",
    }
    assert responses[-1]["Retry-After"] == "20"
    assert responses[-1].json() == THROTTLED
    assert (right, elsewhere) == (200, 401)


def test_wrong_keys_and_anonymous_calls_share_the_addresses_count(
    api_client, order, anonymous_ten, clock
):
    anonymous = [_check(api_client, order) for _ in range(6)]

    wrong = [_check(_keyed("wrong"), order) for _ in range(6)]

    assert anonymous == [200] * 6
    assert wrong == [401] * 4 + [429] * 2


def test_wrong_tokens_count_against_the_address_at_the_anonymous_rate(anonymous_ten, clock):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token 0000000000000000000000000000000000000000")

    responses = [
        client.post(ORDERS, {"total": "1.00", "items_count": 1}, format="json") for _ in range(25)
    ]

    assert [r.status_code for r in responses] == [401] * 10 + [429] * 15
    assert responses[0].json() == {
        "error": "Unauthorized",
        "code": "authentication_failed",
        "detail": "Invalid token.",
    }
    assert responses[-1].json() == THROTTLED


def test_a_right_key_costs_no_count_of_its_address(make_key, order, anonymous_ten, clock):
    _, key = make_key("checkout", ["check"])
    client = _keyed(key)
    _check(client, order)

    with CaptureQueriesContext(connection) as queries:
        assert _check(client, order) == 200

    statements = [q["sql"].split()[0] for q in queries if "django_cache" in q["sql"]]
    assert statements == ["SELECT", "UPDATE"]


def test_counting_costs_a_read_and_a_write_of_the_database_cache(api_client, order, rates, clock):
    count = f"throttle:anonymous:address:127.0.0.1:{int(START // 60)}"
    assert _check(api_client, order) == 200
    assert caches["default"].get(count) == 1

    with CaptureQueriesContext(connection) as queries:
        assert _check(api_client, order) == 200

    # However Django's cache adds a window's first count, every request after
    # it reads the count and writes the next in place.
    statements = [q["sql"].split()[0] for q in queries if "django_cache" in q["sql"]]
    assert statements == ["SELECT", "UPDATE"]
    assert caches["default"].get(count) == 2


def test_a_rate_that_is_off_counts_nothing(
    api_client, order, settings, clock, django_assert_num_queries
):
    settings.THROTTLE_RATES = {"check": None, "analyze": None, "anonymous": None}
    settings.DECISION_LOG = "off"

    with django_assert_num_queries(1):  # the order
        status = _check(api_client, order)

    assert status == 200


@pytest.mark.parametrize("name", ["health", "health-live", "health-ready"])
def test_health_checks_are_never_counted(api_client, settings, clock, name):
    settings.THROTTLE_RATES = {"check": "1/min", "analyze": "1/min", "anonymous": "1/min"}

    statuses = [api_client.get(reverse(name)).status_code for _ in range(3)]

    assert statuses == [200, 200, 200]


def test_the_documentation_counts_as_anonymous_calls(api_client, settings, clock):
    settings.THROTTLE_RATES = {"check": None, "analyze": None, "anonymous": "1/min"}

    statuses = [api_client.get("/swagger.json").status_code for _ in range(2)]

    assert statuses == [200, 429]


def _store_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Return the warnings the throttles logged."""
    return [r.getMessage() for r in caplog.records if r.name == "api.throttles"]


def _redis_cache(port: int) -> dict:
    """Return ``CACHES`` for a Redis on *port*, with timeouts short enough for a test."""
    options = {"socket_connect_timeout": 0.05, "socket_timeout": 0.05}
    return {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{port}/0",
            "OPTIONS": options,
        }
    }


def test_a_redis_that_refuses_connections_counts_nothing_and_refuses_nothing(
    api_client, order, rates, settings, clock, caplog, scrape
):
    settings.CACHES = _redis_cache(free_port())
    before = scrape()

    with caplog.at_level(logging.WARNING, logger="api.throttles"):
        statuses = [_check(api_client, order) for _ in range(3)]

    assert statuses == [200, 200, 200]
    # Tried once, then left alone for the breaker's period: every request is counted.
    assert _store_warnings(caplog) == ["throttle store unavailable"]
    assert scrape().growth(before, "rule_engine_throttle_store_errors_total") == {
        labels(store="redis"): 3.0
    }


@pytest.fixture
def black_hole() -> Iterator[socket.socket]:
    """Listen on a loopback port that accepts connections and never answers.

    Nothing accepts them while the test runs: the kernel completes each
    handshake and queues it, so the queue holds every attempt to connect.
    """
    with socket.create_server(("127.0.0.1", 0), backlog=64) as listener:
        yield listener


def attempts(listener: socket.socket) -> int:
    """Return how many connections reached *listener* since the last call."""
    listener.setblocking(False)
    count = 0
    while True:
        try:
            accepted, _ = listener.accept()
        except BlockingIOError:
            return count
        accepted.close()
        count += 1


def test_a_redis_that_never_answers_is_tried_once_per_breaker_period(
    api_client, order, rates, settings, clock, black_hole, monkeypatch, caplog
):
    settings.CACHES = _redis_cache(black_hole.getsockname()[1])
    breaker_clock = Clock()
    monkeypatch.setattr(StoreBreaker, "clock", breaker_clock)

    with caplog.at_level(logging.WARNING, logger="api.throttles"):
        first = [_check(api_client, order) for _ in range(5)]
        tried_first = attempts(black_hole)
        breaker_clock.now += StoreBreaker.seconds
        again = [_check(api_client, order) for _ in range(5)]
        tried_again = attempts(black_hole)

    # Before the breaker, every request waited for its own timeout: five attempts each time.
    assert first == again == [200] * 5
    assert (tried_first, tried_again) == (1, 1)
    assert _store_warnings(caplog) == ["throttle store unavailable"] * 2


def test_without_its_cache_table_the_database_store_lets_requests_through(
    api_client, order, rates, clock, caplog, scrape
):
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE django_cache RENAME TO django_cache_away")
    before = scrape()

    with caplog.at_level(logging.WARNING, logger="api.throttles"):
        checks = [_check(api_client, order) for _ in range(3)]
        rules = api_client.get(RULES)

    # Counted, the third check would have been a 429; a store that fails refuses nothing.
    assert checks == [200, 200, 200]
    assert rules.status_code == 200
    assert _store_warnings(caplog) == ["throttle store unavailable"] * 4
    assert scrape().growth(before, "rule_engine_throttle_store_errors_total") == {
        labels(store="database"): 4.0
    }


def test_counts_of_many_other_callers_never_remove_a_live_count(make_key, rates, clock, settings):
    """Django's database cache culls live rows past ``MAX_ENTRIES``; the counts stay."""
    settings.CACHES = {"default": {**settings.CACHES["default"], "OPTIONS": {"MAX_ENTRIES": 10}}}
    analyst = _keyed(make_key("reports", ["analyze"])[1])
    body = {"rules": ["min_total_100"], "outcome": "failed"}

    refused = [analyst.post(QUERY, body, format="json").status_code for _ in range(3)]
    others = {
        APIClient().get(RULES, REMOTE_ADDR=f"192.0.2.{number}").status_code
        for number in range(1, 31)
    }
    still = [analyst.post(QUERY, body, format="json").status_code for _ in range(5)]

    assert refused == [200, 200, 429]
    assert others == {200}
    assert still == [429] * 5
