"""The service's Prometheus metrics: what is counted, under which labels, and the calls that count.

The metrics live in prometheus-client's default registry. Under gunicorn,
``gunicorn.conf.py`` points ``PROMETHEUS_MULTIPROC_DIR`` at a directory
before the workers start, and each worker then writes its counts to files
there, which the process answering a scrape adds up (``config/metrics.py``).
Elsewhere (tests, ``manage.py`` commands) the counts stay in the process,
unless that variable names the server's directory too.

Every label value comes from a small, fixed set: route names, HTTP methods,
status classes, rule names (registered or stored), outcomes, throttle
scopes and stores, refusal kinds, command names, provider names (registered
classes) and their call results; never an id, a key a client chose,
or a raw path. While ``METRICS_ENABLED`` is off nothing is counted.
"""

import functools
from collections.abc import Iterable

from django.conf import settings
from prometheus_client import Counter, Gauge, Histogram

# Request latency buckets, in seconds: 1 ms to 10 s.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# Any other method a client sends is counted as "other": the label stays bounded.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

REQUESTS = Counter(
    "rule_engine_http_requests",
    "HTTP requests answered, by route name, method and status class (2xx, 4xx, ...).",
    ["route", "method", "status_class"],
)
REQUEST_DURATION = Histogram(
    "rule_engine_http_request_duration_seconds",
    "Time from a request's arrival to the end of its response, by route name and method.",
    ["route", "method"],
    buckets=LATENCY_BUCKETS,
)
CHECKS = Counter(
    "rule_engine_checks",
    "Orders checked, single or in a batch, by verdict (passed, failed) and by what named "
    "the rules (rules, ruleset).",
    ["outcome", "source"],
)
RULE_RESULTS = Counter(
    "rule_engine_rule_results",
    "Rule outcomes in checks, by rule name and outcome (passed, failed, error, skipped).",
    ["rule", "outcome"],
)
THROTTLED = Counter(
    "rule_engine_throttled_requests",
    "Requests refused with 429 throttled, by throttle scope.",
    ["scope"],
)
THROTTLE_STORE_ERRORS = Counter(
    "rule_engine_throttle_store_errors",
    "Throttle store operations that failed, or were not tried while a Redis that failed is "
    "left alone, by store (database, redis): each a request let through uncounted, or a "
    "readiness check that found the store unavailable.",
    ["store"],
)
BUDGET_REFUSALS = Counter(
    "rule_engine_budget_refusals",
    "Requests refused or cut short for costing more than their budget, by kind "
    "(batch_too_large, report_too_large, query_timeout, report_timeout).",
    ["kind"],
)
DATABASE_UNAVAILABLE = Counter(
    "rule_engine_database_unavailable_responses",
    "Answers (and reports cut short) because the database could not be used.",
)
REPORT_ROWS = Counter("rule_engine_report_rows", "Report rows streamed, one per order.")
REPORT_BYTES = Counter(
    "rule_engine_report_bytes", "Report bytes streamed, header and error records included."
)
COMMAND_RUNS = Counter(
    "rule_engine_command_runs",
    "Completed runs of maintenance commands (seed_orders, purge_decisions, decision_partitions).",
    ["command"],
)
COMMAND_ROWS = Counter(
    "rule_engine_command_rows",
    "Rows that maintenance commands wrote or deleted, by command.",
    ["command"],
)
PROVIDER_SECONDS = Histogram(
    "rule_engine_provider_seconds",
    "Time of the calls made to fact providers (cache hits aside), by provider, answered or not.",
    ["provider"],
    buckets=LATENCY_BUCKETS,
)
PROVIDER_CALLS = Counter(
    "rule_engine_provider_calls",
    "What fact providers supplied, once per distinct inputs, by provider and result (ok, "
    "cache_hit, timeout, error, malformed, breaker_open, deadline).",
    ["provider", "result"],
)
# Each worker has its own breakers: a scrape shows the most open of the live workers'.
PROVIDER_BREAKER_STATE = Gauge(
    "rule_engine_provider_breaker_state",
    "A fact provider's circuit breaker: 0 closed, 1 half-open (one trial call), 2 open; "
    "the highest of the live workers'.",
    ["provider"],
    multiprocess_mode="livemax",
)
PROVIDER_CACHE_ERRORS = Counter(
    "rule_engine_provider_cache_errors",
    "Operations on the providers' cache that failed, by operation (get, set): each a lookup "
    "answered by calling the providers, or answers not kept.",
    ["operation"],
)


def observe_request(route: str, method: str, status: int, seconds: float) -> None:
    """Count one answered request and how long it took."""
    if not settings.METRICS_ENABLED:
        return
    requests, duration = _request_series(route, method, status)
    requests.inc()
    duration.observe(seconds)


def count_check(*, source: str, passed: bool, rule_outcomes: Iterable[tuple[str, str]]) -> None:
    """Count one order checked: its verdict, and each rule's outcome by rule name."""
    if not settings.METRICS_ENABLED:
        return
    _labelled(CHECKS, "passed" if passed else "failed", source).inc()
    for rule, outcome in rule_outcomes:
        _labelled(RULE_RESULTS, rule, outcome).inc()


# Finding a series by its labels costs as much as counting in it (the library
# stringifies the values and takes a lock), and every label set is one of a
# few: each request and check looks its series up here, made once per process.
@functools.cache
def _request_series(route: str, method: str, status: int) -> tuple[Counter, Histogram]:
    """Return the request counter and the latency histogram of one request's labels."""
    method = method if method in METHODS else "other"
    return (
        REQUESTS.labels(route, method, f"{status // 100}xx"),
        REQUEST_DURATION.labels(route, method),
    )


@functools.cache
def _labelled(metric: Counter, *values: str) -> Counter:
    """Return the series of *metric* with the label *values*."""
    return metric.labels(*values)


def count_throttled(scope: str) -> None:
    """Count one request refused by the throttle of *scope*."""
    if settings.METRICS_ENABLED:
        THROTTLED.labels(scope).inc()


def count_throttle_store_error(store: str) -> None:
    """Count one operation of the throttle *store* that failed or was not tried."""
    if settings.METRICS_ENABLED:
        _labelled(THROTTLE_STORE_ERRORS, store).inc()


def count_budget_refusal(kind: str) -> None:
    """Count one request refused, or a report cut short, for going over a budget."""
    if settings.METRICS_ENABLED:
        BUDGET_REFUSALS.labels(kind).inc()


def count_database_unavailable() -> None:
    """Count one answer (or a report cut short) because the database could not be used."""
    if settings.METRICS_ENABLED:
        DATABASE_UNAVAILABLE.inc()


def count_report_streamed(*, rows: int, size: int) -> None:
    """Count *rows* report rows and *size* bytes handed to the server to stream."""
    if settings.METRICS_ENABLED:
        REPORT_ROWS.inc(rows)
        REPORT_BYTES.inc(size)


def count_command_run(command: str, *, rows: int) -> None:
    """Count one completed run of a maintenance *command* and the rows it wrote or deleted.

    A command is its own process: its counts reach ``/metrics`` when it runs
    with the server's ``PROMETHEUS_MULTIPROC_DIR`` (see the README's Metrics).
    """
    if settings.METRICS_ENABLED:
        COMMAND_RUNS.labels(command).inc()
        COMMAND_ROWS.labels(command).inc(rows)


def count_provider_result(provider: str, result: str, *, seconds: float | None = None) -> None:
    """Count what *provider* supplied for one distinct input; *seconds*, a call's time if made."""
    if not settings.METRICS_ENABLED:
        return
    _labelled(PROVIDER_CALLS, provider, result).inc()
    if seconds is not None:
        _provider_seconds(provider).observe(seconds)


@functools.cache
def _provider_seconds(provider: str) -> Histogram:
    """Return the call-time histogram of *provider*."""
    return PROVIDER_SECONDS.labels(provider)


def set_provider_breaker_state(provider: str, state: int) -> None:
    """Show the state of *provider*'s breaker in this worker (0 closed, 1 half-open, 2 open)."""
    if settings.METRICS_ENABLED:
        PROVIDER_BREAKER_STATE.labels(provider).set(state)


def count_provider_cache_error(operation: str) -> None:
    """Count one failed *operation* (``get``, ``set``) of the providers' cache."""
    if settings.METRICS_ENABLED:
        _labelled(PROVIDER_CACHE_ERRORS, operation).inc()
