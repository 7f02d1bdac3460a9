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

A separate measurement, with no target, times a full check with reasons of
``blocked_categories`` + ``max_quantity_per_sku`` + the three built-in rules
on 10-line orders against a hand-written function giving the same verdicts,
each with a reason, and reports the ratio of the same rounds.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import timeit
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-not-used-for-anything-else-0123456789")

import django

django.setup()

from bench.spread import Spread, repeats  # noqa: E402
from orders.facts import AddressFacts, LineFacts, OrderFacts  # noqa: E402
from orders.models import Order  # noqa: E402
from rules.engine import Resolver, RuleEngine, RuleSpec  # noqa: E402
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
    _time_lines(args.rounds, args.number)
    return 1 if missed else 0


LINE_RULES: list[str | RuleSpec] = [
    RuleSpec("blocked_categories", {"categories": ["alcohol", "tobacco"], "countries": ["NO"]}),
    RuleSpec("max_quantity_per_sku", {"limit": 3}),
    *RULES,
]
BLOCKED_CATEGORIES = frozenset({"alcohol", "tobacco"})
BLOCKED_COUNTRIES = frozenset({"NO"})
MAX_UNITS = 3


def hand_written_lines(order: OrderFacts) -> dict[str, Any]:
    """Check the five rules of the 10-line measurement with no engine, each with a reason."""
    country = order.shipping.country if order.shipping else None
    blocked = [n for n, line in enumerate(order.lines, 1) if line.category in BLOCKED_CATEGORIES]
    units: dict[str, int] = {}
    for line in order.lines:
        units[line.sku] = units.get(line.sku, 0) + line.quantity
    most = max(units.values(), default=0)
    details = {
        "blocked_categories": not blocked or country not in BLOCKED_COUNTRIES,
        "max_quantity_per_sku": most <= MAX_UNITS,
        "min_total_100": order.total > HUNDRED,
        "min_items_2": order.items_count >= 2,
        "divisible_by_5": order.total % FIVE == 0,
    }
    reasons = {
        "blocked_categories": f"Lines {blocked} of a blocked category ship to {country}.",
        "max_quantity_per_sku": f"The most units of one article are {most}; {MAX_UNITS} allowed.",
        "min_total_100": f"Total {order.total}; more than {HUNDRED} required.",
        "min_items_2": f"Order has {order.items_count} items; at least 2 required.",
        "divisible_by_5": f"Total {order.total}; a multiple of {FIVE} required.",
    }
    return {"passed": all(details.values()), "details": details, "reasons": reasons}


def _line_orders() -> list[OrderFacts]:
    """Return 10-line orders: one that passes every rule, one with wine to NO, one with 4 cups."""
    placed = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    catalogue = [
        ("TEA-1", "food"), ("CUP-2", "home"), ("WINE-12", "alcohol"), ("BREAD-4", "food"),
        ("SOAP-5", "home"), ("PEN-6", "office"), ("JAM-7", "food"), ("MUG-8", "home"),
        ("PAD-9", "office"), ("SALT-10", "food"),
    ]  # fmt: skip
    orders = []
    for country, wine, cups in [("DE", 2, 1), ("NO", 1, 2), ("SE", 3, 4)]:
        lines = tuple(
            LineFacts(sku, category, {"WINE-12": wine, "CUP-2": cups}.get(sku, 1), Decimal("5.00"))
            for sku, category in catalogue
        )
        orders.append(
            OrderFacts(
                total=sum((line.line_total for line in lines), Decimal("0.00")),
                items_count=sum(line.quantity for line in lines),
                created_at=placed,
                shipping=AddressFacts(country=country),
                lines=lines,
            )
        )
    return orders


def _time_lines(rounds: int, number: int) -> None:
    """Time a full check of the 10-line orders against ``hand_written_lines``; log the ratio."""
    orders = _line_orders()
    check = Resolver().resolve(LINE_RULES).check
    for order in orders:
        assert check.run(order).details == hand_written_lines(order)["details"]  # noqa: S101

    def run_hand_written() -> None:
        for order in orders:
            hand_written_lines(order)

    def run_full_check() -> None:
        for order in orders:
            check.run(order)

    timers = {"10 lines: hand-written": run_hand_written, "10 lines: full check": run_full_check}
    for timer in timers.values():
        timer()
    seconds: dict[str, list[float]] = {name: [] for name in timers}
    for _ in range(rounds):
        for name, timer in timers.items():
            seconds[name].append(timeit.timeit(timer, number=number) / (number * len(orders)))
    logger.info("10-line orders: blocked_categories + max_quantity_per_sku + the three above")
    base = seconds["10 lines: hand-written"]
    for name, runs in seconds.items():
        per_check = Spread.of(run * 1e6 for run in runs)
        ratio = Spread.of(run / hand for run, hand in zip(runs, base, strict=True))
        logger.info("%-24s %-22s %-22s", name, per_check.format(".2f"), ratio.format(".1f"))


if __name__ == "__main__":
    sys.exit(main())
