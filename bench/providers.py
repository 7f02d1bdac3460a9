"""Measure issue 18's must-holds for fact providers, through gunicorn and real HTTP services.

Run ``.venv/bin/python bench/providers.py`` (or ``make bench-providers``). It
prepares one SQLite site (``migrate``, ``collectstatic``, ``seed_orders``)
and serves it with gunicorns started from ``gunicorn.conf.py`` with two sync
workers, ``DEBUG`` off, throttling off, the decision log on, as
``bench/check_throughput.py`` does. The providers' services are stand-in
risk services (``rules.risk_service``) on 127.0.0.1 in this process: real
HTTP, each answering ``{"score": N}`` after the latency asked for, or holding
every request (``behave(hang=True)``). Four parts, each in rounds that
alternate their sides (AB, BA, ...), each ratio within one round:

1. **Cache.** ``POST /rules/check/`` of the seeded orders with
   ``min_total_100`` alone, and with ``risk_score_at_most`` (score 70) besides,
   whose score the cache holds (warmed before timing; the service must not be
   called while timing). wrk at ``--connections``; the ratio of their
   requests/s (target: at least 0.90) and of the workers' CPU per request.
   Once with the default cache (the database table ``provider_cache``), once
   with ``REDIS_URL`` on a throw-away redis-server (production's).
2. **Three providers at 50 ms.** ``bench.provider_settings`` adds
   ``bench.providers_app``: providers ``stock`` and ``credit`` beside
   ``risk``, each a stand-in answering in 50 ms, none answering from the cache
   (a new customer per check). One check at a time, the same cart checked with
   ``min_total_100`` alone (the check's own time) and with a rule needing each
   provider: the median latency must be at most 1.3 x 50 ms plus the check's
   own median.
3. **A provider that hangs.** The bench provider ``flaky`` has a timeout of
   200 ms (the risk provider's is 300 ms, and stays so). wrk checks the seeded
   orders with rules that need no provider; alone, and while a stream of
   checks that need ``flaky`` (one every ``--stream-interval-ms``) meets its
   service holding every request ("hanging"), the same while it answers
   ("answering"), and wrk alone. Every needing check must be answered within
   300 ms (the window holds the first timeouts, before the breaker opens,
   and what follows), and the others keep at least 0.90 of their
   requests/s while it answers (the ratio to "alone" is printed beside),
   over ``--hang-duration`` seconds (default 30: one breaker period). A
   fresh server and an empty providers' cache per side, so that every
   window starts with the breakers closed (the workers share them through
   that cache); the breaker settings are production's defaults.
4. **Nothing changes without providers.** The check of part 1 without
   providers, on this checkout and on the commit before issue 18
   (``8bf4ac0``, a ``git worktree`` made for the run in the temporary folder
   and removed after, or ``--before-tree``), each with its own site: the
   ratio of their requests/s and of their CPU per request, within noise (read
   as at least 0.95, as ``bench/check_throughput.py`` reads "costs nothing").

It prints each part's figures and a line per target, met or not; it exits 1
if any request failed unexpectedly (a non-2xx, or a provider that should have
answered did not), else 0, whether the targets are met or not.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.check_throughput import (
    OURS,
    THROTTLING_OFF,
    Measurement,
    check_endpoint,
    comma_list,
    ensure_wrk,
    round_order,
    run_wrk,
    wrk_script,
)
from bench.spread import Spread, repeats
from config.tests.servers import (
    REPO_ROOT,
    GunicornServer,
    http_request,
    manage,
    prepare_site,
    start_gunicorn,
    start_redis,
)
from rules.risk_service import RiskService

logger = logging.getLogger("bench.providers")

BEFORE_COMMIT = "8bf4ac0"
RISK_70 = {"name": "risk_score_at_most", "params": {"score": 70}}
OWN_RULES = ("min_total_100",)
# Not a baseline of the issue: the cached check with its rule swapped for one of the same
# shape (parameters, a fact of the order) that needs no provider, to tell what the cache
# path costs from what one more rule does.
SAME_SHAPE_RULES = ("min_total_100", {"name": "total_at_most", "params": {"amount": "1000.00"}})
CACHED_RULES = ("min_total_100", RISK_70)
THREE_RULES = ("min_total_100", RISK_70, "bench_stock_scored", "bench_credit_scored")
FLAKY_RULES = ("min_total_100", "bench_flaky_scored")
# The rules of bench/check_throughput.py's wrk script: none needs a provider.
PLAIN_RULES = ("min_total_100", "min_items_2", "divisible_by_5")
PROVIDER_LATENCY_MS = 50.0
CACHE_TARGET = 0.90
LATENCY_FACTOR = 1.3
HANG_ANSWER_MS = 300.0
HANG_TARGET = 0.90
# Part 3's sides: the issue's "while it hangs" against the same traffic while it answers;
# "alone", without the checks needing it, is the stricter figure printed beside.
HANG_SIDES = ("hanging", "answering", "alone")
BEFORE_TARGET = 0.95
PARTS = ("cache", "three", "hang", "before")
# The environment every server of the run shares: production's, its figures logged,
# throttling off (a pair differs in one thing), every check on the record.
SERVER_ENV = {**dict(THROTTLING_OFF), "DECISION_LOG": "all", "LOG_LEVEL": "INFO"}
PROVIDER_SETTINGS = "bench.provider_settings"
FORGET_PROVIDER_CACHE = "from django.core.cache import caches; caches['providers'].clear()"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Return the command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--duration", type=int, default=4, help="seconds per timed wrk run (default 4)"
    )
    parser.add_argument(
        "--warmup", type=int, default=2, help="seconds of wrk warm-up per side (default 2)"
    )
    parser.add_argument(
        "--rounds", type=repeats, default=4, help="timed rounds per part, at least 3 (default 4)"
    )
    parser.add_argument("--connections", type=int, default=8, help="wrk's concurrency (default 8)")
    parser.add_argument(
        "--calls",
        type=int,
        default=60,
        help="part 2: checks per side and round, one at a time (default 60)",
    )
    parser.add_argument(
        "--stream-interval-ms",
        type=float,
        default=50.0,
        help="part 3: one check needing the hanging provider every this often (default 50)",
    )
    parser.add_argument(
        "--hang-duration",
        type=int,
        default=30,
        help=(
            "part 3: seconds of each timed wrk run (default 30: one breaker period,"
            " production's PROVIDER_BREAKER_OPEN_SECONDS)"
        ),
    )
    parser.add_argument(
        "--workers", type=int, default=2, help="gunicorn sync workers of each server (default 2)"
    )
    parser.add_argument(
        "--parts",
        type=comma_list(PARTS),
        default=list(PARTS),
        help=f"comma list of {', '.join(PARTS)} (default all)",
    )
    parser.add_argument(
        "--before-tree",
        type=Path,
        help=f"part 4: a checkout of {BEFORE_COMMIT} to use (default: one made for the run)",
    )
    return parser.parse_args(argv)


def percentile(values: Sequence[float], share: int) -> float:
    """Return the *share*-th percentile of *values* (the highest value for 100)."""
    if share >= 100:
        return max(values)
    return statistics.quantiles(values, n=100, method="inclusive")[share - 1]


def cart(customer: str) -> dict[str, Any]:
    """Return an order of 250.00 of *customer*: it passes every rule the run names."""
    return {"total": "250.00", "items_count": 1, "customer": {"id": customer}}


def check(server: GunicornServer, rules: Sequence[object], customer: str) -> tuple[float, Any]:
    """Check ``cart(customer)`` with *rules* on *server*; return the milliseconds and the body.

    Raises ``RuntimeError`` for an answer other than 200.
    """
    started = time.perf_counter()
    reply = http_request(
        f"{server.url}/rules/check/", {"order": cart(customer), "rules": list(rules)}
    )
    elapsed = (time.perf_counter() - started) * 1000
    if reply.status != 200:
        raise RuntimeError(f"check answered {reply.status}: {reply.body!r}")
    return elapsed, reply.json()


def outcomes(body: Mapping[str, Any]) -> dict[str, str]:
    """Return each rule's outcome in a check's *body*, with the reason of an error."""
    return {
        result["rule"]: result["outcome"]
        + (f" ({result['reason']})" if result.get("reason") else "")
        for result in body["results"]
    }


@dataclass
class Run:
    """What the run shares: wrk, the folder, the site, the options, and the failures seen."""

    args: argparse.Namespace
    wrk: str
    workdir: Path
    env: dict[str, str]
    failures: list[str] = field(default_factory=list)
    rows: list[str] = field(default_factory=list)
    targets: list[tuple[str, bool]] = field(default_factory=list)

    def serve(
        self,
        name: str,
        *,
        root: Path = REPO_ROOT,
        env: Mapping[str, str] | None = None,
        **extra: str,
    ) -> GunicornServer:
        """Start a gunicorn of *env* (the site's by default) and *extra*; log to ``name.log``."""
        return start_gunicorn(
            {**(env or self.env), **SERVER_ENV, **extra},
            self.workdir / f"{name}.log",
            root=root,
        )

    def script(self, name: str, rules: Sequence[object]) -> Path:
        """Write wrk's script posting the seeded orders with *rules*; return its path."""
        path = self.workdir / f"{name}.lua"
        path.write_text(wrk_script({}, rules))
        return path

    def drive(self, server: GunicornServer, script: Path, name: str, duration: int) -> Measurement:
        """Run wrk with *script* on *server* for *duration* seconds; count its errors."""
        measurement = run_wrk(
            self.wrk,
            script,
            server,
            "/rules/check/",
            endpoint=name,
            connections=self.args.connections,
            threads=1,
            duration=duration,
        )
        logger.info(
            "%s: %.0f req/s, %.0f server CPU us/request, %d errors",
            name,
            measurement.rate,
            measurement.cpu_us,
            measurement.errors,
        )
        if measurement.errors:
            self.failures.append(f"{name}: {measurement.errors} wrk errors")
        return measurement

    def target(self, what: str, met: bool) -> None:
        """Note a target and whether it is met."""
        self.targets.append((what, met))


def compare(
    run: Run,
    sides: Mapping[str, tuple[GunicornServer, Path]],
) -> list[dict[str, Measurement]]:
    """Warm each side up, then time them in alternating rounds; return the rounds.

    *sides* maps a name to its server and wrk script; each round measures
    them in turn, the next round in the reverse order.
    """
    for name, (server, script) in sides.items():
        run.drive(server, script, f"{name} (warm-up)", run.args.warmup)
    rounds = []
    for index in range(run.args.rounds):
        measured = {}
        for name in round_order(tuple(sides), index):
            server, script = sides[name]
            measured[name] = run.drive(server, script, name, run.args.duration)
        rounds.append(measured)
    return rounds


def report_sides(run: Run, rounds: Sequence[dict[str, Measurement]], *names: str) -> None:
    """Add each side's requests/s, median latency and CPU per request to the report."""
    for name in names:
        rate = Spread.of(r[name].rate for r in rounds)
        cpu = Spread.of(r[name].cpu_us for r in rounds)
        p50 = Spread.of(r[name].p50_ms for r in rounds).median
        run.rows.append(
            f"  {name:<32} req/s {rate.format('.0f'):<20} p50 {p50:6.2f} ms  "
            f"server CPU us/request {cpu.format('.0f')}"
        )


def report_ratio(
    run: Run, rounds: Sequence[dict[str, Measurement]], side: str, base: str
) -> Spread:
    """Add *side*'s req/s over *base*'s and *base*'s CPU per request over *side*'s.

    Returns the first: the ratio the targets read.
    """
    ratio = Spread.of(r[side].rate / r[base].rate for r in rounds)
    by_cpu = Spread.of(r[base].cpu_us / r[side].cpu_us for r in rounds)
    run.rows.append(f"  ratio {side}/{base} req/s: {ratio.format()}")
    run.rows.append(f"  ratio {base}/{side} server CPU per request: {by_cpu.format()}")
    return ratio


# --- 1. The cache ---------------------------------------------------------------------


def measure_cache(run: Run) -> None:
    """Part 1: a check whose provider the cache answers, against the same without providers."""
    risk = RiskService().start()
    try:
        for backend in ("database", "redis"):
            with ExitStack() as stack:
                extra = {"RISK_SERVICE_URL": risk.url}
                if backend == "redis":
                    folder = run.workdir / "redis"
                    folder.mkdir()
                    extra["REDIS_URL"] = stack.enter_context(start_redis(folder)).url
                server = stack.enter_context(run.serve(f"cache-{backend}", **extra))
                _cache_part(run, server, risk, backend)
    finally:
        risk.stop()


def _cache_part(run: Run, server: GunicornServer, risk: RiskService, backend: str) -> None:
    """Time the cached check against the check alone on *server*, whose cache is *backend*."""
    for order_id in (1, 2, 3):
        reply = http_request(
            f"{server.url}/rules/check/", {"order_id": order_id, "rules": list(CACHED_RULES)}
        )
        [_, risky] = reply.json()["results"]
        if reply.status != 200 or risky["outcome"] not in ("passed", "failed"):
            raise RuntimeError(f"{backend}: the risk rule was not answered: {reply.body!r}")
    asked = len(risk.received)
    sides = {
        f"cached ({backend})": (server, run.script(f"cached-{backend}", CACHED_RULES)),
        f"no provider ({backend})": (server, run.script(f"own-{backend}", OWN_RULES)),
    }
    sides[f"no provider, 2 rules ({backend})"] = (
        server,
        run.script(f"same-shape-{backend}", SAME_SHAPE_RULES),
    )
    rounds = compare(run, sides)
    calls = len(risk.received) - asked
    checks = sum(r[f"cached ({backend})"].requests for r in rounds)
    run.rows.append(f"1. cache: {backend}, wrk at c{run.args.connections}")
    report_sides(run, rounds, *sides)
    cached, own, same_shape = sides
    ratio = report_ratio(run, rounds, cached, own)
    report_ratio(run, rounds, cached, same_shape)
    run.rows.append(f"  the risk service was called {calls} times during {checks} cached checks")
    if calls:
        run.failures.append(f"{backend}: the cache did not answer {calls} checks")
    run.target(
        f"cached/no provider ({backend}) req/s >= {CACHE_TARGET}", ratio.median >= CACHE_TARGET
    )


# --- 2. Three providers at 50 ms --------------------------------------------------------


def measure_three(run: Run) -> None:
    """Part 2: one check at a time, with three 50 ms providers and with none."""
    services = [RiskService(latency_ms=PROVIDER_LATENCY_MS).start() for _ in range(3)]
    try:
        urls = dict(
            zip(
                ("RISK_SERVICE_URL", "BENCH_STOCK_URL", "BENCH_CREDIT_URL"),
                (s.url for s in services),
                strict=True,
            )
        )
        with run.serve("three", DJANGO_SETTINGS_MODULE=PROVIDER_SETTINGS, **urls) as server:
            _three_part(run, server)
    finally:
        for service in services:
            service.stop()


def _three_part(run: Run, server: GunicornServer) -> None:
    """Time ``--calls`` checks of each side per round on *server*, one at a time."""
    sides = {"three providers": THREE_RULES, "no provider": OWN_RULES}
    counter = iter(range(10**9))

    def time_side(rules: Sequence[object], calls: int) -> list[float]:
        """Return the milliseconds of *calls* checks with *rules*, each of a new customer."""
        latencies = []
        for _ in range(calls):
            elapsed, body = check(server, rules, f"B-{next(counter)}")
            if set(outcomes(body).values()) != {"passed"}:
                run.failures.append(f"three providers: {outcomes(body)}")
            latencies.append(elapsed)
        return latencies

    for rules in sides.values():
        time_side(rules, max(5, run.args.calls // 4))
    timed: dict[str, list[float]] = {name: [] for name in sides}
    per_round: list[dict[str, float]] = []
    for index in range(run.args.rounds):
        medians = {}
        for name in round_order(tuple(sides), index):
            latencies = time_side(sides[name], run.args.calls)
            timed[name] += latencies
            medians[name] = statistics.median(latencies)
        per_round.append(medians)
        logger.info("three providers, round %d: medians %s", index + 1, medians)
    three, own = (statistics.median(timed[name]) for name in sides)
    limit = LATENCY_FACTOR * PROVIDER_LATENCY_MS + own
    run.rows.append(
        f"2. three providers at {PROVIDER_LATENCY_MS:.0f} ms each, one check at a time, "
        f"{len(timed['no provider'])} checks per side"
    )
    for name, latencies in timed.items():
        run.rows.append(
            f"  {name:<26} median {statistics.median(latencies):6.1f} ms  "
            f"p90 {percentile(latencies, 90):6.1f} ms"
        )
    waited = Spread.of(r["three providers"] - r["no provider"] for r in per_round)
    run.rows.append(f"  providers' share of the median, by round: {waited.format('.1f')} ms")
    run.rows.append(
        f"  limit {LATENCY_FACTOR} x {PROVIDER_LATENCY_MS:.0f} + {own:.1f} = {limit:.1f} ms; "
        f"median {three:.1f} ms"
    )
    run.target(
        f"three providers median <= {LATENCY_FACTOR} x {PROVIDER_LATENCY_MS:.0f} ms + own",
        three <= limit,
    )


# --- 3. A provider that hangs -----------------------------------------------------------


@dataclass
class Stream:
    """Checks needing the flaky provider, one every *interval* seconds, from a thread."""

    server: GunicornServer
    interval: float
    answers: list[tuple[str, float]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        """Send checks until stopped, each of a new customer; keep each outcome and latency."""
        number = 0
        while not self._stop.is_set():
            started = time.monotonic()
            number += 1
            try:
                elapsed, body = check(self.server, FLAKY_RULES, f"H-{number}")
            except (OSError, RuntimeError) as error:
                self.failures.append(f"hanging: {error}")
            else:
                self.answers.append((outcomes(body)["bench_flaky_scored"], elapsed))
            self._stop.wait(max(0.0, started + self.interval - time.monotonic()))

    @contextmanager
    def running(self) -> Iterator[Stream]:
        """Run the stream in a thread for the block."""
        thread = threading.Thread(target=self.run, name="needing-checks", daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            thread.join()


def measure_hang(run: Run) -> None:
    """Part 3: checks needing no provider while a needed provider hangs, answers, or is unused."""
    flaky = RiskService().start()
    script = run.script("plain", PLAIN_RULES)
    rounds: list[dict[str, Measurement]] = []
    streams: dict[str, list[Stream]] = defaultdict(list)
    try:
        for index in range(run.args.rounds):
            measured = {}
            for name in round_order(HANG_SIDES, index):
                measured[name] = _hang_side(run, flaky, script, name, streams)
            rounds.append(measured)
    finally:
        flaky.stop()
    answers = [answer for stream in streams["hanging"] for answer in stream.answers]
    latencies = [latency for _, latency in answers]
    by_reason: dict[str, list[float]] = defaultdict(list)
    for reason, latency in answers:
        by_reason[reason].append(latency)
    run.rows.append(
        f"3. a provider that hangs (timeout 200 ms): checks needing no provider, wrk at "
        f"c{run.args.connections} for {run.args.hang_duration} s, beside checks needing it "
        f"(one every {run.args.stream_interval_ms:.0f} ms) while it hangs and while it "
        f"answers, and alone"
    )
    report_sides(run, rounds, *HANG_SIDES)
    ratio = report_ratio(run, rounds, "hanging", "answering")
    report_ratio(run, rounds, "hanging", "alone")
    answering = [answer for stream in streams["answering"] for answer in stream.answers]
    # Not a failure of the run: a loaded machine may hold an answer past the timeout.
    erred = sum(reason.startswith("error") for reason, _ in answering)
    run.rows.append(f"  while it answers: {erred} of {len(answering)} needing checks erred")
    worst = max(latencies)
    over = sum(latency > HANG_ANSWER_MS for latency in latencies)
    run.rows.append(
        f"  checks needing it: {len(latencies)}, "
        + ", ".join(f"{reason} {len(times)}" for reason, times in sorted(by_reason.items()))
    )
    run.rows.append(
        f"  their latency: median {statistics.median(latencies):.1f} ms, "
        f"p99 {percentile(latencies, 99):.1f} ms, max {worst:.1f} ms; "
        f"over {HANG_ANSWER_MS:.0f} ms: {over}"
    )
    for reason, times in sorted(by_reason.items()):
        run.rows.append(
            f"    {reason}: median {statistics.median(times):.1f} ms, max {max(times):.1f} ms"
        )
    if any(not reason.startswith("error") for reason in by_reason):
        run.failures.append(f"hanging: a needing check did not err: {sorted(by_reason)}")
    run.target(
        f"every check needing it answered within {HANG_ANSWER_MS:.0f} ms", worst <= HANG_ANSWER_MS
    )
    run.target(f"hanging/answering req/s >= {HANG_TARGET}", ratio.median >= HANG_TARGET)


def _hang_side(
    run: Run, flaky: RiskService, script: Path, name: str, streams: dict[str, list[Stream]]
) -> Measurement:
    """Time one side of part 3 on a fresh server with an empty providers' cache.

    ``hanging`` and ``answering`` run the stream of checks needing ``flaky``
    beside wrk, its service holding every request or answering; ``alone``
    runs no stream. A side's stream joins its list in *streams*.
    """
    # The breakers share their state through the providers' cache: empty it.
    manage(run.env, "shell", "--command", FORGET_PROVIDER_CACHE)
    with run.serve(
        f"hang-{name}", DJANGO_SETTINGS_MODULE=PROVIDER_SETTINGS, BENCH_FLAKY_URL=flaky.url
    ) as server:
        for number in range(5):
            _, body = check(server, FLAKY_RULES, f"W-{number}")
            if outcomes(body)["bench_flaky_scored"] != "passed":
                raise RuntimeError(f"the flaky provider did not answer: {body!r}")
        run.drive(server, script, "no provider (warm-up)", run.args.warmup)
        if name == "alone":
            return run.drive(server, script, name, run.args.hang_duration)
        stream = Stream(server, run.args.stream_interval_ms / 1000)
        flaky.behave(hang=name == "hanging")
        try:
            with stream.running():
                measured = run.drive(server, script, name, run.args.hang_duration)
        finally:
            flaky.release()
    run.failures += stream.failures
    streams[name].append(stream)
    return measured


# --- 4. Before issue 18 ----------------------------------------------------------------


@contextmanager
def before_tree(run: Run) -> Iterator[Path]:
    """Yield a checkout of ``BEFORE_COMMIT``: ``--before-tree``, or a worktree made and removed."""
    if run.args.before_tree:
        yield run.args.before_tree
        return
    tree = run.workdir / "before-18"
    git = ["git", "-C", str(REPO_ROOT), "worktree"]
    subprocess.run([*git, "add", "--detach", "--quiet", str(tree), BEFORE_COMMIT], check=True)
    try:
        yield tree
    finally:
        subprocess.run([*git, "remove", "--force", str(tree)], check=True)


def measure_before(run: Run) -> None:
    """Part 4: the check without providers here and on the commit before issue 18."""
    with before_tree(run) as tree, ExitStack() as stack:
        site = run.workdir / "before-site"
        site.mkdir()
        logger.info("preparing the site of %s in %s", BEFORE_COMMIT, site)
        env = prepare_site(site, root=tree, WEB_CONCURRENCY=str(run.args.workers))
        after = stack.enter_context(run.serve("after-18"))
        before = stack.enter_context(run.serve("before-18", root=tree, env=env))
        for server in (after, before):
            check_endpoint(OURS, server.url, {})
        script = run.script("plain", PLAIN_RULES)
        rounds = compare(run, {"this main": (after, script), BEFORE_COMMIT: (before, script)})
    run.rows.append(
        f"4. checks needing no provider, wrk at c{run.args.connections}: this main against "
        f"{BEFORE_COMMIT}, the commit before issue 18"
    )
    report_sides(run, rounds, "this main", BEFORE_COMMIT)
    ratio = report_ratio(run, rounds, "this main", BEFORE_COMMIT)
    run.target(
        f"this main/{BEFORE_COMMIT} req/s >= {BEFORE_TARGET} (within noise)",
        ratio.median >= BEFORE_TARGET,
    )


MEASURES: dict[str, Callable[[Run], None]] = {
    "cache": measure_cache,
    "three": measure_three,
    "hang": measure_hang,
    "before": measure_before,
}


def benchmark(args: argparse.Namespace, wrk: str, workdir: Path) -> Run:
    """Prepare the site in *workdir*, measure each part asked for, and write the report."""
    load = os.getloadavg()[0]
    site = workdir / "site"
    site.mkdir()
    logger.info("preparing the site in %s", site)
    run = Run(args, wrk, workdir, prepare_site(site, WEB_CONCURRENCY=str(args.workers)))
    for part in args.parts:
        MEASURES[part](run)
        run.rows.append("")
    run.rows.append(f"(median of {args.rounds} rounds, min..max; each ratio within one round)")
    for what, met in run.targets:
        run.rows.append(f"target: {what}: {'met' if met else 'NOT met'}")
    run.rows.append(f"unexpected failures: {len(run.failures)}")
    run.rows += [f"  {failure}" for failure in run.failures[:20]]
    run.rows.append(f"load average before the run: {load:.1f}, after: {os.getloadavg()[0]:.1f}")
    sys.stdout.write("\n".join(run.rows) + "\n")
    return run


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; return 1 if any request failed unexpectedly, else 0."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    args = parse_args(argv)
    wrk = ensure_wrk()
    workdir = Path(tempfile.mkdtemp(prefix="bench-providers-"))
    try:
        run = benchmark(args, wrk, workdir)
    except BaseException:
        logger.error("the benchmark failed; its files are kept in %s", workdir)
        raise
    if run.failures:
        logger.error("%d failures; gunicorn's logs are kept in %s", len(run.failures), workdir)
        return 1
    shutil.rmtree(workdir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
