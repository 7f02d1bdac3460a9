"""Measure the rule engine's cost per check against hand-written comparisons.

Run ``.venv/bin/python bench/engine.py``. In one process, on unsaved orders
(no database), it times per check of the three built-in rules:

- ``hand-written``: a function doing the three Decimal comparisons and
  building ``{"passed", "details"}``;
- ``evaluate_rules``: ``RuleEngine().evaluate_rules(order, names)``, the
  verdicts-only public API, resolving the names on every call;
- ``full check``: ``RuleCheck.run(order)``, every result with its reason
  (message and observed/required values);
- ``full check + dicts``: the same, turned into the API's result dicts
  (reported, no target).

After one untimed warm-up round, each is timed in interleaved rounds, and
each round gives every contender's ratio to the hand-written function. The
table gives the median microseconds per check and the median ratio, each with
the lowest and highest of the rounds. Targets, on the median ratio:
``evaluate_rules`` at most 3x, the full check at most 8x.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import timeit
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-not-used-for-anything-else-0123456789")

import django

django.setup()

from bench.spread import Spread, repeats  # noqa: E402
from orders.models import Order  # noqa: E402
from rules.engine import Resolver, RuleEngine  # noqa: E402
from rules.serializers.checks import RuleResultSerializer  # noqa: E402

logger = logging.getLogger("bench.engine")

RULES = ["min_total_100", "min_items_2", "divisible_by_5"]
HUNDRED = Decimal("100.00")
FIVE = Decimal("5")
TARGETS = {"evaluate_rules": 3.0, "full check": 8.0}


def hand_written(order: Order) -> dict[str, Any]:
    """Check the three built-in rules with no engine at all."""
    details = {
        "min_total_100": order.total > HUNDRED,
        "min_items_2": order.items_count >= 2,
        "divisible_by_5": order.total % FIVE == 0,
    }
    return {"passed": all(details.values()), "details": details}


def _orders() -> list[Order]:
    """Return orders that pass, fail and split the three rules."""
    return [
        Order(total=Decimal(total), items_count=items)
        for total, items in [("150.00", 3), ("75.50", 1), ("200.00", 5), ("100.00", 2)]
    ]


def _timers(orders: list[Order]) -> dict[str, Callable[[], None]]:
    """Return one callable per contender, each checking every order once."""
    engine = RuleEngine()
    check = Resolver().resolve(RULES).check
    serializer = RuleResultSerializer()

    def run_hand_written() -> None:
        for order in orders:
            hand_written(order)

    def run_evaluate_rules() -> None:
        for order in orders:
            engine.evaluate_rules(order, RULES)

    def run_full_check() -> None:
        for order in orders:
            check.run(order)

    def run_full_check_as_api_dicts() -> None:
        for order in orders:
            [serializer.to_representation(result) for result in check.run(order).results]

    return {
        "hand-written": run_hand_written,
        "evaluate_rules": run_evaluate_rules,
        "full check": run_full_check,
        "full check + dicts": run_full_check_as_api_dicts,
    }


def main(argv: list[str] | None = None) -> int:
    """Time each contender and write the table; return 1 if a target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rounds", type=repeats, default=7, help="timed rounds, at least 3 (default 7)"
    )
    parser.add_argument("--number", type=int, default=5000, help="calls per round")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout, force=True)

    orders = _orders()
    for order in orders:
        assert hand_written(order) == RuleEngine().evaluate_rules(order, RULES)  # noqa: S101
    timers = _timers(orders)
    for timer in timers.values():
        timer()
    seconds: dict[str, list[float]] = {name: [] for name in timers}
    for _ in range(args.rounds):
        for name, timer in timers.items():
            elapsed = timeit.timeit(timer, number=args.number)
            seconds[name].append(elapsed / (args.number * len(orders)))

    base = seconds["hand-written"]
    logger.info(
        "%-20s %-22s %-22s %8s", "contender", "us/check: median", "ratio: median", "target"
    )
    missed = False
    for name, runs in seconds.items():
        per_check = Spread.of(run * 1e6 for run in runs)
        ratio = Spread.of(run / hand for run, hand in zip(runs, base, strict=True))
        target = TARGETS.get(name)
        missed = missed or (target is not None and ratio.median > target)
        logger.info(
            "%-20s %-22s %-22s %8s",
            name,
            per_check.format(".2f"),
            ratio.format(".1f"),
            f"<= {target:.0f}x" if target else "",
        )
    logger.info("median (min..max) of %d rounds of %d calls", args.rounds, args.number)
    logger.info("targets on the median ratios: %s", "NOT met" if missed else "met")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
