"""Measure pages of ``GET /decisions/`` filtered by rule against the newest page.

Run ``.venv/bin/python bench/decision_filters.py`` (``--decisions`` 100,000 by
default). It builds a fresh SQLite database (``migrate``, ``seed_orders
--count 1000``), starts the production gunicorn (two sync workers, ``DEBUG``
off) and records the decisions as the service does: batch checks of orders
1 to 1000 against the three built-in rules (``POST /rules/check/batch/``).
Then, with an ``analyze`` key, it times the first page (50 decisions) of:

- the newest decisions, unfiltered: the baseline;
- a rule and an outcome that many decisions have (``min_total_100`` failed);
- a rule and an outcome that no decision has (``min_total_100`` errored);
- a key that never failed, nor ran (``-1``: once a JSON path error, a 503);
- a rule that ran on every decision (``min_items_2``, any outcome), and the
  key that never ran, any outcome: these read the decisions' own records,
  newest first, until the page is full (reported, no target).

One untimed round, then ``--rounds`` timed rounds that alternate the order of
the pages. It writes each page's median milliseconds with the lowest and
highest, and its median ratio to the baseline within a round. Target: every
page of decisions where a rule did not pass within 3 times the newest page,
however many decisions match: it reads the rule's index, not every decision.
It exits 1 if a request fails or the target is missed.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.spread import Spread, repeats
from config.tests.servers import http_request, manage, prepare_site, start_gunicorn

logger = logging.getLogger("bench.decision_filters")

RULES = ["min_total_100", "min_items_2", "divisible_by_5"]
BATCH_ORDERS = 1000
TARGET_RATIO = 3.0
BASELINE = "newest"
# Each page's query, and whether the target holds it (it reads the rule's index).
PAGES = {
    BASELINE: ({}, False),
    "rule failed (many)": ({"rule": "min_total_100", "outcome": "failed"}, True),
    "rule errored (none)": ({"rule": "min_total_100", "outcome": "error"}, True),
    "-1 failed (none)": ({"rule": "-1", "outcome": "failed"}, True),
    "rule ran (all)": ({"rule": "min_items_2"}, False),
    "-1 ran (none)": ({"rule": "-1"}, False),
}


def record(base_url: str, key: str, decisions: int) -> None:
    """Record *decisions* decisions, a batch check of up to 1000 orders at a time, with *key*."""
    for start in range(0, decisions, BATCH_ORDERS):
        ids = list(range(1, min(BATCH_ORDERS, decisions - start) + 1))
        reply = http_request(
            f"{base_url}/rules/check/batch/",
            {"order_ids": ids, "rules": RULES},
            timeout=60,
            headers={"Authorization": f"Api-Key {key}"},
        )
        if reply.status != 200:
            raise RuntimeError(f"batch answered {reply.status}: {reply.body!r}")


def page_seconds(base_url: str, key: str, query: dict[str, str]) -> float:
    """Return the seconds one page of decisions took; raise unless it answered 200."""
    url = f"{base_url}/decisions/?{urlencode(query)}"
    started = time.perf_counter()
    reply = http_request(url, headers={"Authorization": f"Api-Key {key}"}, timeout=60)
    elapsed = time.perf_counter() - started
    if reply.status != 200:
        raise RuntimeError(f"{url} answered {reply.status}: {reply.body!r}")
    return elapsed


def main(argv: list[str] | None = None) -> int:
    """Run the measurement and write the table; return 1 on a failure or a missed target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--decisions", type=int, default=100_000, help="decisions to record (default 100000)"
    )
    parser.add_argument(
        "--rounds", type=repeats, default=5, help="timed rounds, at least 3 (default 5)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout, force=True)

    timings: dict[str, list[float]] = {name: [] for name in PAGES}
    with tempfile.TemporaryDirectory(prefix="rule-engine-decisions-") as tmp:
        workdir = Path(tmp)
        env = prepare_site(
            workdir, LOG_LEVEL="WARNING", WEB_CONCURRENCY="2", THROTTLE_ANONYMOUS="off"
        )
        manage(env, "seed_orders", "--count", str(BATCH_ORDERS), "--seed", "1")
        scopes = ("--scopes", "check,analyze")
        key = manage(env, "create_api_key", "bench", *scopes).splitlines()[-1]
        with start_gunicorn(env, workdir / "server.log") as server:
            started = time.perf_counter()
            record(server.url, key, args.decisions)
            logger.info(
                "%d decisions recorded in %.0f s", args.decisions, time.perf_counter() - started
            )
            for index in range(args.rounds + 1):
                for name in sorted(PAGES, reverse=index % 2 == 1):
                    seconds = page_seconds(server.url, key, PAGES[name][0])
                    if index > 0:
                        timings[name].append(seconds)

    logger.info("%-22s %-28s %s", "first page", "ms: median (min..max)", "/ newest")
    met = True
    for name in PAGES:
        spread = Spread.of(seconds * 1000 for seconds in timings[name])
        ratio = Spread.of(
            mine / base for mine, base in zip(timings[name], timings[BASELINE], strict=True)
        )
        met = met and (not PAGES[name][1] or ratio.median <= TARGET_RATIO)
        logger.info("%-22s %-28s %s", name, spread.format(".1f"), ratio.format(".2f"))
    logger.info(
        "target: every page where a rule did not pass within %.0fx the newest: %s",
        TARGET_RATIO,
        "met" if met else "NOT met",
    )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
