"""Measure how long checks wait behind clients that try to hold the workers, bare and proxied.

Run ``.venv/bin/python bench/hostile_mix.py``. It prepares a SQLite site
(``migrate``, ``seed_orders`` and ``--orders`` random orders more), an API key
with ``analyze`` for the reports and one with ``check`` for the batches, with
throttling off (the checks all come from 127.0.0.1), and measures two things
in one run, everything on 127.0.0.1:

1. **Before and after** the proxy, one hostile scenario at a time: two
   clients sending a request's headers one byte every 2 s, then two
   clients reading the report of every order at 16 KiB/s. Once they hold on,
   one check is timed (waiting at most ``--wait`` seconds), first against
   gunicorn facing the clients itself (two sync workers, no proxy), then
   against the proxied stack (``start_proxied_stack``: nginx in front of a
   check pool and an analysis pool, two workers each).
2. **Checks under the mix**, on the proxied stack: each round times
   ``--duration`` seconds of checks from ``--clients`` clients on the idle
   stack and as long under the mix, all at once: ``--slow-headers`` slow-header
   clients, ``--slow-readers`` slow report readers and ``--batch-loops`` loops
   of the largest batch the budgets allow (1000 orders x 100 rules). Idle and
   mix alternate which goes first. The table gives each round's p50 and p99,
   then the median (min..max) of the rounds' ratio of p99 under the mix to
   p99 idle; the target is at most 3.

It exits 1 if a check failed or went unanswered during the rounds.
"""

from __future__ import annotations

import argparse
import http.client
import logging
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.spread import Spread, repeats
from config.tests.hostile import (
    BatchLoop,
    CheckClient,
    HostileClient,
    SlowHeaders,
    SlowReportReader,
)
from config.tests.servers import manage, prepare_site, start_gunicorn, start_proxied_stack

logger = logging.getLogger("bench.hostile_mix")

TARGET_RATIO = 3.0
CHECK_TIMEOUT = 10.0
# How long the hostile clients get to take hold before checks are timed.
HOLD_TIMEOUT = 30.0
THROTTLING_OFF = {
    name: "off" for name in ("THROTTLE_CHECK", "THROTTLE_ANALYZE", "THROTTLE_ANONYMOUS")
}


@dataclass(frozen=True)
class Keys:
    """The site's API keys: one to read reports, one to send batches."""

    analyze: str
    check: str


@dataclass(frozen=True)
class Window:
    """The checks of one timed window: their latencies in seconds, and the failures."""

    latencies: list[float]
    failures: int

    def percentile_ms(self, percent: int) -> float:
        """Return the *percent* percentile of the latencies, in milliseconds."""
        cuts = statistics.quantiles(self.latencies, n=100, method="inclusive")
        return cuts[percent - 1] * 1000


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Return the command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--orders", type=int, default=20_000, help="random orders besides the seeded three"
    )
    parser.add_argument(
        "--rounds", type=repeats, default=5, help="timed rounds, at least 3 (default 5)"
    )
    parser.add_argument(
        "--duration", type=float, default=10.0, help="seconds of checks per window (default 10)"
    )
    parser.add_argument("--clients", type=int, default=2, help="check clients (default 2)")
    parser.add_argument(
        "--slow-headers", type=int, default=8, help="slow-header clients in the mix (default 8)"
    )
    parser.add_argument(
        "--slow-readers", type=int, default=4, help="slow report readers in the mix (default 4)"
    )
    parser.add_argument(
        "--batch-loops", type=int, default=1, help="loops of the largest batch (default 1)"
    )
    parser.add_argument(
        "--wait",
        type=float,
        default=60.0,
        help="longest wait for one check in the before/after scenarios (default 60 s)",
    )
    return parser.parse_args(argv)


def prepare(workdir: Path, orders: int) -> tuple[dict[str, str], Keys]:
    """Prepare the site in *workdir*; return its environment and keys."""
    env = prepare_site(workdir, LOG_LEVEL="WARNING", **THROTTLING_OFF)
    manage(env, "seed_orders", "--count", str(orders), "--seed", "7")
    analyze = manage(env, "create_api_key", "analyst", "--scopes", "analyze").splitlines()[-1]
    check = manage(env, "create_api_key", "checkout", "--scopes", "check").splitlines()[-1]
    return env, Keys(analyze, check)


def one_check_waits(url: str, wait: float) -> float | None:
    """Return the seconds one check at *url* took, or ``None`` when none came in *wait* seconds."""
    client = CheckClient(url, timeout=wait)
    try:
        status, seconds = client.check()
    except (OSError, http.client.HTTPException):
        return None
    finally:
        client.close()
    if status != 200:
        raise RuntimeError(f"the check answered {status}")
    return seconds


def hold(clients: Sequence[HostileClient], held: Callable[[], bool]) -> None:
    """Wait until *held* says the *clients* have taken hold; raises ``RuntimeError`` if not."""
    deadline = time.monotonic() + HOLD_TIMEOUT
    while not held():
        errors = [error for client in clients for error in client.errors]
        if errors or time.monotonic() > deadline:
            raise RuntimeError(f"the hostile clients did not take hold: {errors}")
        time.sleep(0.05)


def scenario(kind: str, url: str, keys: Keys, wait: float) -> float | None:
    """Let two *kind* clients take hold of the server at *url*, then time one check."""
    with ExitStack() as attackers:
        if kind == "slow headers":
            clients: list[HostileClient] = [
                attackers.enter_context(SlowHeaders(url)) for _ in range(2)
            ]
            hold(clients, lambda: all(client.bytes_sent >= 2 for client in clients))
        else:
            readers = [
                attackers.enter_context(SlowReportReader(url, keys.analyze)) for _ in range(2)
            ]
            clients = list(readers)
            hold(clients, lambda: all(reader.reading.is_set() for reader in readers))
        return one_check_waits(url, wait)


def before_and_after(
    env: dict[str, str], keys: Keys, workdir: Path, proxied_url: str, wait: float
) -> list[str]:
    """Time a check behind each scenario, on bare gunicorn then at *proxied_url*; return lines."""
    lines = [
        f"== one check behind two hostile clients (seconds; '>' = no answer in {wait:.0f} s)",
        f"{'scenario':<32} {'bare gunicorn':>14} {'proxied':>10}",
    ]
    with start_gunicorn({**env, "WEB_CONCURRENCY": "2"}, workdir / "bare.log") as bare:
        for kind, label in (
            ("slow headers", "slow headers (1 byte / 2 s)"),
            ("slow readers", "slow report readers (16 KiB/s)"),
        ):
            figures = [scenario(kind, url, keys, wait) for url in (bare.url, proxied_url)]
            logger.info("%s: bare %s, proxied %s", kind, *figures)
            cells = [
                f">{wait:.0f}" if seconds is None else f"{seconds:.3f}" for seconds in figures
            ]
            lines.append(f"{label:<32} {cells[0]:>14} {cells[1]:>10}")
    return lines


def time_checks(url: str, clients: int, duration: float) -> Window:
    """Send checks to *url* from *clients* clients for *duration* seconds; return the window."""
    latencies: list[float] = []
    failures = 0
    lock = threading.Lock()
    deadline = time.monotonic() + duration

    def run() -> None:
        """Check until the window ends."""
        nonlocal failures
        client = CheckClient(url, timeout=CHECK_TIMEOUT)
        try:
            while time.monotonic() < deadline:
                try:
                    status, seconds = client.check()
                except (OSError, http.client.HTTPException):
                    status, seconds = 0, CHECK_TIMEOUT
                with lock:
                    latencies.append(seconds)
                    failures += status != 200
        finally:
            client.close()

    threads = [threading.Thread(target=run) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Window(latencies, failures)


def under_the_mix(url: str, keys: Keys, args: argparse.Namespace) -> tuple[Window, int]:
    """Time checks at *url* while the mix presses on it; return them and the batches answered."""
    with ExitStack() as attackers:
        headers = [attackers.enter_context(SlowHeaders(url)) for _ in range(args.slow_headers)]
        readers = [
            attackers.enter_context(SlowReportReader(url, keys.analyze))
            for _ in range(args.slow_readers)
        ]
        loops = [
            attackers.enter_context(BatchLoop(url, keys.check)) for _ in range(args.batch_loops)
        ]
        hold(
            [*headers, *readers, *loops],
            lambda: (
                all(client.bytes_sent for client in headers)
                and all(reader.reading.is_set() for reader in readers)
            ),
        )
        answered = sum(loop.answered for loop in loops)
        window = time_checks(url, args.clients, args.duration)
        answered = sum(loop.answered for loop in loops) - answered
        errors = [error for client in (*headers, *readers, *loops) for error in client.errors]
    if errors:
        raise RuntimeError(f"the hostile clients failed: {errors}")
    return window, answered


def rounds(url: str, keys: Keys, args: argparse.Namespace) -> tuple[list[str], int]:
    """Time idle and mixed windows on the proxied stack at *url*; return lines and failures."""
    ratios = []
    failures = 0
    lines = [
        f"== checks on the proxied stack, idle and under the mix ({args.clients} clients, "
        f"{args.slow_headers} slow-header clients, {args.slow_readers} slow readers, "
        f"{args.batch_loops} loop(s) of the largest batch)",
        f"{'round':<6} {'idle p50 ms':>11} {'idle p99 ms':>11} {'mix p50 ms':>10} "
        f"{'mix p99 ms':>10} {'checks idle/mix':>16} {'batches':>8}",
    ]
    time_checks(url, args.clients, min(args.duration, 3.0))
    for index in range(args.rounds):
        windows: dict[str, Window] = {}
        for side in ("idle", "mix") if index % 2 == 0 else ("mix", "idle"):
            if side == "idle":
                windows[side] = time_checks(url, args.clients, args.duration)
            else:
                windows[side], batches = under_the_mix(url, keys, args)
        idle, mix = windows["idle"], windows["mix"]
        failures += idle.failures + mix.failures
        ratios.append(mix.percentile_ms(99) / idle.percentile_ms(99))
        logger.info("round %d: p99 ratio %.2f", index + 1, ratios[-1])
        lines.append(
            f"{index + 1:<6} {idle.percentile_ms(50):>11.2f} {idle.percentile_ms(99):>11.2f} "
            f"{mix.percentile_ms(50):>10.2f} {mix.percentile_ms(99):>10.2f} "
            f"{f'{len(idle.latencies)}/{len(mix.latencies)}':>16} {batches:>8}"
        )
    spread = Spread.of(ratios)
    met = spread.median <= TARGET_RATIO
    lines += [
        f"ratio mix/idle check p99: {spread.format()} (median of {args.rounds} rounds, min..max)",
        f"target: median ratio <= {TARGET_RATIO:.0f}: {'met' if met else 'NOT met'}",
        f"failed or unanswered checks: {failures}",
    ]
    return lines, failures


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and write its tables; return 1 if a check failed during the rounds."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    args = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="bench-hostile-"))
    try:
        env, keys = prepare(workdir, args.orders)
        with start_proxied_stack(env, workdir) as stack:
            lines = before_and_after(env, keys, workdir, stack.url, args.wait)
            mixed, failures = rounds(stack.url, keys, args)
    except BaseException:
        logger.error("the benchmark failed; its files are kept in %s", workdir)
        raise
    sys.stdout.write("\n".join([*lines, *mixed]) + "\n")
    if failures:
        logger.error("%d checks failed; the logs are kept in %s", failures, workdir)
        return 1
    shutil.rmtree(workdir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
