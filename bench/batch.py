"""Measure ``POST /rules/check/batch/`` against the same orders checked one by one.

Run ``.venv/bin/python bench/batch.py``. It builds a fresh SQLite database
(``migrate``, ``seed_orders --count``), starts the production gunicorn (two
sync workers, ``DEBUG`` off, ``LOG_LEVEL=INFO``) and, from one client on
127.0.0.1, alternately checks 1000 orders against the three built-in rules
with 1000 single ``POST /rules/check/`` calls and with one batch call. It
writes orders per second for each and their ratio (target: batch at least
20x); it exits 1 if a call fails or the two disagree.
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
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (best kept)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout, force=True)

    with tempfile.TemporaryDirectory(prefix="rule-engine-batch-") as tmp:
        workdir = Path(tmp)
        env = prepare_site(workdir, LOG_LEVEL="INFO", WEB_CONCURRENCY="2")
        manage(env, "seed_orders", "--count", str(args.orders), "--seed", "1")
        with start_gunicorn(env, workdir / "server.log") as server:
            base_url = server.url
            ids = list(range(1, args.orders + 1))
            best_single = best_batch = float("inf")
            for _ in range(args.rounds):
                single_s, single_verdicts = singles(base_url, ids)
                batch_s, batch_verdicts = batch(base_url, ids)
                if single_verdicts != batch_verdicts:
                    logger.error("batch and single verdicts differ")
                    return 1
                best_single, best_batch = min(best_single, single_s), min(best_batch, batch_s)

    single_rate, batch_rate = args.orders / best_single, args.orders / best_batch
    ratio = batch_rate / single_rate
    logger.info("%-24s %10s %12s", "", "seconds", "orders/s")
    logger.info("%-24s %10.3f %12.0f", f"{args.orders} single checks", best_single, single_rate)
    logger.info("%-24s %10.3f %12.0f", f"one batch of {args.orders}", best_batch, batch_rate)
    logger.info("batch / single: %.1fx (target >= %.0fx)", ratio, TARGET_RATIO)
    return 0 if ratio >= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
