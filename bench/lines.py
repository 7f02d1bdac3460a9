"""Time ``POST /rules/check/`` of a stored 10-line order against a stored 1-line order.

Run ``.venv/bin/python bench/lines.py`` (or ``make bench-lines``). It
prepares a site (``migrate``, ``collectstatic``, ``seed_orders``: a SQLite
file in a temporary folder), stores two orders of one customer through the
orders service, one with a line and one with ten, and sets Django up in this
process with the production settings (``config.settings``: every production
middleware, the decision log on, ``DEBUG`` off, ``LOG_LEVEL=INFO``, the JSON
log lines written to ``/dev/null``, throttling off). It calls the WSGI
application as a gunicorn worker does, checking each order against the three
built-in rules.

After a warm-up of both, each round times ``--requests`` checks of each
order, in alternating order (1-line first, then 10-line first, ...), so that
a change in the machine's load hits both alike. The table gives each order's
checks per second as the median of the rounds with the lowest and highest,
and the ratio 10-line/1-line of each round's throughput (target: a median of
at least 0.85). Other work on the machine moves checks per second a lot, so
it also gives this process's CPU time per check and their ratio: the
throughput ratio with the CPU to itself. Beside them, the queries each check
makes that read the order and its lines (at most two: the order with its
customer, then its lines). It exits 1 if a check did not answer 200 with the
expected verdict.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.layers import PATH, check_environ, serve, setup_django
from bench.spread import Spread, repeats

RULES = ["min_total_100", "min_items_2", "divisible_by_5"]
TARGET_RATIO = 0.85
SIDES = ("1 line", "10 lines")
# The tables whose reads a check of a stored order makes, as SQL names them.
ORDER_TABLES = ('"orders_order"', '"orders_orderline"', '"orders_customer"')


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Return the command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--requests",
        type=int,
        default=2000,
        help="checks of each order per round (default 2000)",
    )
    parser.add_argument(
        "--warmup", type=int, default=200, help="untimed checks of each order first (default 200)"
    )
    parser.add_argument("--rounds", type=repeats, default=5, help="rounds, at least 3 (default 5)")
    return parser.parse_args(argv)


def store_orders() -> dict[str, int]:
    """Store the two orders of one customer; return their ids by side.

    Both pass the three rules: a total of 150.00, at least two items.
    """
    from orders.services import order_create

    def lines(count: int) -> list[dict[str, Any]]:
        return [
            {
                "sku": f"SKU-{position}",
                "name": f"Article {position}",
                "category": "food",
                "quantity": 2,
                "unit_price": Decimal("7.50"),
            }
            for position in range(1, count + 1)
        ]

    customer = {"id": "C-BENCH", "segment": "vip", "country": "NO"}
    return {
        side: order_create(
            total=Decimal("150.00"),
            customer=customer,
            shipping={"country": "NO"},
            lines=lines(count),
        ).pk
        for side, count in zip(SIDES, (1, 10), strict=True)
    }


def environs(order_id: int, count: int) -> Iterator[dict[str, Any]]:
    """Yield *count* WSGI environs of ``POST /rules/check/`` of the order *order_id*."""
    data = json.dumps({"order_id": order_id, "rules": RULES}).encode()
    for _ in range(count):
        yield check_environ(data)


def check_replies(replies: Iterable[tuple[str, bytes]]) -> None:
    """Raise ``RuntimeError`` unless every reply is a 200 where every rule passed."""
    for status, body in replies:
        if not status.startswith("200") or json.loads(body)["passed"] is not True:
            raise RuntimeError(f"{status} {body[:300]!r}")


def order_reads(application: Callable[..., Iterable[bytes]], order_id: int) -> int:
    """Return how many queries one check of *order_id* makes that read the order or its lines."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        _, replies = serve(application, environs(order_id, 1))
    check_replies(replies)
    return sum(
        1
        for query in queries.captured_queries
        if query["sql"].startswith("SELECT")
        and any(f"FROM {table}" in query["sql"] for table in ORDER_TABLES)
    )


def main(argv: list[str] | None = None) -> int:
    """Time both orders' checks and write the table."""
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-lines-") as tmp:
        application = setup_django(Path(tmp))
        ids = store_orders()
        for side in SIDES:
            check_replies(serve(application, environs(ids[side], args.warmup))[1])
        reads = {side: order_reads(application, ids[side]) for side in SIDES}
        rates: dict[str, list[float]] = {side: [] for side in SIDES}
        cpu_us: dict[str, list[float]] = {side: [] for side in SIDES}
        ratios, cpu_ratios = [], []
        for index in range(args.rounds):
            order = SIDES if index % 2 == 0 else SIDES[::-1]
            for side in order:
                started = time.process_time()
                elapsed, replies = serve(application, environs(ids[side], args.requests))
                cpu_us[side].append((time.process_time() - started) / args.requests * 1e6)
                check_replies(replies)
                rates[side].append(args.requests / elapsed)
            ratios.append(rates[SIDES[1]][-1] / rates[SIDES[0]][-1])
            cpu_ratios.append(cpu_us[SIDES[0]][-1] / cpu_us[SIDES[1]][-1])
    ratio = Spread.of(ratios)
    verdict = "met" if ratio.median >= TARGET_RATIO else "NOT met"
    rows = [
        f"POST {PATH} of a stored order in process through the production WSGI stack: "
        f"{len(RULES)} rules, the decision log on, SQLite; {args.rounds} rounds of "
        f"{args.requests} checks of each order",
        "",
        "| order | checks/s | CPU per check (us) | queries reading the order |",
        "| --- | --- | --- | --- |",
        *(
            f"| {side} | {Spread.of(rates[side]).format('.0f')} | "
            f"{Spread.of(cpu_us[side]).format('.0f')} | {reads[side]} |"
            for side in SIDES
        ),
        "",
        f"ratio 10 lines / 1 line: {ratio.format()} (target at least {TARGET_RATIO}: {verdict})",
        f"the same by CPU per check (1 line / 10 lines): {Spread.of(cpu_ratios).format()}",
    ]
    sys.stdout.write("\n".join(rows) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
