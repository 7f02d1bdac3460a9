"""Measure ``POST /rules/check/`` against a plain Django view doing the same work.

Run ``.venv/bin/python bench/check_throughput.py`` (or ``make bench``). It
prepares one site (``migrate``, ``collectstatic``, ``seed_orders``, and an
API key with the ``check`` scope: a SQLite file in a temporary folder) and
serves it with three gunicorns, all started from ``gunicorn.conf.py`` with
two sync workers, ``DEBUG`` off and ``LOG_LEVEL=INFO``. Four contenders:

``plain``
    ``bench.settings``: Django's stock middleware only, serving
    ``bench.views.plain_check`` (one SELECT of the order, three comparisons, a
    ``JsonResponse``);
``ours``
    the production settings (``config.settings``: our request-id and access-log
    middleware, whitenoise, Django's stock middleware, DRF) serving
    ``POST /rules/check/`` to an anonymous caller, with throttling off;
``key``
    the same server, the same requests with ``Authorization: Api-Key <key>``:
    one more query, by the key's prefix, and a SHA-512 comparison;
``throttled``
    a third server, as ``ours`` but with throttling on: each request is
    counted in the database cache (one read and one write of the count), at
    a rate no run reaches, so that nothing is refused.

wrk posts the three seeded orders with the three built-in rules at each
concurrency (8 and 64). After a warm-up of every contender at each level,
the timed rounds take them in turns, each round starting one further along,
so that a drift of the machine's load hits them all alike, and each round
gives one ratio per pair and level. The table gives the median requests/s,
p50 and p99 of the rounds with the lowest and highest, and the median
ratios with their ranges. The targets: ours/plain at least 0.75, key/ours at
least 0.95 and throttled/ours at least 0.90, at every level.

Other work on the machine lowers the requests/s of whichever side runs at the
time, so the table also gives each side's server CPU time per request (its
workers' user + system time over the run, divided by the requests) and the
ratio plain/ours of those: what ours would reach if the servers had the
CPUs to themselves, a figure that other work disturbs far less. It exits 1
if any request failed (a 429 included). Everything listens on, and talks to, 127.0.0.1 only.
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
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.spread import Spread, repeats
from config.tests.servers import (
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
    """One contender: the server it is sent to, the path it posts to, and whether with a key."""

    name: str
    server: str
    path: str
    with_key: bool = False


PLAIN = Endpoint("plain", "plain", "/bench/plain-check/")
OURS = Endpoint("ours", "ours", "/rules/check/")
KEY = Endpoint("key", "ours", "/rules/check/", with_key=True)
THROTTLED = Endpoint("throttled", "throttled", "/rules/check/")
ENDPOINTS = (PLAIN, OURS, KEY, THROTTLED)
# Each server's settings module and environment on top of the site's.
THROTTLING_OFF = {
    name: "off" for name in ("THROTTLE_CHECK", "THROTTLE_ANALYZE", "THROTTLE_ANONYMOUS")
}
SERVERS = {
    "plain": {"DJANGO_SETTINGS_MODULE": "bench.settings"},
    "ours": {"DJANGO_SETTINGS_MODULE": "config.settings", **THROTTLING_OFF},
    # Counted like production, at a rate that no run reaches.
    "throttled": {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "THROTTLE_CHECK": "1000000000/min",
        "THROTTLE_ANONYMOUS": "1000000000/min",
    },
}
# Each ratio: numerator, denominator, target of its median at every level.
RATIOS = ((OURS, PLAIN, 0.75), (KEY, OURS, 0.95), (THROTTLED, OURS, 0.90))
EXPECTED_VERDICTS = {
    1: {"min_total_100": True, "min_items_2": True, "divisible_by_5": True},
    2: {"min_total_100": False, "min_items_2": False, "divisible_by_5": False},
    3: {"min_total_100": True, "min_items_2": True, "divisible_by_5": True},
}
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


def check_endpoint(endpoint: Endpoint, base_url: str, headers: dict[str, str]) -> None:
    """Raise ``RuntimeError`` unless *endpoint* gives the expected verdicts from its stack.

    Our middleware answers with an ``X-Request-ID`` header; the plain stack,
    which must not run it, answers without one.
    """
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
    """Return the endpoints in the order round *index* measures them: each starts in turn."""
    shift = index % len(ENDPOINTS)
    return ENDPOINTS[shift:] + ENDPOINTS[:shift]


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
    targets = []
    for top, bottom, target in RATIOS:
        met = total_errors == 0
        for connections in levels:
            pairs = [(r[top.name, connections], r[bottom.name, connections]) for r in rounds]
            ratio = Spread.of(a.rate / b.rate for a, b in pairs)
            by_cpu = Spread.of(b.cpu_us / a.cpu_us for a, b in pairs)
            met = met and ratio.median >= target
            rows.append(
                f"ratio {top.name}/{bottom.name} req/s at c{connections}: {ratio.format()}"
            )
            rows.append(
                f"ratio {bottom.name}/{top.name} server CPU per request at c{connections}: "
                f"{by_cpu.format()}"
            )
        targets.append(
            f"target: median {top.name}/{bottom.name} req/s ratio >= {target} at every level "
            f"with zero errors: {'met' if met else 'NOT met'}"
        )
    rows.append(f"(median of {len(rounds)} rounds, min..max; each ratio within one round)")
    rows.append(f"total errors (all runs, warm-up included): {total_errors}")
    rows.extend(targets)
    sys.stdout.write("\n".join(rows) + "\n")


def benchmark(args: argparse.Namespace, wrk: str, workdir: Path) -> int:
    """Serve every endpoint from *workdir*, measure and report them; return the errors."""
    load = os.getloadavg()[0]
    if load > BUSY_LOAD:
        logger.warning("load average is %.1f: other work will skew the figures", load)
    logger.info("preparing the site in %s", workdir)
    env = prepare_site(workdir, LOG_LEVEL="INFO", WEB_CONCURRENCY=str(args.workers))
    key = manage(env, "create_api_key", "bench", "--scopes", "check").splitlines()[-1]
    authorization = f"Api-Key {key}"
    send_key = f'wrk.headers["Authorization"] = "{authorization}"'
    scripts = {}
    for endpoint in ENDPOINTS:
        scripts[endpoint.name] = workdir / f"{endpoint.name}.lua"
        scripts[endpoint.name].write_text(
            WRK_SCRIPT
            % {
                "authorization": send_key if endpoint.with_key else "",
                "order_ids": ", ".join(str(order_id) for order_id in ORDER_IDS),
                "rules": json.dumps(RULES),
                "marker": RESULT_MARKER,
            }
        )
    servers: dict[str, GunicornServer] = {}

    def measure(endpoint: Endpoint, connections: int, duration: int) -> Measurement:
        """Drive *endpoint* at *connections* for *duration* seconds."""
        measurement = run_wrk(
            wrk,
            scripts[endpoint.name],
            servers[endpoint.server],
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
        for name, server_env in SERVERS.items():
            servers[name] = start_gunicorn({**env, **server_env}, workdir / f"{name}.log")
        for endpoint in ENDPOINTS:
            headers = {"Authorization": authorization} if endpoint.with_key else {}
            check_endpoint(endpoint, servers[endpoint.server].url, headers)
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
