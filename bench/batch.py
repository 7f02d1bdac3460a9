"""Measure ``POST /rules/check/batch/`` against the same orders checked one by one.

Run ``.venv/bin/python bench/batch.py``. It builds a fresh SQLite database
(``migrate``, ``seed_orders --count``), starts the production gunicorn (two
sync workers, ``DEBUG`` off, ``LOG_LEVEL=INFO``) and, from one client on
127.0.0.1, checks 1000 orders against the three built-in rules with 1000
single ``POST /rules/check/`` calls and with one batch call: one untimed
round first, then timed rounds that alternate which goes first. It writes
the median seconds and orders per second of each, and the median ratio, each
with the lowest and highest of the rounds (target: batch at least 20x); it
exits 1 if a call fails, the two disagree or the target is missed.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.spread import Spread, repeats
from config.tests.servers import http_request, manage, prepare_site, start_gunicorn

logger = logging.getLogger("bench.batch")

RULES = ["min_total_100", "min_items_2", "divisible_by_5"]
TARGET_RATIO = 20.0


def singles(base_url: str, ids: Sequence[int]) -> tuple[float, dict[int, bool]]:
    """Check each order with its own call; return seconds taken and verdicts."""
    verdicts: dict[int, bool] = {}
    started = time.perf_counter()
    for order_id in ids:
        reply = http_request(f"{base_url}/rules/check/", {"order_id": order_id, "rules": RULES})
        if reply.status != 200:
            raise RuntimeError(f"single check of order {order_id} answered {reply.status}")
        verdicts[order_id] = reply.json()["passed"]
    return time.perf_counter() - started, verdicts


def batch(base_url: str, ids: Sequence[int]) -> tuple[float, dict[int, bool]]:
    """Check every order in one call; return seconds taken and verdicts."""
    started = time.perf_counter()
    reply = http_request(
        f"{base_url}/rules/check/batch/", {"order_ids": list(ids), "rules": RULES}, timeout=60
    )
    elapsed = time.perf_counter() - started
    if reply.status != 200:
        raise RuntimeError(f"batch answered {reply.status}: {reply.body!r}")
    return elapsed, {entry["order_id"]: entry["passed"] for entry in reply.json()["results"]}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the measurement and write the table; return 1 on a failure or a missed target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1000, help="orders per batch (max 1000)")
    parser.add_argument(
        "--rounds", type=repeats, default=3, help="timed rounds, at least 3 (default 3)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout, force=True)

    ids = list(range(1, args.orders + 1))
    timings: dict[str, list[float]] = {"singles": [], "batch": []}
    with tempfile.TemporaryDirectory(prefix="rule-engine-batch-") as tmp:
        workdir = Path(tmp)
        # Throttling off: a round's single checks, from one address, would pass the
        # anonymous rate; what counting costs is check_throughput.py's measure.
        # The batch is anonymous, as the single checks are: it gets a key's budget.
        env = prepare_site(
            workdir,
            LOG_LEVEL="INFO",
            WEB_CONCURRENCY="2",
            THROTTLE_ANONYMOUS="off",
            BATCH_ANONYMOUS_MAX_CELLS=str(args.orders * len(RULES)),
        )
        manage(env, "seed_orders", "--count", str(args.orders), "--seed", "1")
        with start_gunicorn(env, workdir / "server.log") as server:
            sides = {"singles": singles, "batch": batch}
            for index in range(args.rounds + 1):
                verdicts = {}
                for name in sorted(sides, reverse=index % 2 == 1):
                    seconds, verdicts[name] = sides[name](server.url, ids)
                    if index > 0:
                        timings[name].append(seconds)
                if verdicts["singles"] != verdicts["batch"]:
                    logger.error("batch and single verdicts differ")
                    return 1

    single_s, batch_s = Spread.of(timings["singles"]), Spread.of(timings["batch"])
    ratio = Spread.of(s / b for s, b in zip(timings["singles"], timings["batch"], strict=True))
    logger.info("%-24s %-26s %10s", "", "seconds: median (min..max)", "orders/s")
    for label, spread in (
        (f"{args.orders} single checks", single_s),
        (f"one batch of {args.orders}", batch_s),
    ):
        logger.info("%-24s %-26s %10.0f", label, spread.format(".3f"), args.orders / spread.median)
    met = ratio.median >= TARGET_RATIO
    logger.info(
        "batch / single orders/s: %s, median (min..max) of %d rounds",
        ratio.format(".1f"),
        args.rounds,
    )
    logger.info("target: median ratio >= %.0f: %s", TARGET_RATIO, "met" if met else "NOT met")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
