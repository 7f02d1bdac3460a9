"""Measure ``POST /rules/check/`` against a plain Django view doing the same work.

Run ``.venv/bin/python bench/check_throughput.py`` (or ``make bench``). It
builds a fresh SQLite database in a temporary folder (``migrate``,
``seed_orders``), starts the production gunicorn (``gunicorn.conf.py``, two
sync workers, ``DEBUG`` off, ``LOG_LEVEL=INFO``) with ``bench.settings``,
which routes the plain view beside the service's own URLs, and drives both
endpoints with wrk over the seeded orders, alternating endpoints at each
concurrency. It writes a table of requests/s, p50, p99 and errors, and the
ratio ours/plain; it exits 1 if any request failed. Everything listens on,
and talks to, 127.0.0.1 only.
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
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from config.tests.servers import http_request, prepare_site, start_gunicorn

logger = logging.getLogger("bench.check_throughput")

RULES = ["min_total_100", "min_items_2", "divisible_by_5"]
ORDER_IDS = (1, 2, 3)
ENDPOINTS = {"plain": "/bench/plain-check/", "ours": "/rules/check/"}
EXPECTED_VERDICTS = {
    1: {"min_total_100": True, "min_items_2": True, "divisible_by_5": True},
    2: {"min_total_100": False, "min_items_2": False, "divisible_by_5": False},
    3: {"min_total_100": True, "min_items_2": True, "divisible_by_5": True},
}
TARGET_RATIO = 0.7
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

    @property
    def rate(self) -> float:
        """Return the requests per second."""
        return self.requests / self.duration_s


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Return the command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--duration", type=int, default=10, help="seconds per measurement (default 10)"
    )
    parser.add_argument(
        "--warmup", type=int, default=2, help="seconds of warm-up per endpoint (default 2)"
    )
    parser.add_argument(
        "--connections",
        type=lambda text: [int(item) for item in text.split(",")],
        default=[8, 64],
        help="comma list of concurrency levels (default 8,64)",
    )
    parser.add_argument(
        "--rounds", type=int, default=2, help="rounds per level; the best is kept (default 2)"
    )
    parser.add_argument(
        "--threads", type=int, default=1, help="wrk threads; the server needs the CPUs more"
    )
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers (default 2)")
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


def check_verdicts(base_url: str) -> None:
    """Raise ``RuntimeError`` unless both endpoints give the expected verdicts."""
    for name, path in ENDPOINTS.items():
        for order_id, details in EXPECTED_VERDICTS.items():
            reply = http_request(f"{base_url}{path}", {"order_id": order_id, "rules": RULES})
            status, body = reply.status, reply.json()
            expected = {"passed": all(details.values()), "details": details}
            if status != 200 or not isinstance(body, dict):
                raise RuntimeError(f"{name} {path} order {order_id}: {status} {body!r}")
            if {key: body.get(key) for key in expected} != expected:
                raise RuntimeError(f"{name} {path} order {order_id}: wrong verdict {body!r}")


def run_wrk(
    wrk: str,
    script: Path,
    url: str,
    *,
    endpoint: str,
    connections: int,
    threads: int,
    duration: int,
) -> Measurement:
    """Drive *url* with wrk and return its figures."""
    completed = subprocess.run(
        [
            wrk,
            f"--threads={min(threads, connections)}",
            f"--connections={connections}",
            f"--duration={duration}s",
            "--timeout=5s",
            f"--script={script}",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=duration + 30,
    )
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
    )


def report(best: Mapping[tuple[str, int], Measurement], total_errors: int) -> None:
    """Write the results table, the ratios and the error count to stdout."""
    rows = [
        f"{'endpoint':<10} {'conns':>5} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}"
    ]
    met = True
    levels = sorted({connections for _, connections in best})
    for connections in levels:
        for name in ENDPOINTS:
            m = best[name, connections]
            rows.append(
                f"{name:<10} {connections:>5} {m.rate:>9.1f} {m.p50_ms:>8.2f} "
                f"{m.p99_ms:>8.2f} {m.errors:>7}"
            )
    rows.append("")
    for connections in levels:
        ratio = best["ours", connections].rate / best["plain", connections].rate
        met = met and ratio >= TARGET_RATIO
        rows.append(f"ratio ours/plain req/s at c{connections}: {ratio:.2f}")
    rows.append(f"total errors (all runs, warm-up included): {total_errors}")
    met = met and total_errors == 0
    rows.append(f"target ratio >= {TARGET_RATIO} with zero errors: {'met' if met else 'NOT met'}")
    sys.stdout.write("\n".join(rows) + "\n")


def benchmark(args: argparse.Namespace, wrk: str, workdir: Path) -> int:
    """Serve both endpoints from *workdir*, measure and report them; return the errors."""
    log_path = workdir / "gunicorn.log"
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
    env = prepare_site(
        workdir,
        DJANGO_SETTINGS_MODULE="bench.settings",
        LOG_LEVEL="INFO",
        WEB_CONCURRENCY=str(args.workers),
    )

    def measure(name: str, connections: int, duration: int) -> Measurement:
        """Drive endpoint *name* at *connections* for *duration* seconds."""
        logger.info("%s at %d connections for %d s", name, connections, duration)
        return run_wrk(
            wrk,
            script,
            base_url + ENDPOINTS[name],
            endpoint=name,
            connections=connections,
            threads=args.threads,
            duration=duration,
        )

    with start_gunicorn(env, log_path) as server:
        base_url = server.url
        check_verdicts(base_url)
        warmups = [measure(name, min(args.connections), args.warmup) for name in ENDPOINTS]
        # Alternate the endpoints, so that any drift of the machine hits both.
        measurements = [
            measure(name, connections, args.duration)
            for _ in range(args.rounds)
            for connections in args.connections
            for name in ENDPOINTS
        ]
    best: dict[tuple[str, int], Measurement] = {}
    for m in measurements:
        key = (m.endpoint, m.connections)
        if key not in best or m.rate > best[key].rate:
            best[key] = m
    total_errors = sum(m.errors for m in [*warmups, *measurements])
    report(best, total_errors)
    sys.stdout.write(f"load average before the run: {load:.1f}\n")
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
        logger.error("%d requests failed; gunicorn's log is kept in %s", total_errors, workdir)
        return 1
    shutil.rmtree(workdir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
