"""Providers called for real: over HTTP to the stand-in risk service on the loopback."""

import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
import redis
from django.core.cache import caches
from django.db import connection
from prometheus_client import REGISTRY

from config.tests.servers import start_redis
from orders.facts import (
    CUSTOMER_ID,
    PROVIDED_FACTS,
    TOTAL,
    CustomerFacts,
    Fact,
    FactType,
    OrderFacts,
)
from rules import fetching
from rules.engine.providers import ANSWER_MAX_BYTES, PROVIDERS, Provider
from rules.fetching import (
    ANSWERS,
    BREAKERS,
    Answers,
    Breakers,
    BreakerState,
    prepare_runtime,
    reset_state,
    supply,
)
from rules.providers import RiskServiceProvider
from rules.risk_service import RiskService

NOW = datetime(2026, 12, 7, 12, tzinfo=UTC)


def score(name: str) -> Fact:
    """Return the score fact of the test provider *name*."""
    return Fact(
        f"{name}.score", FactType.COUNT, "A test score.", 1, minimum=0, maximum=100, provider=name
    )


# Defined once for the whole run: the provider registry is global.
class SlowTestProvider(Provider):
    name = "fetch_a"
    description = "A test provider with time to spare."
    provides = (score("fetch_a"),)
    reads = (CUSTOMER_ID, TOTAL)
    timeout = 2.0
    cache_ttl = 0
    url_setting = "FETCH_TEST_URL"
    token_setting = "FETCH_TEST_TOKEN"


class OtherTestProvider(SlowTestProvider):
    name = "fetch_b"
    provides = (score("fetch_b"),)


class ThirdTestProvider(SlowTestProvider):
    name = "fetch_c"
    provides = (score("fetch_c"),)


class QuickTestProvider(SlowTestProvider):
    name = "fetch_quick"
    provides = (score("fetch_quick"),)
    timeout = 0.2


class CachedTestProvider(SlowTestProvider):
    name = "fetch_cached"
    provides = (score("fetch_cached"),)
    cache_ttl = 60


class CachedTooTestProvider(SlowTestProvider):
    """Cached as ``fetch_cached`` is, reading the same facts: the same inputs, the same JSON."""

    name = "fetch_cached_too"
    provides = (score("fetch_cached_too"),)
    cache_ttl = 60


class FallbackTestProvider(SlowTestProvider):
    name = "fetch_fallback"
    provides = (score("fetch_fallback"),)
    cache_ttl = 60
    fallback = {"fetch_fallback.score": 50}


class FreshTestProvider(SlowTestProvider):
    """Called by one test only: its breaker's gauge has no sample before."""

    name = "fetch_fresh"
    provides = (score("fetch_fresh"),)


# ``supply`` takes provider classes, not names: the test providers leave the registry and
# the facts catalogue at once, so that no other test (GET /facts/, the rule list) sees them.
for _provider in (
    SlowTestProvider,
    OtherTestProvider,
    ThirdTestProvider,
    QuickTestProvider,
    CachedTestProvider,
    CachedTooTestProvider,
    FallbackTestProvider,
    FreshTestProvider,
):
    del PROVIDERS[_provider.name]
    for _fact in _provider.provides:
        del PROVIDED_FACTS[_fact.path]


def order(customer: str = "C-1", total: str = "250.00") -> OrderFacts:
    """Return an order of *customer* for *total*."""
    return OrderFacts(
        total=Decimal(total), items_count=1, created_at=NOW, customer=CustomerFacts(customer)
    )


def sample(name: str, **labels: str) -> float:
    """Return a metric sample of this process, 0 when it has none yet."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture(autouse=True)
def _closed_breakers() -> Iterator[None]:
    """Start and end every test with every breaker closed."""
    reset_state()
    yield
    reset_state()


@pytest.fixture(autouse=True)
def _cache_in_memory_without_the_database(request: pytest.FixtureRequest, settings: Any) -> None:
    """Give a test without the database the providers' cache in memory, empty.

    The breakers share their state through it whenever a provider is called.
    Tests of another cache set theirs after this one.
    """
    if request.node.get_closest_marker("django_db") is None:
        request.getfixturevalue("memory_cache")


@pytest.fixture
def service(settings: Any) -> Iterator[RiskService]:
    """Run the stand-in service, scoring C-1 at 85, and point the test providers at it."""
    running = RiskService(scores={"C-1": 85}).start()
    settings.FETCH_TEST_URL = running.url
    settings.FETCH_TEST_TOKEN = ""
    settings.PROVIDER_BREAKER_FAILURES = 5
    settings.PROVIDER_BREAKER_OPEN_SECONDS = 60
    settings.PROVIDER_MAX_CONCURRENCY = 8
    yield running
    running.stop()


@pytest.fixture
def memory_cache(settings: Any) -> None:
    """Keep the providers' answers in memory, empty at the start."""
    settings.CACHES = {
        **settings.CACHES,
        "providers": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "provider-tests",
        },
    }
    caches["providers"].clear()


def one(providers: list[type[Provider]], deadline: float = 5.0, **fields: str) -> dict:
    """Return what *providers* supplied for one order."""
    [supplied] = supply(providers, [order(**fields)], deadline=deadline)
    return supplied


# --- Calls ---------------------------------------------------------------------------


def test_a_provider_answers_the_score_of_the_order_sent_as_its_inputs(service, caplog):
    supplied = one([SlowTestProvider])["fetch_a"]

    assert supplied.values == {"fetch_a.score": 85}
    assert (supplied.error, supplied.cache_hit, supplied.fallback) == (None, False, False)
    assert supplied.latency_ms > 0
    [received] = service.received
    assert received.body == {"customer.id": "C-1", "total": "250.00"}
    assert received.authorization is None
    # httpx's own line per call (its address in the message) is not logged.
    assert [record for record in caplog.records if record.name.startswith("httpx")] == []


def test_a_provider_with_a_token_sends_it_as_a_bearer(service, settings):
    service.token = settings.FETCH_TEST_TOKEN = "s3cret"

    supplied = one([SlowTestProvider])["fetch_a"]

    assert supplied.values == {"fetch_a.score": 85}
    assert service.received[0].authorization == "Bearer s3cret"


def test_three_providers_are_called_at_once(service):
    service.behave(latency=0.3)

    supplied = one([SlowTestProvider, OtherTestProvider, ThirdTestProvider], customer="C-9")

    assert {name: record.values for name, record in supplied.items()} == {
        "fetch_a": {"fetch_a.score": 20},
        "fetch_b": {"fetch_b.score": 20},
        "fetch_c": {"fetch_c.score": 20},
    }
    assert service.max_in_flight == 3


def test_a_service_that_hangs_past_the_timeout_gives_a_timeout(service, caplog):
    service.behave(hang=True)

    supplied = one([QuickTestProvider])["fetch_quick"]

    # Still held by the service: the call ended on its own timeout, not on an answer.
    assert service.held == 1
    assert (supplied.values, supplied.error) == (None, "timeout")
    [logged] = [r for r in caplog.records if r.getMessage() == "provider call failed"]
    assert (logged.provider, logged.reason, logged.error_id) == (
        "fetch_quick",
        "timeout",
        supplied.reference,
    )


def test_a_deadline_shorter_than_the_timeout_is_a_deadline_and_no_failure(service, settings):
    settings.PROVIDER_BREAKER_FAILURES = 1
    service.behave(hang=True)

    supplied = one([SlowTestProvider], deadline=0.2)["fetch_a"]
    service.release()
    again = one([SlowTestProvider])["fetch_a"]

    assert (supplied.values, supplied.error) == (None, "deadline")
    assert supplied.reference is not None
    assert BREAKERS.state("fetch_a") is BreakerState.CLOSED
    assert again.values == {"fetch_a.score": 85}
    assert len(service.received) == 2


def test_calls_still_queued_at_the_deadline_are_never_made(service, settings):
    settings.PROVIDER_MAX_CONCURRENCY = 1
    service.behave(hang=True)

    first, second = supply([SlowTestProvider], [order("C-1"), order("C-2")], deadline=0.3)

    assert [first["fetch_a"].error, second["fetch_a"].error] == ["deadline", "deadline"]
    # Only the call that was made has a failure logged under a reference.
    assert first["fetch_a"].reference is not None
    assert second["fetch_a"].reference is None
    assert len(service.received) == 1


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b"not json", "the answer is not JSON"),
        (b'{"score": 101}', "fetch_a.score is out of range"),
        (b'{"points": 5}', "fetch_a.score is not a count"),
        (b"[85]", "the answer is not a JSON object"),
    ],
)
def test_an_answer_that_is_not_what_the_provider_declares_is_malformed(service, caplog, body, why):
    service.behave(body=body)

    supplied = one([SlowTestProvider])["fetch_a"]

    assert (supplied.values, supplied.error) == (None, "malformed")
    [logged] = [r for r in caplog.records if r.getMessage() == "provider call failed"]
    assert (logged.reason, logged.error, logged.error_id) == ("malformed", why, supplied.reference)


def test_an_oversized_answer_is_refused_without_reading_it_all(service, caplog):
    service.behave(oversized=32 * 1024 * 1024)

    supplied = one([SlowTestProvider])["fetch_a"]

    assert (supplied.values, supplied.error) == (None, "error")
    # The service could not write it all: the provider stopped reading and closed.
    assert service.oversized_finished == 0
    [logged] = [r for r in caplog.records if r.getMessage() == "provider call failed"]
    assert logged.error == f"an answer over {ANSWER_MAX_BYTES} bytes"


def test_an_answer_declared_over_the_cap_is_refused_before_it_is_read(service, caplog):
    service.behave(body=b" " * (ANSWER_MAX_BYTES + 1))

    supplied = one([SlowTestProvider])["fetch_a"]

    assert supplied.error == "error"
    [logged] = [r for r in caplog.records if r.getMessage() == "provider call failed"]
    assert logged.error == f"an answer of {ANSWER_MAX_BYTES + 1} bytes"


def test_an_answer_just_within_the_cap_is_read(service):
    # The score among blanks, which JSON allows: exactly 64 KiB.
    service.behave(body=b'{"score": 30}'.ljust(ANSWER_MAX_BYTES))

    assert one([SlowTestProvider])["fetch_a"].values == {"fetch_a.score": 30}


@pytest.mark.parametrize("status", [404, 500, 503])
def test_an_error_status_is_an_error(service, caplog, status):
    service.behave(status=status)

    supplied = one([SlowTestProvider])["fetch_a"]

    assert (supplied.values, supplied.error) == (None, "error")
    [logged] = [r for r in caplog.records if r.getMessage() == "provider call failed"]
    assert logged.error == f"status {status}"


def test_a_wrong_token_is_an_error(service, settings):
    service.token = "s3cret"
    settings.FETCH_TEST_TOKEN = "guess"

    assert one([SlowTestProvider])["fetch_a"].error == "error"


def test_a_redirect_is_never_followed(service):
    service.behave(redirect=service.url + "/elsewhere")

    supplied = one([SlowTestProvider])["fetch_a"]

    assert supplied.error == "error"
    assert [received.path for received in service.received] == ["/score"]


def test_a_service_that_is_not_running_is_an_error(service):
    service.stop()

    assert one([SlowTestProvider])["fetch_a"].error == "error"


@pytest.mark.parametrize("url", ["not a url", "ftp://127.0.0.1/score", "http://[::1"])
def test_an_address_that_cannot_be_called_is_an_error(service, settings, url):
    settings.FETCH_TEST_URL = url

    assert one([SlowTestProvider])["fetch_a"].error == "error"


# --- The cache -----------------------------------------------------------------------


@pytest.mark.usefixtures("memory_cache")
def test_an_answer_is_reused_from_the_cache_for_the_same_inputs(service):
    first = one([CachedTestProvider])["fetch_cached"]
    second = one([CachedTestProvider])["fetch_cached"]
    other = one([CachedTestProvider], customer="C-2")["fetch_cached"]

    assert (first.values, first.cache_hit) == ({"fetch_cached.score": 85}, False)
    assert (second.values, second.cache_hit) == ({"fetch_cached.score": 85}, True)
    assert (other.values, other.cache_hit) == ({"fetch_cached.score": 20}, False)
    assert len(service.received) == 2


@pytest.mark.usefixtures("memory_cache")
def test_a_new_version_of_a_provider_does_not_reuse_the_old_answers(service, monkeypatch):
    one([CachedTestProvider])
    monkeypatch.setattr(CachedTestProvider, "version", "2")

    assert one([CachedTestProvider])["fetch_cached"].cache_hit is False
    assert len(service.received) == 2


@pytest.mark.usefixtures("memory_cache")
def test_a_provider_with_no_ttl_is_called_every_time(service):
    one([SlowTestProvider])

    assert one([SlowTestProvider])["fetch_a"].cache_hit is False
    assert len(service.received) == 2


def test_a_redis_that_fails_is_counted_then_left_alone_and_the_provider_called(
    service, settings, caplog
):
    # Nothing listens on port 1: every operation fails at once.
    settings.CACHES = {
        **settings.CACHES,
        "providers": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        },
    }
    gets = sample("rule_engine_provider_cache_errors_total", operation="get")
    sets = sample("rule_engine_provider_cache_errors_total", operation="set")

    first = one([CachedTestProvider])["fetch_cached"]
    ANSWERS.clear()  # as another worker, which holds no answer
    second = one([CachedTestProvider])["fetch_cached"]

    assert [(record.values, record.cache_hit) for record in (first, second)] == [
        ({"fetch_cached.score": 85}, False),
        ({"fetch_cached.score": 85}, False),
    ]
    # Each check: the answer looked up and the breakers' shared state read before the
    # call; then the answer kept.
    assert sample("rule_engine_provider_cache_errors_total", operation="get") == gets + 4
    assert sample("rule_engine_provider_cache_errors_total", operation="set") == sets + 2
    # Only the first operation was tried; the others were counted, not tried.
    logged = [r for r in caplog.records if r.getMessage() == "provider cache unavailable"]
    assert [record.operation for record in logged] == ["get"]
    assert len(service.received) == 2


@pytest.mark.django_db
def test_a_database_cache_that_fails_is_tried_again_at_every_check(service, caplog):
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE provider_cache RENAME TO provider_cache_away")

    one([CachedTestProvider])
    ANSWERS.clear()  # as another worker, which holds no answer
    answered = one([CachedTestProvider])["fetch_cached"]

    assert answered.values == {"fetch_cached.score": 85}
    logged = [r for r in caplog.records if r.getMessage() == "provider cache unavailable"]
    # Each check: the answer looked up, the breakers' shared state read, the answer kept.
    assert [record.operation for record in logged] == ["get", "get", "set"] * 2


@pytest.mark.django_db
def test_answers_are_kept_in_the_database_table_of_their_own(service):
    one([CachedTestProvider])
    ANSWERS.clear()  # as another worker, which holds no answer

    assert one([CachedTestProvider])["fetch_cached"].cache_hit is True
    assert caches["providers"]._table == "provider_cache"
    assert len(service.received) == 1


@pytest.mark.redis
def test_answers_are_shared_through_redis_under_their_own_prefix(service, settings, tmp_path):
    with start_redis(tmp_path) as redis_server:
        settings.CACHES = {
            **settings.CACHES,
            "providers": {
                "BACKEND": "api.redis_cache.ReusedClientRedisCache",
                "LOCATION": redis_server.url,
                "KEY_PREFIX": "providers",
            },
        }
        first = one([CachedTestProvider])["fetch_cached"]
        ANSWERS.clear()  # as another worker, which holds no answer
        second = one([CachedTestProvider])["fetch_cached"]
        keys = redis.Redis.from_url(redis_server.url).keys()

    assert (first.cache_hit, second.cache_hit) == (False, True)
    assert second.values == {"fetch_cached.score": 85}
    [key] = keys
    assert key.startswith(b"providers:1:fetch_cached:1:2:")
    assert len(service.received) == 1


@pytest.fixture
def failing_cache(settings: Any) -> None:
    """Make the shared cache fail every operation: nothing listens on port 1."""
    settings.CACHES = {
        **settings.CACHES,
        "providers": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        },
    }


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Drive the clock of the answers kept in memory: set ``clock[0]``."""
    now = [1000.0]
    monkeypatch.setattr(Answers, "clock", staticmethod(lambda: now[0]))
    return now


def only_key() -> str:
    """Return the providers' cache key of the one answer the memory cache holds."""
    [stored] = caches["providers"]._cache  # locmem's own keys: ":<version>:<key>"
    return stored.split(":", 2)[2]


@pytest.mark.usefixtures("failing_cache")
def test_a_second_check_in_the_process_reads_its_answer_from_memory_not_the_shared_cache(
    service,
):
    gets = sample("rule_engine_provider_cache_errors_total", operation="get")
    hits = sample("rule_engine_provider_calls_total", provider="fetch_cached", result="cache_hit")

    first = one([CachedTestProvider])["fetch_cached"]
    second = one([CachedTestProvider])["fetch_cached"]

    assert (first.values, first.cache_hit) == ({"fetch_cached.score": 85}, False)
    assert (second.values, second.cache_hit) == ({"fetch_cached.score": 85}, True)
    # Only the first check asked the shared cache, for the answer and, before calling, the
    # breakers' state (and found it failing).
    assert sample("rule_engine_provider_cache_errors_total", operation="get") == gets + 2
    assert sample(
        "rule_engine_provider_calls_total", provider="fetch_cached", result="cache_hit"
    ) == (hits + 1)
    assert len(service.received) == 1


@pytest.mark.usefixtures("failing_cache")
def test_two_providers_sent_the_same_inputs_each_get_their_own_answer_from_memory(service):
    first = one([CachedTestProvider, CachedTooTestProvider])
    second = one([CachedTestProvider, CachedTooTestProvider])

    assert {name: (record.values, record.cache_hit) for name, record in second.items()} == {
        "fetch_cached": ({"fetch_cached.score": 85}, True),
        "fetch_cached_too": ({"fetch_cached_too.score": 85}, True),
    }
    assert [record.cache_hit for record in first.values()] == [False, False]
    # Both were sent the same JSON: only the provider tells their answers apart.
    assert [received.body for received in service.received] == [
        {"customer.id": "C-1", "total": "250.00"}
    ] * 2


@pytest.mark.usefixtures("failing_cache")
def test_orders_with_other_inputs_each_get_their_own_answer_from_memory(service):
    orders = [order("C-1"), order("C-2"), order("C-1", total="250.0")]
    supply([CachedTestProvider], orders, deadline=5.0)

    again = supply([CachedTestProvider], orders, deadline=5.0)

    assert [(row["fetch_cached"].values, row["fetch_cached"].cache_hit) for row in again] == [
        ({"fetch_cached.score": 85}, True),
        ({"fetch_cached.score": 20}, True),
        ({"fetch_cached.score": 85}, True),
    ]
    # 250.0 and 250.00 are equal amounts, but not the same inputs: each was asked once.
    assert sorted(received.body["total"] for received in service.received) == [
        "250.0",
        "250.00",
        "250.00",
    ]


@pytest.mark.usefixtures("failing_cache")
def test_a_new_version_of_a_provider_is_not_answered_from_memory(service, monkeypatch):
    one([CachedTestProvider])
    monkeypatch.setattr(CachedTestProvider, "version", "2")

    answered = one([CachedTestProvider])["fetch_cached"]

    assert (answered.values, answered.cache_hit) == ({"fetch_cached.score": 85}, False)
    assert len(service.received) == 2


@pytest.mark.usefixtures("failing_cache")
def test_an_answer_in_memory_is_used_until_its_cache_ttl_and_no_longer(service, clock):
    gets = sample("rule_engine_provider_cache_errors_total", operation="get")
    one([CachedTestProvider])
    clock[0] += CachedTestProvider.cache_ttl - 0.001
    before = one([CachedTestProvider])["fetch_cached"]
    clock[0] += 0.001
    at = one([CachedTestProvider])["fetch_cached"]

    assert (before.cache_hit, at.cache_hit) == (True, False)
    # Two checks called the provider: each read the answer and the breakers' state.
    assert sample("rule_engine_provider_cache_errors_total", operation="get") == gets + 4
    assert len(service.received) == 2


@pytest.mark.usefixtures("memory_cache")
def test_an_answer_read_from_the_shared_cache_is_kept_in_memory_only_for_its_time_left(
    service, clock
):
    one([CachedTestProvider])
    key = only_key()
    expires, values = caches["providers"].get(key)
    # Another worker fetched it 50 of its 60 seconds ago: 10 are left.
    caches["providers"].set(key, (expires - 50, values))
    ANSWERS.clear()

    read = one([CachedTestProvider])["fetch_cached"]
    caches["providers"].clear()
    clock[0] += 9.9
    still = one([CachedTestProvider])["fetch_cached"]
    clock[0] += 0.1
    gone = one([CachedTestProvider])["fetch_cached"]

    assert (read.cache_hit, still.cache_hit, gone.cache_hit) == (True, True, False)
    assert len(service.received) == 2


@pytest.mark.usefixtures("memory_cache")
def test_an_answer_kept_by_the_release_before_the_cache_format_is_not_read(service):
    one([CachedTestProvider])
    name, version, _, digest = only_key().split(":")
    caches["providers"].clear()
    ANSWERS.clear()
    # That release kept the values alone, under a key without the format.
    caches["providers"].set(f"{name}:{version}:{digest}", {"fetch_cached.score": 85}, 60)

    again = one([CachedTestProvider])["fetch_cached"]

    assert (again.values, again.cache_hit) == ({"fetch_cached.score": 85}, False)
    assert len(service.received) == 2


def test_the_answers_in_memory_are_bounded_dropping_the_least_recently_used_first():
    answers = Answers(2)
    answers.keep("a", {"x": 1}, 60)
    answers.keep("b", {"x": 2}, 60)
    answers.get_many(["a"])
    answers.keep("c", {"x": 3}, 60)

    assert len(answers) == 2
    assert answers.get_many(["a", "b", "c"]) == {"a": {"x": 1}, "c": {"x": 3}}


@pytest.mark.usefixtures("memory_cache")
def test_resetting_forgets_the_answers_in_memory(service):
    one([CachedTestProvider])
    reset_state()

    assert len(ANSWERS) == 0


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_database_cache_that_fails_leaves_the_callers_transaction_usable(service):
    # The test runs in a transaction: on PostgreSQL a failed statement would abort it.
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE provider_cache RENAME TO provider_cache_away")

    answered = one([CachedTestProvider])["fetch_cached"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        still_usable = cursor.fetchone()

    assert answered.values == {"fetch_cached.score": 85}
    assert still_usable == (1,)


# --- Fallbacks -----------------------------------------------------------------------


@pytest.mark.usefixtures("memory_cache")
def test_a_fallback_stands_in_for_a_failed_call_and_is_not_cached(service):
    service.behave(status=503)
    failed = one([FallbackTestProvider])["fetch_fallback"]
    service.behave(status=200)
    answered = one([FallbackTestProvider])["fetch_fallback"]

    assert (failed.values, failed.fallback, failed.error) == (
        {"fetch_fallback.score": 50},
        True,
        "error",
    )
    assert failed.reference is not None
    assert (answered.values, answered.fallback, answered.cache_hit) == (
        {"fetch_fallback.score": 85},
        False,
        False,
    )


# --- The breaker ---------------------------------------------------------------------


def test_a_breaker_shows_closed_from_its_providers_first_call(service):
    assert (
        REGISTRY.get_sample_value(
            "rule_engine_provider_breaker_state", {"provider": "fetch_fresh"}
        )
        is None
    )

    one([FreshTestProvider])

    assert (
        REGISTRY.get_sample_value(
            "rule_engine_provider_breaker_state", {"provider": "fetch_fresh"}
        )
        == 0
    )


def test_the_breaker_opens_after_n_failures_and_answers_without_calling(service, settings):
    settings.PROVIDER_BREAKER_FAILURES = 2
    service.behave(status=503)

    errors = [one([SlowTestProvider])["fetch_a"].error for _ in range(2)]
    service.behave(status=200)
    refused = one([SlowTestProvider])["fetch_a"]

    assert errors == ["error", "error"]
    assert (refused.values, refused.error, refused.reference) == (None, "breaker_open", None)
    assert BREAKERS.state("fetch_a") is BreakerState.OPEN
    assert sample("rule_engine_provider_breaker_state", provider="fetch_a") == 2
    assert len(service.received) == 2


def test_a_success_before_n_failures_starts_the_count_again(service, settings):
    settings.PROVIDER_BREAKER_FAILURES = 2
    for status in (503, 200, 503):
        service.behave(status=status)
        one([SlowTestProvider])

    assert BREAKERS.state("fetch_a") is BreakerState.CLOSED


@pytest.mark.usefixtures("memory_cache")
def test_an_open_breaker_answers_with_the_fallback(service, settings):
    settings.PROVIDER_BREAKER_FAILURES = 1
    service.behave(status=503)
    one([FallbackTestProvider])

    refused = one([FallbackTestProvider])["fetch_fallback"]

    assert (refused.values, refused.error, refused.fallback) == (
        {"fetch_fallback.score": 50},
        "breaker_open",
        True,
    )
    assert len(service.received) == 1


def test_after_the_open_period_one_trial_call_that_succeeds_closes_it(service, settings):
    settings.PROVIDER_BREAKER_FAILURES = 1
    settings.PROVIDER_BREAKER_OPEN_SECONDS = 0
    service.behave(status=503)
    one([SlowTestProvider])
    service.behave(status=200)

    trial = one([SlowTestProvider])["fetch_a"]

    assert trial.values == {"fetch_a.score": 85}
    assert BREAKERS.state("fetch_a") is BreakerState.CLOSED
    assert sample("rule_engine_provider_breaker_state", provider="fetch_a") == 0


def test_a_trial_call_that_fails_opens_it_again(service, settings):
    settings.PROVIDER_BREAKER_FAILURES = 1
    settings.PROVIDER_BREAKER_OPEN_SECONDS = 0
    service.behave(status=503)
    one([SlowTestProvider])

    trial = one([SlowTestProvider])["fetch_a"]

    assert trial.error == "error"
    assert BREAKERS.state("fetch_a") is BreakerState.OPEN
    assert len(service.received) == 2


def test_while_the_trial_call_is_out_the_other_calls_answer_breaker_open(service, settings):
    settings.PROVIDER_BREAKER_FAILURES = 1
    settings.PROVIDER_BREAKER_OPEN_SECONDS = 0
    service.behave(status=503)
    one([SlowTestProvider])
    service.behave(status=200, hang=True)

    trial, meanwhile = supply([SlowTestProvider], [order("C-1"), order("C-2")], deadline=0.3)
    service.release()
    next_trial = one([SlowTestProvider])["fetch_a"]

    assert [trial["fetch_a"].error, meanwhile["fetch_a"].error] == ["deadline", "breaker_open"]
    # The deadline cut the trial short: the next call is the trial, and closes it.
    assert next_trial.values == {"fetch_a.score": 85}
    assert BREAKERS.state("fetch_a") is BreakerState.CLOSED
    assert len(service.received) == 3


# --- The breakers' shared state -------------------------------------------------------
#
# A worker is its breakers: another worker of the same site is a ``Breakers`` of its own
# over the same providers' cache (in memory here: one cache, as the site's is).


@pytest.fixture
def workers(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], None]:
    """Return a switch between workers "A" (this process's breakers) and "B": ``serve("B")``."""
    breakers = {"A": fetching.BREAKERS, "B": Breakers()}
    return lambda name: monkeypatch.setattr(fetching, "BREAKERS", breakers[name])


def test_a_breaker_another_worker_opened_answers_breaker_open_here_without_calling(
    service, settings, workers
):
    settings.PROVIDER_BREAKER_FAILURES = 2
    service.behave(status=503)
    workers("A")
    opened = [one([SlowTestProvider])["fetch_a"].error for _ in range(2)]

    workers("B")
    refused = one([SlowTestProvider])["fetch_a"]

    assert opened == ["error", "error"]
    assert (refused.error, refused.reference) == ("breaker_open", None)
    assert fetching.BREAKERS.state("fetch_a") is BreakerState.OPEN
    assert len(service.received) == 2


def test_failures_in_two_workers_add_up_and_open_the_breaker_in_both(service, settings, workers):
    settings.PROVIDER_BREAKER_FAILURES = 2
    service.behave(status=503)

    workers("A")
    first = one([SlowTestProvider])["fetch_a"].error
    workers("B")
    second = one([SlowTestProvider])["fetch_a"].error
    opened_in_b = fetching.BREAKERS.state("fetch_a")
    workers("A")
    refused = one([SlowTestProvider])["fetch_a"].error

    assert [first, second, refused] == ["error", "error", "breaker_open"]
    assert opened_in_b is BreakerState.OPEN
    assert fetching.BREAKERS.state("fetch_a") is BreakerState.OPEN
    assert len(service.received) == 2


def test_an_answer_in_any_worker_starts_the_count_again_in_every_worker(
    service, settings, workers
):
    settings.PROVIDER_BREAKER_FAILURES = 2
    workers("A")
    service.behave(status=503)
    one([SlowTestProvider])
    workers("B")
    service.behave(status=200)
    one([SlowTestProvider])
    workers("A")
    service.behave(status=503)

    again = one([SlowTestProvider])["fetch_a"]

    # A's second failure, but the first since B's answer: A's breaker stays closed.
    assert again.error == "error"
    assert fetching.BREAKERS.state("fetch_a") is BreakerState.CLOSED
    assert one([SlowTestProvider])["fetch_a"].error == "error"
    assert fetching.BREAKERS.state("fetch_a") is BreakerState.OPEN
    assert len(service.received) == 4


def test_a_trial_that_succeeds_in_one_worker_lets_the_others_call_once_their_period_ends(
    service, settings, workers
):
    settings.PROVIDER_BREAKER_FAILURES = 1
    settings.PROVIDER_BREAKER_OPEN_SECONDS = 0
    service.behave(status=503)
    workers("A")
    one([SlowTestProvider])
    service.behave(status=200)
    trial = one([SlowTestProvider])["fetch_a"]
    workers("B")

    called = one([SlowTestProvider])["fetch_a"]

    assert (trial.values, called.values) == ({"fetch_a.score": 85}, {"fetch_a.score": 85})
    assert len(service.received) == 3


@pytest.mark.usefixtures("failing_cache")
def test_without_the_shared_cache_each_worker_counts_its_own_failures(service, settings, workers):
    settings.PROVIDER_BREAKER_FAILURES = 1
    service.behave(status=503)
    workers("A")
    one([SlowTestProvider])
    refused_in_a = one([SlowTestProvider])["fetch_a"].error
    workers("B")

    called_in_b = one([SlowTestProvider])["fetch_a"].error

    assert (refused_in_a, called_in_b) == ("breaker_open", "error")
    assert len(service.received) == 2


# --- Batches -------------------------------------------------------------------------


def test_a_batch_calls_once_per_distinct_inputs(service):
    orders = [order("C-1"), order("C-2"), order("C-1")]

    first, second, third = supply([SlowTestProvider], orders, deadline=5.0)

    assert [record["fetch_a"].values for record in (first, second, third)] == [
        {"fetch_a.score": 85},
        {"fetch_a.score": 20},
        {"fetch_a.score": 85},
    ]
    assert third["fetch_a"] is first["fetch_a"]
    assert sorted(received.body["customer.id"] for received in service.received) == [
        "C-1",
        "C-2",
    ]


def test_a_batch_has_at_most_the_concurrency_limit_in_flight(service, settings):
    settings.PROVIDER_MAX_CONCURRENCY = 2
    service.behave(latency=0.1)
    orders = [order(f"C-{number}") for number in range(6)]

    supplied = supply([SlowTestProvider], orders, deadline=5.0)

    assert [record["fetch_a"].error for record in supplied] == [None] * 6
    assert len(service.received) == 6
    assert service.max_in_flight == 2


# --- Metrics -------------------------------------------------------------------------


@pytest.mark.usefixtures("memory_cache")
def test_results_are_counted_by_provider_and_calls_timed(service, settings):
    def counts() -> list[float]:
        return [
            *(
                sample("rule_engine_provider_calls_total", provider="fetch_cached", result=result)
                for result in ("ok", "cache_hit", "error", "breaker_open")
            ),
            sample("rule_engine_provider_seconds_count", provider="fetch_cached"),
        ]

    settings.PROVIDER_BREAKER_FAILURES = 1
    before = counts()
    one([CachedTestProvider])  # ok
    one([CachedTestProvider])  # cache_hit
    service.behave(status=503)
    one([CachedTestProvider], customer="C-2")  # error
    one([CachedTestProvider], customer="C-3")  # breaker_open

    assert [after - was for after, was in zip(counts(), before, strict=True)] == [1, 1, 1, 1, 2]


# --- Processes -----------------------------------------------------------------------


def test_a_forked_process_calls_through_a_loop_and_client_of_its_own(service):
    one([SlowTestProvider])  # this process's loop and client exist

    pid = os.fork()
    if pid == 0:  # the child: exit 0 only if it was answered
        try:
            answered = one([SlowTestProvider], deadline=2.0)["fetch_a"].values is not None
        finally:
            os._exit(0 if answered else 1)
    _, status = os.waitpid(pid, 0)

    assert os.waitstatus_to_exitcode(status) == 0
    assert len(service.received) == 2


@pytest.fixture
def no_runtime(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Start with no loop and client in this process; stop any the test makes."""
    monkeypatch.setattr(fetching, "_current", None)
    monkeypatch.setattr(fetching, "PROVIDERS", {"risk": RiskServiceProvider})
    yield
    if fetching._current is not None:
        fetching._current.loop.call_soon_threadsafe(fetching._current.loop.stop)


@pytest.mark.usefixtures("no_runtime")
def test_a_worker_with_a_configured_provider_makes_its_loop_and_client_before_serving(settings):
    settings.RISK_SERVICE_URL = "http://127.0.0.1:9/score"

    prepare_runtime()

    assert fetching._current is not None
    assert fetching._current.pid == os.getpid()
    assert fetching._current.loop.is_running()


@pytest.mark.usefixtures("no_runtime")
def test_a_worker_with_no_provider_configured_makes_no_loop(settings):
    settings.RISK_SERVICE_URL = ""

    prepare_runtime()

    assert fetching._current is None
