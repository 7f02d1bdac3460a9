"""Measure ``POST /rules/check/`` against a plain view, and what the log, metrics, keys cost.

Run ``.venv/bin/python bench/check_throughput.py`` (or ``make bench``). For
each database (``--databases``: SQLite and PostgreSQL by default) it prepares
one site (``migrate``, ``collectstatic``, ``seed_orders`` and 1000 random
orders more; SQLite in a file of a temporary folder, PostgreSQL on
``DATABASE_URL``, or on a throw-away cluster: without one, the script runs
itself again under ``scripts/with-postgres.sh``) and serves it with
gunicorns, each started from ``gunicorn.conf.py`` with two sync workers,
``DEBUG`` off and ``LOG_LEVEL=INFO``:

``ours``
    the production settings (``config.settings``: the metrics endpoint, our
    request-id and access-log middleware, whitenoise, Django's stock
    middleware, DRF) serving ``POST /rules/check/``, with the decision log on
    (``DECISION_LOG=all``, the default): every check is stored before its
    answer; and with metrics on (``METRICS_ENABLED``, the default);
``log-off``
    the same with ``DECISION_LOG=off``;
``metrics-off`` (SQLite only)
    ``ours`` with ``METRICS_ENABLED=False``: nothing counted, ``/metrics`` a 404;
``plain`` (SQLite only)
    ``bench.settings``: Django's stock middleware only, serving
    ``bench.views.plain_check`` (one SELECT of the order, three comparisons, a
    ``JsonResponse``);
``key`` (SQLite only)
    as ``ours``, the requests sent with ``Authorization: Api-Key <key>`` (a
    key with ``check`` made on the site): one more query, by the key's
    prefix, and a SHA-512 comparison;
``throttled`` (SQLite only)
    as ``ours`` with throttling on: each request is counted in the database
    cache (one read and one write of the count), at a rate no run reaches.

Every server but ``throttled`` has throttling off, so that each pair
differs in one thing.

wrk posts the three seeded orders with the three built-in rules at each
concurrency (8 and 64). After a warm-up of every server at each level, the
timed rounds alternate them (ABC, then CBA, ...), so that a drift of the
machine's load hits all alike, and each round gives its ratios per level:
ours/plain (target: a median of at least 0.75), log on/off (at least 0.85, issue 19),
metrics on/off (at least 0.95), key/ours (at least 0.95) and throttled/ours
(at least 0.90). Then each round times ``--batches`` batch checks of orders 1
to 1000 (``POST /rules/check/batch/``) on ``ours`` and on ``log-off``, in
alternating order: the ratio of their orders per second, log on/off, has a
target of at least 0.70; beside it, the ratio of the workers' CPU per batch.
The table
gives the median requests/s, p50 and p99 of the rounds with the lowest and
highest, and the median ratios with their ranges.

Other work on the machine lowers the requests/s of whichever side runs at the
time, so the table also gives each side's server CPU time per request (its
workers' user + system time over the run, divided by the requests) and the
ratio of those: what the requests/s ratio would be if the servers had the
CPUs to themselves, a figure that other work disturbs far less. It exits 1
if any request failed (a 429 included). Everything listens on, and talks
to, 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.spread import Spread, repeats
from config.tests.servers import (
    REPO_ROOT,
    GunicornServer,
    http_request,
    manage,
    prepare_site,
    start_gunicorn,
)

logger = logging.getLogger("bench.check_throughput")

RULES = ["min_total_100", "min_items_2", "divisible_by_5"]
ORDER_IDS = (1, 2, 3)


@dataclass(frozen=True)
class Endpoint:
    """One side of a comparison: its settings, extra environment, path, and whether with a key."""

    name: str
    settings: str
    path: str
    env: tuple[tuple[str, str], ...] = ()
    with_key: bool = False


THROTTLING_OFF = tuple(
    (name, "off") for name in ("THROTTLE_CHECK", "THROTTLE_ANALYZE", "THROTTLE_ANONYMOUS")
)
# Counted as in production, at a rate that no run reaches.
THROTTLING_ON = (("THROTTLE_CHECK", "1000000000/min"), ("THROTTLE_ANONYMOUS", "1000000000/min"))
OURS = Endpoint(
    "ours",
    "config.settings",
    "/rules/check/",
    (("DECISION_LOG", "all"), ("METRICS_ENABLED", "True"), *THROTTLING_OFF),
)
LOG_OFF = Endpoint(
    "log-off", "config.settings", "/rules/check/", (("DECISION_LOG", "off"), *THROTTLING_OFF)
)
METRICS_OFF = Endpoint(
    "metrics-off",
    "config.settings",
    "/rules/check/",
    (("DECISION_LOG", "all"), ("METRICS_ENABLED", "False"), *THROTTLING_OFF),
)
PLAIN = Endpoint("plain", "bench.settings", "/bench/plain-check/")
KEY = Endpoint(
    "key", "config.settings", "/rules/check/", (("DECISION_LOG", "all"), *THROTTLING_OFF), True
)
THROTTLED = Endpoint(
    "throttled", "config.settings", "/rules/check/", (("DECISION_LOG", "all"), *THROTTLING_ON)
)
# What each database's site serves: the plain baseline, metrics off, the key and
# the throttles on SQLite only, where the ratio ours/plain has always been measured.
ENDPOINTS = {
    "sqlite": (PLAIN, OURS, LOG_OFF, METRICS_OFF, KEY, THROTTLED),
    "postgresql": (OURS, LOG_OFF),
}
# The pairs compared besides ours/plain and the log: side, baseline, target of
# the median req/s ratio; only where the database's site serves both.
PAIR_RATIOS = ((OURS, METRICS_OFF, 0.95), (KEY, OURS, 0.95), (THROTTLED, OURS, 0.90))
DATABASES = tuple(ENDPOINTS)
EXPECTED_VERDICTS = {
    1: {"min_total_100": True, "min_items_2": True, "divisible_by_5": True},
    2: {"min_total_100": False, "min_items_2": False, "divisible_by_5": False},
    3: {"min_total_100": True, "min_items_2": True, "divisible_by_5": True},
}
TARGET_RATIO = 0.75
LOG_TARGET_RATIO = 0.85
BATCH_TARGET_RATIO = 0.70
BATCH_ORDERS = 1000
# wrk and two workers already fill a two-core machine; more load skews the figures.
BUSY_LOAD = 1.0
RESULT_MARKER = "WRK_RESULT "

# wrk posts the three orders in turn and, when done, writes one JSON line of
# exact figures (latencies in microseconds), so nothing is parsed from text.
WRK_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
%(authorization)s
local bodies = {}
for _, id in ipairs({%(order_ids)s}) do
  bodies[#bodies + 1] = string.format('{"order_id": %%d, "rules": %(rules)s}', id)
end
local counter = 0
request = function()
  counter = counter %% #bodies + 1
  return wrk.format(nil, nil, nil, bodies[counter])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '%(marker)s{"requests": %%d, "duration_us": %%d, "p50_us": %%d, "p99_us": %%d, '
    .. '"connect": %%d, "read": %%d, "write": %%d, "status": %%d, "timeout": %%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect, e.read, e.write, e.status, e.timeout))
end
"""


@dataclass(frozen=True)
class Measurement:
    """The figures of one wrk run against one endpoint."""

    endpoint: str
    connections: int
    requests: int
    duration_s: float
    p50_ms: float
    p99_ms: float
    errors: int
    cpu_s: float

    @property
    def rate(self) -> float:
        """Return the requests per second."""
        return self.requests / self.duration_s

    @property
    def cpu_us(self) -> float:
        """Return the server's CPU microseconds per request."""
        return self.cpu_s / self.requests * 1e6


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Return the command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--duration", type=int, default=5, help="seconds per timed run (default 5)"
    )
    parser.add_argument(
        "--warmup",
        type=int,
        default=3,
        help="seconds of warm-up per endpoint and level (default 3)",
    )
    parser.add_argument(
        "--connections",
        type=lambda text: [int(item) for item in text.split(",")],
        default=[8, 64],
        help="comma list of concurrency levels (default 8,64)",
    )
    parser.add_argument(
        "--rounds", type=repeats, default=5, help="timed rounds, at least 3 (default 5)"
    )
    parser.add_argument(
        "--threads", type=int, default=1, help="wrk threads; the server needs the CPUs more"
    )
    parser.add_argument(
        "--workers", type=int, default=2, help="gunicorn sync workers of each server (default 2)"
    )
    parser.add_argument(
        "--databases",
        type=comma_list(DATABASES),
        default=list(DATABASES),
        help="comma list of sqlite, postgresql (default both; PostgreSQL runs on the "
        "DATABASE_URL given, or on a throw-away cluster of scripts/with-postgres.sh)",
    )
    parser.add_argument(
        "--batches",
        type=int,
        default=5,
        help=f"batches of {BATCH_ORDERS} per side and round (default 5; 0: no batch figures)",
    )
    return parser.parse_args(argv)


def comma_list(allowed: Sequence[str]) -> Callable[[str], list[str]]:
    """Return an ``argparse`` type: a comma list of names, at least one, each in *allowed*."""

    def names_in(text: str) -> list[str]:
        """Return the names of the comma list *text*; refuse one not in *allowed*."""
        names = [item.strip() for item in text.split(",") if item.strip()]
        if not names or not set(names) <= set(allowed):
            raise argparse.ArgumentTypeError(f"choose among {', '.join(allowed)}, not {text!r}")
        return names

    return names_in


def ensure_wrk() -> str:
    """Return the path of wrk, installing Debian's package first if it is missing."""
    found = shutil.which("wrk")
    if found:
        return found
    logger.info("wrk is missing; installing it with apt-get")
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    subprocess.run([*sudo, "apt-get", "update", "-q"], check=True)
    subprocess.run(
        [*sudo, "apt-get", "install", "-y", "-q", "wrk"],
        check=True,
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
    )
    found = shutil.which("wrk")
    if not found:
        raise RuntimeError("apt-get installed wrk, but it is not on PATH")
    return found


def check_endpoint(endpoint: Endpoint, base_url: str, headers: dict[str, str]) -> None:
    """Raise ``RuntimeError`` unless *endpoint* gives the expected verdicts from its stack.

    Our middleware answers with an ``X-Request-ID`` header; the plain stack,
    which must not run it, answers without one. A decision is on the record
    (``X-Decision-ID``) exactly when the endpoint's decision log is on. With
    metrics on, ``/metrics`` has counted the checks; with them off, it is a 404.
    """
    env = dict(endpoint.env)
    for order_id, details in EXPECTED_VERDICTS.items():
        reply = http_request(
            f"{base_url}{endpoint.path}", {"order_id": order_id, "rules": RULES}, headers=headers
        )
        where = f"{endpoint.name} {endpoint.path} order {order_id}"
        if reply.status != 200:
            raise RuntimeError(f"{where}: {reply.status} {reply.body!r}")
        body = reply.json()
        expected = {"passed": all(details.values()), "details": details}
        if {key: body.get(key) for key in expected} != expected:
            raise RuntimeError(f"{where}: wrong verdict {body!r}")
        if ("X-Request-ID" in reply.headers) != (endpoint is not PLAIN):
            raise RuntimeError(f"{where}: not served by the {endpoint.name} stack")
        if ("X-Decision-ID" in reply.headers) != (endpoint not in (PLAIN, LOG_OFF)):
            raise RuntimeError(f"{where}: the decision log is not as {endpoint.name} wants it")
    if endpoint is PLAIN:
        return
    metrics = http_request(f"{base_url}/metrics")
    counted = b"\nrule_engine_checks_total{" in metrics.body
    expected = (404, False) if env.get("METRICS_ENABLED") == "False" else (200, True)
    if (metrics.status, counted) != expected:
        raise RuntimeError(f"{endpoint.name}: /metrics answered {metrics.status}")


def workers_cpu_seconds(server: GunicornServer) -> float:
    """Return the user + system CPU seconds that *server*'s workers have used so far."""
    return sum(
        sum(worker.cpu_times()[:2]) for worker in psutil.Process(server.process.pid).children()
    )


def run_wrk(
    wrk: str,
    script: Path,
    server: GunicornServer,
    path: str,
    *,
    endpoint: str,
    connections: int,
    threads: int,
    duration: int,
) -> Measurement:
    """Drive *path* on *server* with wrk and return its figures."""
    cpu_before = workers_cpu_seconds(server)
    completed = subprocess.run(
        [
            wrk,
            f"--threads={min(threads, connections)}",
            f"--connections={connections}",
            f"--duration={duration}s",
            "--timeout=5s",
            f"--script={script}",
            server.url + path,
        ],
        capture_output=True,
        text=True,
        timeout=duration + 30,
        check=False,
    )
    cpu_s = workers_cpu_seconds(server) - cpu_before
    if completed.returncode != 0:
        raise RuntimeError(f"wrk failed:\n{completed.stdout}{completed.stderr}")
    lines = [line for line in completed.stdout.splitlines() if line.startswith(RESULT_MARKER)]
    if not lines:
        raise RuntimeError(f"wrk printed no result:\n{completed.stdout}{completed.stderr}")
    figures = json.loads(lines[-1].removeprefix(RESULT_MARKER))
    return Measurement(
        endpoint=endpoint,
        connections=connections,
        requests=figures["requests"],
        duration_s=figures["duration_us"] / 1e6,
        p50_ms=figures["p50_us"] / 1000,
        p99_ms=figures["p99_us"] / 1000,
        errors=sum(figures[kind] for kind in ("connect", "read", "write", "status", "timeout")),
        cpu_s=cpu_s,
    )


def round_order(endpoints: Sequence[Endpoint], index: int) -> tuple[Endpoint, ...]:
    """Return the endpoints in the order round *index* measures them: ABC, CBA, ABC, ..."""
    return tuple(endpoints) if index % 2 == 0 else tuple(reversed(endpoints))


@dataclass
class DatabaseRun:
    """What one database's site measured: the rounds of wrk runs and of batches."""

    database: str
    endpoints: tuple[Endpoint, ...]
    rounds: list[dict[tuple[str, int], Measurement]]
    batches: list[dict[str, BatchTiming]]
    errors: int


def report(runs: Sequence[DatabaseRun]) -> bool:
    """Write each database's table, ratios and batch figures to stdout; return targets met."""
    rows: list[str] = []
    met = all(run.errors == 0 for run in runs)
    for run in runs:
        rounds = run.rounds
        levels = sorted({connections for _, connections in rounds[0]})
        rows += [
            f"== {run.database}",
            f"{'endpoint':<11} {'conns':>5}  {'req/s: median (min..max)':<26} "
            f"{'p50 ms':>7} {'p99 ms':>7} {'errors':>7}  server CPU us/request",
        ]
        for connections in levels:
            for endpoint in run.endpoints:
                runs_of = [r[endpoint.name, connections] for r in rounds]
                rate = Spread.of(m.rate for m in runs_of)
                p50 = Spread.of(m.p50_ms for m in runs_of).median
                p99 = Spread.of(m.p99_ms for m in runs_of).median
                cpu = Spread.of(m.cpu_us for m in runs_of)
                errors = sum(m.errors for m in runs_of)
                rows.append(
                    f"{endpoint.name:<11} {connections:>5}  {rate.format('.0f'):<26} "
                    f"{p50:>7.2f} {p99:>7.2f} {errors:>7}  {cpu.format('.0f')}"
                )
        rows.append("")
        for connections in levels:
            if PLAIN in run.endpoints:
                ratio, by_cpu = _ratios(rounds, OURS, PLAIN, connections)
                met = met and ratio.median >= TARGET_RATIO
                rows.append(f"ratio ours/plain req/s at c{connections}: {ratio.format()}")
                rows.append(
                    f"ratio plain/ours server CPU per request at c{connections}: {by_cpu.format()}"
                )
            ratio, by_cpu = _ratios(rounds, OURS, LOG_OFF, connections)
            met = met and ratio.median >= LOG_TARGET_RATIO
            rows.append(f"ratio log on/off req/s at c{connections}: {ratio.format()}")
            rows.append(
                f"ratio log off/on server CPU per request at c{connections}: {by_cpu.format()}"
            )
            for side, baseline, target in PAIR_RATIOS:
                if side not in run.endpoints or baseline not in run.endpoints:
                    continue
                ratio, by_cpu = _ratios(rounds, side, baseline, connections)
                met = met and ratio.median >= target
                pair, inverse = f"{side.name}/{baseline.name}", f"{baseline.name}/{side.name}"
                rows.append(f"ratio {pair} req/s at c{connections}: {ratio.format()}")
                rows.append(
                    f"ratio {inverse} server CPU per request at c{connections}: {by_cpu.format()}"
                )
        if run.batches:
            on = [batch[OURS.name] for batch in run.batches]
            off = [batch[LOG_OFF.name] for batch in run.batches]
            ratio = Spread.of(o.seconds / b.seconds for b, o in zip(on, off, strict=True))
            by_cpu = Spread.of(o.cpu_seconds / b.cpu_seconds for b, o in zip(on, off, strict=True))
            met = met and ratio.median >= BATCH_TARGET_RATIO
            rows.append(
                f"batch of {BATCH_ORDERS} orders/s: "
                f"log on {Spread.of(BATCH_ORDERS / b.seconds for b in on).format('.0f')}, "
                f"log off {Spread.of(BATCH_ORDERS / b.seconds for b in off).format('.0f')}"
            )
            rows.append(
                f"batch of {BATCH_ORDERS} server CPU ms: "
                f"log on {Spread.of(b.cpu_seconds * 1e3 for b in on).format('.1f')}, "
                f"log off {Spread.of(b.cpu_seconds * 1e3 for b in off).format('.1f')}"
            )
            rows.append(f"ratio log on/off batch orders/s: {ratio.format()}")
            rows.append(f"ratio log off/on server CPU per batch: {by_cpu.format()}")
        rows.append(f"(median of {len(rounds)} rounds, min..max; each ratio within one round)")
        rows.append(f"total errors (all runs, warm-up included): {run.errors}")
        rows.append("")
    pairs = ", ".join(f"{side.name}/{base.name} >= {target}" for side, base, target in PAIR_RATIOS)
    rows.append(
        f"targets: ours/plain req/s >= {TARGET_RATIO}, log on/off req/s >= {LOG_TARGET_RATIO}, "
        f"{pairs} at every level, batch log on/off >= {BATCH_TARGET_RATIO}, zero errors: "
        f"{'met' if met else 'NOT met'}"
    )
    sys.stdout.write("\n".join(rows) + "\n")
    return met


def _ratios(
    rounds: Sequence[dict[tuple[str, int], Measurement]],
    side: Endpoint,
    baseline: Endpoint,
    connections: int,
) -> tuple[Spread, Spread]:
    """Return *side*'s req/s over *baseline*'s, and *baseline*'s CPU per request over *side*'s."""
    pairs = [(r[side.name, connections], r[baseline.name, connections]) for r in rounds]
    return (
        Spread.of(ours.rate / other.rate for ours, other in pairs),
        Spread.of(other.cpu_us / ours.cpu_us for ours, other in pairs),
    )


@dataclass(frozen=True)
class BatchTiming:
    """One batch check, on average over a round: seconds taken and the workers' CPU seconds."""

    seconds: float
    cpu_seconds: float


def time_batches(server: GunicornServer, count: int, *, logged: bool) -> BatchTiming:
    """Time *count* batch checks of orders 1..1000 on *server*; return one's average.

    Raises ``RuntimeError`` unless each answers 200 with a decision per order
    exactly when the server's decision log is on.
    """
    body = {"order_ids": list(range(1, BATCH_ORDERS + 1)), "rules": RULES}
    cpu_before = workers_cpu_seconds(server)
    started = time.perf_counter()
    for _ in range(count):
        reply = http_request(f"{server.url}/rules/check/batch/", body, timeout=60)
        if reply.status != 200:
            raise RuntimeError(f"batch answered {reply.status}: {reply.body!r}")
        recorded = sum(entry["decision_id"] is not None for entry in reply.json()["results"])
        if recorded != (BATCH_ORDERS if logged else 0):
            raise RuntimeError(f"batch recorded {recorded} decisions, logged={logged}")
    seconds = time.perf_counter() - started
    return BatchTiming(seconds / count, (workers_cpu_seconds(server) - cpu_before) / count)


def measure_database(
    database: str, args: argparse.Namespace, wrk: str, workdir: Path
) -> DatabaseRun:
    """Serve *database*'s site from *workdir* with each endpoint and measure them."""
    overrides = {
        "LOG_LEVEL": "INFO",
        "WEB_CONCURRENCY": str(args.workers),
        # The batches are anonymous, as wrk's checks are: they get a key's budget.
        "BATCH_ANONYMOUS_MAX_CELLS": str(BATCH_ORDERS * len(RULES)),
    }
    if database == "postgresql":
        overrides["DATABASE_URL"] = os.environ["DATABASE_URL"]
    logger.info("preparing the %s site in %s", database, workdir)
    env = prepare_site(workdir, **overrides)
    if args.batches:
        manage(env, "seed_orders", "--count", str(BATCH_ORDERS), "--seed", "1")
    endpoints = ENDPOINTS[database]
    headers: dict[str, dict[str, str]] = {endpoint.name: {} for endpoint in endpoints}
    if KEY in endpoints:
        key = manage(env, "create_api_key", "bench", "--scopes", "check").splitlines()[-1]
        headers[KEY.name] = {"Authorization": f"Api-Key {key}"}
    scripts = {endpoint.name: workdir / f"{endpoint.name}.lua" for endpoint in endpoints}
    for endpoint in endpoints:
        scripts[endpoint.name].write_text(wrk_script(headers[endpoint.name]))
    servers: dict[str, GunicornServer] = {}

    def measure(endpoint: Endpoint, connections: int, duration: int) -> Measurement:
        """Drive *endpoint* at *connections* for *duration* seconds."""
        measurement = run_wrk(
            wrk,
            scripts[endpoint.name],
            servers[endpoint.name],
            endpoint.path,
            endpoint=endpoint.name,
            connections=connections,
            threads=args.threads,
            duration=duration,
        )
        logger.info(
            "%s %s at %d connections for %d s: %.0f req/s, %.0f server CPU us/request",
            database,
            endpoint.name,
            connections,
            duration,
            measurement.rate,
            measurement.cpu_us,
        )
        return measurement

    try:
        for endpoint in endpoints:
            servers[endpoint.name] = start_gunicorn(
                {**env, "DJANGO_SETTINGS_MODULE": endpoint.settings, **dict(endpoint.env)},
                workdir / f"{endpoint.name}.log",
            )
            check_endpoint(endpoint, servers[endpoint.name].url, headers[endpoint.name])
        warmups = [
            measure(endpoint, connections, args.warmup)
            for connections in args.connections
            for endpoint in endpoints
        ]
        rounds = []
        for index in range(args.rounds):
            measured = {}
            for connections in args.connections:
                for endpoint in round_order(endpoints, index):
                    measured[endpoint.name, connections] = measure(
                        endpoint, connections, args.duration
                    )
            rounds.append(measured)
        batches = []
        if args.batches:
            for side in (OURS, LOG_OFF):
                time_batches(servers[side.name], 1, logged=side is OURS)
            for index in range(args.rounds):
                batches.append(
                    {
                        side.name: time_batches(
                            servers[side.name], args.batches, logged=side is OURS
                        )
                        for side in round_order((OURS, LOG_OFF), index)
                    }
                )
                logger.info("%s batches, round %d: %s", database, index + 1, batches[-1])
    finally:
        for server in servers.values():
            server.stop()
    errors = sum(m.errors for m in warmups) + sum(
        m.errors for measured in rounds for m in measured.values()
    )
    return DatabaseRun(database, endpoints, rounds, batches, errors)


def wrk_script(headers: dict[str, str], rules: Sequence[object] = tuple(RULES)) -> str:
    """Return wrk's script posting the seeded orders with *rules*, and *headers* besides.

    *rules* are the check's items as the API takes them: names, or objects
    with their parameters.
    """
    return WRK_SCRIPT % {
        "authorization": "\n".join(
            f'wrk.headers["{name}"] = "{value}"' for name, value in headers.items()
        ),
        "order_ids": ", ".join(str(order_id) for order_id in ORDER_IDS),
        "rules": json.dumps(list(rules)),
        "marker": RESULT_MARKER,
    }


def benchmark(args: argparse.Namespace, wrk: str, workdir: Path) -> tuple[int, bool]:
    """Measure every database asked for, in *workdir*; return the errors and targets met."""
    load = os.getloadavg()[0]
    if load > BUSY_LOAD:
        logger.warning("load average is %.1f: other work will skew the figures", load)
    runs = []
    for database in args.databases:
        site = workdir / database
        site.mkdir()
        runs.append(measure_database(database, args, wrk, site))
    met = report(runs)
    sys.stdout.write(f"load average before the run: {load:.1f}, after: {os.getloadavg()[0]:.1f}\n")
    return sum(run.errors for run in runs), met


def on_postgresql() -> bool:
    """Return whether ``DATABASE_URL`` names a PostgreSQL database."""
    return os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://"))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; return 1 if any request failed, else 0.

    Asked for PostgreSQL without a ``DATABASE_URL`` naming one, it runs
    itself again under ``scripts/with-postgres.sh``, which starts a
    throw-away cluster and removes it afterwards.
    """
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    args = parse_args(argv)
    if "postgresql" in args.databases and not on_postgresql():
        command = [sys.executable, str(Path(__file__).resolve()), *(argv or sys.argv[1:])]
        script = REPO_ROOT / "scripts" / "with-postgres.sh"
        return subprocess.run(["bash", str(script), *command], check=False).returncode
    wrk = ensure_wrk()
    workdir = Path(tempfile.mkdtemp(prefix="bench-"))
    try:
        total_errors, _ = benchmark(args, wrk, workdir)
    except BaseException:
        logger.error("the benchmark failed; its files are kept in %s", workdir)
        raise
    if total_errors:
        logger.error("%d requests failed; gunicorn's logs are kept in %s", total_errors, workdir)
        return 1
    shutil.rmtree(workdir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
