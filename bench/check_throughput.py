"""Measure ``POST /rules/check/`` against a plain Django view, and with metrics off.

Run ``.venv/bin/python bench/check_throughput.py`` (or ``make bench``). It
prepares one site (``migrate``, ``collectstatic``, ``seed_orders``: a SQLite
file in a temporary folder) and serves it with three gunicorns, all started
from ``gunicorn.conf.py`` with two sync workers, ``DEBUG`` off and
``LOG_LEVEL=INFO``:

``ours``
    the production settings (``config.settings``: the metrics endpoint, our
    request-id and access-log middleware, whitenoise, Django's stock
    middleware, DRF) serving ``POST /rules/check/``, metrics on;
``ours-off``
    the same with ``METRICS_ENABLED=False``: nothing counted;
``plain``
    ``bench.settings``: Django's stock middleware only, serving
    ``bench.views.plain_check`` (one SELECT of the order, three comparisons, a
    ``JsonResponse``).

wrk posts the three seeded orders with the three built-in rules at each
concurrency (8 and 64). After a warm-up of every server at each level, the
timed rounds alternate them (plain, ours, ours-off, then ours-off, ours,
plain, ...), so that a drift of the machine's load hits all alike, and each
round gives one ratio ours/plain and one ratio metrics on/off per level. The
table gives the median requests/s, p50 and p99 of the rounds with the lowest
and highest, and each median ratio with its range; the targets are a median
ratio ours/plain of at least 0.75, and on/off of at least 0.95, at every
level.

Other work on the machine lowers the requests/s of whichever side runs at the
time, so the table also gives each side's server CPU time per request (its
workers' user + system time over the run, divided by the requests) and the
ratios plain/ours and off/on of those: what ours would reach if the servers
had the CPUs to themselves, a figure that other work disturbs far less. It
exits 1 if any request failed. Everything listens on, and talks to,
127.0.0.1 only.
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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.spread import Spread, repeats
from config.tests.servers import GunicornServer, http_request, prepare_site, start_gunicorn

logger = logging.getLogger("bench.check_throughput")

RULES = ["min_total_100", "min_items_2", "divisible_by_5"]
ORDER_IDS = (1, 2, 3)


@dataclass(frozen=True)
class Endpoint:
    """One side of the comparison: its gunicorn's settings and environment, and the path."""

    name: str
    settings: str
    path: str
    env: Mapping[str, str] = field(default_factory=dict)


OURS = Endpoint("ours", "config.settings", "/rules/check/", {"METRICS_ENABLED": "True"})
OURS_OFF = Endpoint("ours-off", "config.settings", "/rules/check/", {"METRICS_ENABLED": "False"})
PLAIN = Endpoint("plain", "bench.settings", "/bench/plain-check/")
ENDPOINTS = (PLAIN, OURS, OURS_OFF)
EXPECTED_VERDICTS = {
    1: {"min_total_100": True, "min_items_2": True, "divisible_by_5": True},
    2: {"min_total_100": False, "min_items_2": False, "divisible_by_5": False},
    3: {"min_total_100": True, "min_items_2": True, "divisible_by_5": True},
}
TARGET_RATIO = 0.75
METRICS_TARGET_RATIO = 0.95
# wrk and two workers already fill a two-core machine; more load skews the figures.
BUSY_LOAD = 1.0
RESULT_MARKER = "WRK_RESULT "

# wrk posts the three orders in turn and, when done, writes one JSON line of
# exact figures (latencies in microseconds), so nothing is parsed from text.
WRK_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
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
    return parser.parse_args(argv)


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


def check_endpoint(endpoint: Endpoint, base_url: str) -> None:
    """Raise ``RuntimeError`` unless *endpoint* gives the expected verdicts from its stack.

    Our middleware answers with an ``X-Request-ID`` header; the plain stack,
    which must not run it, answers without one. With metrics on, ``/metrics``
    has counted the checks; with them off, it is a 404.
    """
    for order_id, details in EXPECTED_VERDICTS.items():
        reply = http_request(f"{base_url}{endpoint.path}", {"order_id": order_id, "rules": RULES})
        where = f"{endpoint.name} {endpoint.path} order {order_id}"
        if reply.status != 200:
            raise RuntimeError(f"{where}: {reply.status} {reply.body!r}")
        body = reply.json()
        expected = {"passed": all(details.values()), "details": details}
        if {key: body.get(key) for key in expected} != expected:
            raise RuntimeError(f"{where}: wrong verdict {body!r}")
        if ("X-Request-ID" in reply.headers) != (endpoint.settings == OURS.settings):
            raise RuntimeError(f"{where}: not served by the {endpoint.name} stack")
    if endpoint.settings != OURS.settings:
        return
    metrics = http_request(f"{base_url}/metrics")
    counted = b"\nrule_engine_checks_total{" in metrics.body
    if (metrics.status, counted) != ((200, True) if endpoint is OURS else (404, False)):
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


def round_order(index: int) -> tuple[Endpoint, ...]:
    """Return the endpoints in the order round *index* measures them: ABCCBA, and so on."""
    return ENDPOINTS if index % 2 == 0 else ENDPOINTS[::-1]


def report(rounds: Sequence[dict[tuple[str, int], Measurement]], total_errors: int) -> None:
    """Write the table of medians and ranges, the ratios and the errors to stdout."""
    levels = sorted({connections for _, connections in rounds[0]})
    rows = [
        f"{'endpoint':<9} {'conns':>5}  {'req/s: median (min..max)':<26} "
        f"{'p50 ms':>7} {'p99 ms':>7} {'errors':>7}  server CPU us/request",
    ]
    for connections in levels:
        for endpoint in ENDPOINTS:
            runs = [r[endpoint.name, connections] for r in rounds]
            rate = Spread.of(m.rate for m in runs)
            p50 = Spread.of(m.p50_ms for m in runs).median
            p99 = Spread.of(m.p99_ms for m in runs).median
            cpu = Spread.of(m.cpu_us for m in runs)
            errors = sum(m.errors for m in runs)
            rows.append(
                f"{endpoint.name:<9} {connections:>5}  {rate.format('.0f'):<26} "
                f"{p50:>7.2f} {p99:>7.2f} {errors:>7}  {cpu.format('.0f')}"
            )
    rows.append("")
    met = metrics_met = total_errors == 0
    for connections in levels:
        pairs = [(r["ours", connections], r["plain", connections]) for r in rounds]
        ratio = Spread.of(ours.rate / plain.rate for ours, plain in pairs)
        by_cpu = Spread.of(plain.cpu_us / ours.cpu_us for ours, plain in pairs)
        met = met and ratio.median >= TARGET_RATIO
        rows.append(f"ratio ours/plain req/s at c{connections}: {ratio.format()}")
        rows.append(
            f"ratio plain/ours server CPU per request at c{connections}: {by_cpu.format()}"
        )
        pairs = [(r["ours", connections], r["ours-off", connections]) for r in rounds]
        on_off = Spread.of(on.rate / off.rate for on, off in pairs)
        on_off_cpu = Spread.of(off.cpu_us / on.cpu_us for on, off in pairs)
        metrics_met = metrics_met and on_off.median >= METRICS_TARGET_RATIO
        rows.append(f"ratio metrics on/off req/s at c{connections}: {on_off.format()}")
        rows.append(
            f"ratio metrics off/on server CPU per request at c{connections}: {on_off_cpu.format()}"
        )
    rows.append(f"(median of {len(rounds)} rounds, min..max; each ratio within one round)")
    rows.append(f"total errors (all runs, warm-up included): {total_errors}")
    rows.append(
        f"target: median req/s ratio >= {TARGET_RATIO} at every level with zero errors: "
        f"{'met' if met else 'NOT met'}"
    )
    rows.append(
        f"target: median metrics on/off req/s ratio >= {METRICS_TARGET_RATIO} at every level "
        f"with zero errors: {'met' if metrics_met else 'NOT met'}"
    )
    sys.stdout.write("\n".join(rows) + "\n")


def benchmark(args: argparse.Namespace, wrk: str, workdir: Path) -> int:
    """Serve both endpoints from *workdir*, measure and report them; return the errors."""
    script = workdir / "check.lua"
    script.write_text(
        WRK_SCRIPT
        % {
            "order_ids": ", ".join(str(order_id) for order_id in ORDER_IDS),
            "rules": json.dumps(RULES),
            "marker": RESULT_MARKER,
        }
    )
    load = os.getloadavg()[0]
    if load > BUSY_LOAD:
        logger.warning("load average is %.1f: other work will skew the figures", load)
    logger.info("preparing the site in %s", workdir)
    env = prepare_site(workdir, LOG_LEVEL="INFO", WEB_CONCURRENCY=str(args.workers))
    servers: dict[str, GunicornServer] = {}

    def measure(endpoint: Endpoint, connections: int, duration: int) -> Measurement:
        """Drive *endpoint* at *connections* for *duration* seconds."""
        measurement = run_wrk(
            wrk,
            script,
            servers[endpoint.name],
            endpoint.path,
            endpoint=endpoint.name,
            connections=connections,
            threads=args.threads,
            duration=duration,
        )
        logger.info(
            "%s at %d connections for %d s: %.0f req/s, %.0f server CPU us/request",
            endpoint.name,
            connections,
            duration,
            measurement.rate,
            measurement.cpu_us,
        )
        return measurement

    try:
        for endpoint in ENDPOINTS:
            servers[endpoint.name] = start_gunicorn(
                {**env, "DJANGO_SETTINGS_MODULE": endpoint.settings, **endpoint.env},
                workdir / f"{endpoint.name}.log",
            )
            check_endpoint(endpoint, servers[endpoint.name].url)
        warmups = [
            measure(endpoint, connections, args.warmup)
            for connections in args.connections
            for endpoint in ENDPOINTS
        ]
        rounds = []
        for index in range(args.rounds):
            measured = {}
            for connections in args.connections:
                for endpoint in round_order(index):
                    measured[endpoint.name, connections] = measure(
                        endpoint, connections, args.duration
                    )
            rounds.append(measured)
    finally:
        for server in servers.values():
            server.stop()
    total_errors = sum(m.errors for m in warmups) + sum(
        m.errors for measured in rounds for m in measured.values()
    )
    report(rounds, total_errors)
    sys.stdout.write(f"load average before the run: {load:.1f}, after: {os.getloadavg()[0]:.1f}\n")
    return total_errors


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; return 1 if any request failed, else 0."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    args = parse_args(argv)
    wrk = ensure_wrk()
    workdir = Path(tempfile.mkdtemp(prefix="bench-"))
    try:
        total_errors = benchmark(args, wrk, workdir)
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
