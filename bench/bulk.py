"""Measure bulk work on many orders against each database's own fast path.

Run ``.venv/bin/python bench/bulk.py`` (1,000,000 orders; ``--rows 100000``
for a quick run, ``--databases sqlite`` or ``--measure seed`` to pick). For
each database, SQLite in a temporary file and a throw-away PostgreSQL that
``scripts/with-postgres.sh`` starts and removes, a child process
(``python -m bench.bulk --leg``) sets Django up on a freshly migrated
database and runs the chosen measurements:

``seed``
    ``seed_orders --count N --seed S --until T`` (through ``call_command``:
    realistic orders with about 4.5 lines each and a new customer every four
    orders) against the driver alone writing the same generated rows into
    empty tables: one transaction, customers first in one statement, then
    each chunk of orders and their lines with one ``executemany`` (SQLite)
    or one streamed ``COPY`` (PostgreSQL) per table. Both start from empty
    tables and must leave the same rows. Target: at most 1.5 times the fast
    path (the median ratio). Memory: the process's peak RSS after seeding
    N/10 orders, then after seeding N; flat if it holds.

``query``
    On N stored orders: ``POST /rules/query/`` counting the orders that fail
    the three built-in rules, and reading the whole of ``POST /rules/report/``
    (JSON lines), each against a hand-written SQL query doing the same (the
    report's twin writes the same JSON lines); target at most 1.5 times (the
    median ratios). Also the same count through the Python engine over an
    iterator (expected at least 10 times slower; reported).

``lines_query``
    On N stored orders: "some line of alcohol with a quantity above 2",
    counted by ``rules.analysis.orders_matching`` with a stored condition
    rule (``{"some": [lines, ...]}``, as an operator writes it), against
    hand-written SQL selecting the same orders, ``EXISTS`` or ``IN`` (the
    floor is the faster in each round); target at most 1.5 times. Also, for
    information: the matching lines' distinct order ids counted without
    reading the orders (``COUNT(DISTINCT order_id)``, a count and nothing
    else), a code rule whose database form is a correlated ``EXISTS``
    (``ours_exists``), and each query's plan.

``memory``
    The peak of Python allocations (tracemalloc) while the report streams, at
    N/10 and at N orders, after one report to warm up. Target: flat.

Each measurement runs every contender once untimed (the first call of an
endpoint or a query is cold), then ``--repeat`` timed rounds (at least 3)
that alternate their order, and gives each figure as the median of the rounds
with the lowest and highest (``{"median", "min", "max"}``); a ratio is taken
within each round. Every measurement is a JSON log line on stdout
(``bulk measured``: rows, seconds, rows/s, the ratios, whether the target is
met, and the child's peak memory).
The script exits 1 when a database could not be measured. A new measurement
is a function taking the options, added to ``MEASUREMENTS``.
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import logging.config
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.spread import Spread, repeats
from config.logs import logging_config
from config.tests.servers import REPO_ROOT, production_env

logger = logging.getLogger("bench.bulk")

DATABASES = ("sqlite", "postgresql")
SEED_TARGET_RATIO = 1.5
COPY_LINES_PER_READ = 2000
# The fast paths' statements; only the model's names are formatted in.
SQLITE_INSERT = "INSERT INTO {table} ({columns}) VALUES ({values})"
POSTGRESQL_COPY = "COPY {table} ({columns}) FROM STDIN"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Return the command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rows", type=int, default=1_000_000, help="orders per measurement (default 1000000)"
    )
    parser.add_argument(
        "--databases",
        nargs="+",
        choices=DATABASES,
        default=list(DATABASES),
        help="databases to measure (default: both)",
    )
    parser.add_argument(
        "--measure",
        nargs="+",
        choices=sorted(MEASUREMENTS),
        default=list(MEASUREMENTS),
        help="measurements to run (default: all)",
    )
    parser.add_argument(
        "--seed", type=int, default=2025, help="seed of the generated orders (default 2025)"
    )
    parser.add_argument(
        "--repeat", type=repeats, default=3, help="timed rounds, at least 3 (default 3)"
    )
    # Internal: run the measurements here, on DATABASE_URL, with Django set up.
    parser.add_argument("--leg", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.rows < 10:
        parser.error("--rows must be at least 10")
    return args


# The orchestrator: one child process per database.


def configure_logging() -> None:
    """Send this process's log lines to stdout as JSON, as the service does."""
    logging.config.dictConfig(logging_config("INFO"))


def leg_command(args: argparse.Namespace) -> list[str]:
    """Return the command that runs the measurements on ``DATABASE_URL``."""
    return [
        sys.executable,
        "-m",
        "bench.bulk",
        "--leg",
        "--rows",
        str(args.rows),
        "--seed",
        str(args.seed),
        "--repeat",
        str(args.repeat),
        "--measure",
        *args.measure,
    ]


def run_database(database: str, args: argparse.Namespace) -> int:
    """Run the measurements on a fresh *database*; return the child's exit status.

    The child has production settings with ``LOG_LEVEL=INFO``, on a SQLite
    file in a temporary folder, or on PostgreSQL when ``with-postgres.sh``
    sets ``DATABASE_URL`` over it.
    """
    logger.info("measuring", extra={"database": database, "rows": args.rows})
    command = leg_command(args)
    if database == "postgresql":
        # The script starts the cluster, sets DATABASE_URL and removes it all after.
        command = ["bash", str(REPO_ROOT / "scripts" / "with-postgres.sh"), *command]
    with tempfile.TemporaryDirectory(prefix="bench-bulk-") as workdir:
        env = production_env(Path(workdir), LOG_LEVEL="INFO")
        (Path(workdir) / "static").mkdir()
        return subprocess.run(command, cwd=REPO_ROOT, env=env, check=False).returncode


# The leg: Django is set up on the database under test. Django and the project
# are imported inside these functions, so the orchestrator never sets them up.


def run_leg(args: argparse.Namespace) -> int:
    """Migrate the database named by ``DATABASE_URL`` and run the measurements on it."""
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    for name in args.measure:
        MEASUREMENTS[name](args)
    return 0


def empty_orders_table() -> None:
    """Delete every order, line and customer and give the space back, so each run starts alike."""
    from django.db import connection

    from orders.models import Customer, Order, OrderLine

    tables = [model._meta.db_table for model in (OrderLine, Order, Customer)]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY")
            return
        for table in tables:
            cursor.execute(f"DELETE FROM {table}")  # noqa: S608  # nosec B608
        # The ids start again from 1, as after PostgreSQL's RESTART IDENTITY.
        cursor.execute("DELETE FROM sqlite_sequence")
        cursor.execute("VACUUM")


def orders_summary() -> dict[str, Any]:
    """Return figures that differ when two runs did not write the same orders."""
    from django.db.models import Count, Max, Min, Sum

    from orders.models import Customer, Order, OrderLine

    return {
        **Order.objects.aggregate(
            count=Count("id"),
            items=Sum("items_count"),
            total=Sum("total"),
            subtotal=Sum("subtotal"),
            lines_count=Sum("lines_count"),
            first=Min("created_at"),
            last=Max("created_at"),
            customers=Count("customer", distinct=True),
        ),
        **OrderLine.objects.aggregate(
            lines=Count("id"), quantity=Sum("quantity"), unit_prices=Sum("unit_price")
        ),
        **Customer.objects.aggregate(signed_up=Max("created_at")),
    }


def timed_rounds(
    contenders: dict[str, Callable[[], Any]],
    repeat: int,
    *,
    prepare: Callable[[], object] = lambda: None,
    answer: Callable[[Any], Any] = lambda result: result,
) -> tuple[dict[str, list[float]], dict[str, Any]]:
    """Run every contender in one untimed round, then in *repeat* timed rounds.

    The rounds alternate the contenders' order, so that a drift of the
    machine's load hits all alike. *prepare* runs before every run and
    *answer* after it, both untimed. Return each contender's seconds, one per
    timed round, and what *answer* made of its last result.
    """
    seconds: dict[str, list[float]] = {name: [] for name in contenders}
    answers: dict[str, Any] = {}
    names = list(contenders)
    for index in range(repeat + 1):
        for name in names if index % 2 == 0 else reversed(names):
            prepare()
            start = time.perf_counter()
            result = contenders[name]()
            elapsed = time.perf_counter() - start
            answers[name] = answer(result)
            if index:
                seconds[name].append(elapsed)
    return seconds, answers


def ratio(numerators: list[float], denominators: list[float]) -> Spread:
    """Return the spread of the per-round ratios of two contenders' seconds."""
    return Spread.of(n / d for n, d in zip(numerators, denominators, strict=True))


def peak_rss_mb() -> float:
    """Return this process's peak resident memory so far, in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def seed_fast_path(rows: int, seed: int, until: datetime) -> None:
    """Write the generated orders, lines and customers with the database driver alone.

    One transaction into empty tables, so the ids are known: customer
    number k is id k + 1, order i id i + 1. Customers go first, in one
    statement; orders and their lines a chunk at a time, since one stream
    of orders feeds two tables.
    """
    from django.db import connection

    from orders.models import Customer, Order, OrderLine
    from orders.seeding import (
        CUSTOMER_COLUMNS,
        LINE_COLUMNS,
        ORDER_COLUMNS,
        ORDERS_PER_NEW_CUSTOMER,
        SEED_CHUNK_SIZE,
        random_orders,
        seeded_customer,
    )

    customers = (
        seeded_customer(seed=seed, number=number, until=until)
        for number in range(-(-rows // ORDERS_PER_NEW_CUSTOMER))
    )
    orders = random_orders(count=rows, seed=seed, until=until)
    postgresql = connection.vendor == "postgresql"
    # SQLite keeps naive UTC text, as Django writes it; *until* is in UTC.
    when = datetime.isoformat if postgresql else (lambda t: str(t.replace(tzinfo=None)))
    customer_rows = (
        (c.number + 1, f"seed-{c.number + 1}", c.segment, c.country, when(c.created_at))
        for c in customers
    )

    def order_rows(chunk: list[Any], first: int) -> Iterator[tuple[Any, ...]]:
        for pk, o in enumerate(chunk, first):
            created = when(o.created_at)
            coupons = json.dumps(list(o.coupons)) if o.coupons else "[]"
            attributes = json.dumps(o.attributes) if o.attributes else "{}"
            yield (
                pk, str(o.total), o.items_count, created, created, o.currency,
                o.customer.number + 1, o.shipping_country, o.shipping_region,
                o.shipping_postal_code, o.billing_country, o.payment_method, o.channel,
                coupons, attributes, str(o.subtotal), len(o.lines),
            )  # fmt: skip

    def line_rows(chunk: list[Any], first: int) -> Iterator[tuple[Any, ...]]:
        for pk, o in enumerate(chunk, first):
            for position, line in enumerate(o.lines, 1):
                a = line.article
                yield (
                    pk,
                    position,
                    a.sku,
                    a.name,
                    a.category,
                    line.quantity,
                    str(line.unit_price),
                )

    tables = {
        "customers": (Customer._meta.db_table, CUSTOMER_COLUMNS),
        "orders": (Order._meta.db_table, ORDER_COLUMNS),
        "lines": (OrderLine._meta.db_table, LINE_COLUMNS),
    }
    connection.ensure_connection()
    raw = connection.connection
    if postgresql:
        copy = {
            name: POSTGRESQL_COPY.format(table=table, columns=", ".join(columns))
            for name, (table, columns) in tables.items()
        }
        with raw.cursor() as cursor:
            # Django's connection autocommits: one transaction is asked for.
            cursor.execute("BEGIN")
            cursor.copy_expert(copy["customers"], CopySource(tab_lines(customer_rows)))
            first = 1
            while chunk := list(islice(orders, SEED_CHUNK_SIZE)):
                cursor.copy_expert(copy["orders"], CopySource(tab_lines(order_rows(chunk, first))))
                cursor.copy_expert(copy["lines"], CopySource(tab_lines(line_rows(chunk, first))))
                first += len(chunk)
            cursor.execute("COMMIT")
        return
    insert = {
        name: SQLITE_INSERT.format(
            table=table, columns=", ".join(columns), values=", ".join("?" * len(columns))
        )
        for name, (table, columns) in tables.items()
    }
    raw.execute("BEGIN IMMEDIATE")
    raw.executemany(insert["customers"], customer_rows)
    first = 1
    while chunk := list(islice(orders, SEED_CHUNK_SIZE)):
        raw.executemany(insert["orders"], order_rows(chunk, first))
        raw.executemany(insert["lines"], line_rows(chunk, first))
        first += len(chunk)
    raw.execute("COMMIT")


def tab_lines(rows: Iterator[tuple[Any, ...]]) -> Iterator[str]:
    """Return *rows* as ``COPY``'s text lines: tab-separated values."""
    return ("\t".join(map(str, row)) + "\n" for row in rows)


class CopySource:
    """A file-like ``read`` over lines of text, so ``COPY`` streams in flat memory."""

    def __init__(self, lines: Iterator[str]) -> None:
        """Read from *lines*."""
        self._lines = lines

    def read(self, size: int = -1) -> str:
        """Return the next lines joined, or ``""`` at the end."""
        return "".join(islice(self._lines, COPY_LINES_PER_READ))


def measure_seed(args: argparse.Namespace) -> None:
    """Time ``seed_orders --count`` against the fast path and log both.

    Seeding first writes a tenth of the rows alone, then the whole, and
    the process's peak memory is taken after each: flat if it holds.
    """
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    until = timezone.now()

    def ours(rows: int) -> None:
        call_command(
            "seed_orders", count=rows, seed=args.seed, until=until.isoformat(), verbosity=0
        )

    empty_orders_table()
    ours(args.rows // 10)
    peak_rss = {args.rows // 10: round(peak_rss_mb(), 1)}

    def ours_all() -> None:
        ours(args.rows)
        peak_rss.setdefault(args.rows, round(peak_rss_mb(), 1))

    # Ours first: its first run, untimed, gives the peak memory at all the rows.
    seconds, summaries = timed_rounds(
        {"ours": ours_all, "fast": lambda: seed_fast_path(args.rows, args.seed, until)},
        args.repeat,
        prepare=empty_orders_table,
        answer=lambda _: orders_summary(),
    )
    if summaries["fast"] != summaries["ours"]:
        raise RuntimeError(f"the two sides wrote different orders: {summaries}")
    fast, ours_spread = Spread.of(seconds["fast"]), Spread.of(seconds["ours"])
    seed_ratio = ratio(seconds["ours"], seconds["fast"])
    logger.info(
        "bulk measured",
        extra={
            "measurement": "seed",
            "database": connection.vendor,
            "rows": args.rows,
            "lines": summaries["ours"]["lines"],
            "customers": summaries["ours"]["customers"],
            "repeats": args.repeat,
            "fast_s": fast.as_dict(4),
            "fast_rows_per_s": round(args.rows / fast.median),
            "ours_s": ours_spread.as_dict(4),
            "ours_rows_per_s": round(args.rows / ours_spread.median),
            "ratio": seed_ratio.as_dict(2),
            "target": SEED_TARGET_RATIO,
            "met": seed_ratio.median <= SEED_TARGET_RATIO,
            "peak_rss_mb_by_rows": peak_rss,
            "peak_rss_mb": round(peak_rss_mb(), 1),
        },
    )
    empty_orders_table()


RULES = ["min_total_100", "min_items_2", "divisible_by_5"]
QUERY_TARGET_RATIO = 1.5
# Hand-written SQL for the orders failing the three built-in rules (run with
# no parameters, so % is SQL's own). SQLite stores decimals as floats, so it
# tests divisibility in whole cents.
FAILING_CONDITION = {
    "postgresql": "NOT (total > 100 AND items_count >= 2 AND total % 5 = 0)",
    "sqlite": (
        "NOT (total > 100 AND items_count >= 2 AND CAST(ROUND(total * 100) AS BIGINT) % 500 = 0)"
    ),
}
PASSING_COLUMNS = {
    "postgresql": "total > 100, items_count >= 2, total % 5 = 0",
    "sqlite": "total > 100, items_count >= 2, CAST(ROUND(total * 100) AS BIGINT) % 500 = 0",
}


def ensure_orders(args: argparse.Namespace, rows: int) -> None:
    """Fill the orders table up to *rows* orders with ``seed_orders --count``."""
    from django.core.management import call_command

    from orders.models import Order

    missing = rows - Order.objects.count()
    if missing > 0:
        call_command("seed_orders", count=missing, seed=args.seed, verbosity=0)


def hand_written_count() -> int:
    """Count the failing orders with one hand-written SQL query."""
    from django.db import connection

    from orders.models import Order

    table, condition = Order._meta.db_table, FAILING_CONDITION[connection.vendor]
    # Constant SQL: the model's table name and a fragment from this module.
    sql = f"SELECT COUNT(*) FROM {table} WHERE {condition}"  # noqa: S608  # nosec B608
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return int(cursor.fetchone()[0])


def hand_written_report() -> int:
    """Write the report's JSON lines from one hand-written SQL query; return the rows."""
    from django.db import connection, transaction

    from orders.models import Order

    table, columns = Order._meta.db_table, PASSING_COLUMNS[connection.vendor]
    sql = f"SELECT id, {columns} FROM {table} ORDER BY id"  # noqa: S608  # nosec B608
    rows = 0
    json.dumps({"columns": ["order_id", *RULES, "passed"]})
    with transaction.atomic(), connection.chunked_cursor() as cursor:
        cursor.execute(sql)
        while batch := cursor.fetchmany(2000):
            for pk, over_100, two_items, by_5 in batch:
                passed = bool(over_100) and bool(two_items) and bool(by_5)
                json.dumps([pk, bool(over_100), bool(two_items), bool(by_5), passed])
                rows += 1
    return rows


def analyst_client() -> Any:
    """Return a test client sending a new API key with the ``analyze`` scope."""
    from django.test import Client

    from api.models import ClientKey

    _, key = ClientKey.objects.create_key(name="bench", scopes=["analyze"])
    return Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Api-Key {key}")


def api_count(client: Any) -> tuple[int, str]:
    """Count the failing orders through ``POST /rules/query/``."""
    response = client.post(
        "/rules/query/",
        {"rules": RULES, "outcome": "failed", "page_size": 1},
        content_type="application/json",
    )
    body = response.json()
    return body["count"], body["evaluated_in"]


def api_report(client: Any) -> tuple[int, str]:
    """Read the whole of ``POST /rules/report/``; return its rows and where it ran."""
    response = client.post("/rules/report/", {"rules": RULES}, content_type="application/json")
    lines = sum(chunk.count(b"\n") for chunk in response.streaming_content)
    # The first line names the columns.
    return lines - 1, response["X-Evaluated-In"]


def python_count() -> int:
    """Count the failing orders with the Python engine over an iterator."""
    from orders.models import Order
    from rules.engine import Resolver

    check = Resolver().resolve(RULES).check
    return sum(
        not check.run(order, explain=False).passed
        for order in Order.objects.iterator(chunk_size=2000)
    )


def report_peak_mib(client: Any) -> float:
    """Return the peak of Python allocations while the report streams, in MiB."""
    tracemalloc.start()
    try:
        api_report(client)
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def measure_query(args: argparse.Namespace) -> None:
    """Time the query and the report against hand-written SQL, and the Python engine."""
    from django.db import connection

    client = analyst_client()
    ensure_orders(args, args.rows)
    seconds, answers = timed_rounds(
        {
            "sql_count": hand_written_count,
            "api_query": lambda: api_count(client),
            "sql_report": hand_written_report,
            "api_report": lambda: api_report(client),
            "python_count": python_count,
        },
        args.repeat,
    )
    if not answers["api_query"][0] == answers["sql_count"] == answers["python_count"]:
        raise RuntimeError(f"the counts differ: {answers}")
    if answers["api_report"][0] != answers["sql_report"]:
        raise RuntimeError(f"the reports differ in rows: {answers}")
    query_ratio = ratio(seconds["api_query"], seconds["sql_count"])
    report_ratio = ratio(seconds["api_report"], seconds["sql_report"])
    logger.info(
        "bulk measured",
        extra={
            "measurement": "query",
            "database": connection.vendor,
            "rows": args.rows,
            "repeats": args.repeat,
            "failing": answers["sql_count"],
            "evaluated_in": [answers["api_query"][1], answers["api_report"][1]],
            **{f"{name}_s": Spread.of(runs).as_dict(4) for name, runs in seconds.items()},
            "query_ratio": query_ratio.as_dict(2),
            "report_ratio": report_ratio.as_dict(2),
            "target": QUERY_TARGET_RATIO,
            "met": max(query_ratio.median, report_ratio.median) <= QUERY_TARGET_RATIO,
            "python_vs_query": ratio(seconds["python_count"], seconds["api_query"]).as_dict(1),
        },
    )


# "Some line of category X with quantity above 2", by the rule below and by hand.
LINE_CATEGORY = "alcohol"
LINE_QUANTITY_ABOVE = 2
# Hand-written SQL in three forms: an EXISTS per order, the orders IN the
# matching lines', and the matching lines' distinct orders (the table names
# are the models', the values parameters).
LINES_EXISTS_SQL = (
    "SELECT COUNT(*) FROM {orders} o WHERE EXISTS (SELECT 1 FROM {lines} l"
    " WHERE l.order_id = o.id AND l.category = %s AND l.quantity > %s)"
)
LINES_IN_SQL = (
    "SELECT COUNT(*) FROM {orders} WHERE id IN (SELECT order_id FROM {lines}"
    " WHERE category = %s AND quantity > %s)"
)
LINES_DISTINCT_SQL = (
    "SELECT COUNT(DISTINCT order_id) FROM {lines} WHERE category = %s AND quantity > %s"
)
LINES_BY_HAND = {"exists": LINES_EXISTS_SQL, "in": LINES_IN_SQL, "distinct": LINES_DISTINCT_SQL}


@functools.cache
def line_rule_checks() -> dict[str, Any]:
    """Return the checks of the lines query: a stored condition rule, and a code rule to compare.

    ``condition`` is the stored condition ``{"some": [lines, category ==
    X and quantity > 2]}``, as an operator would write it (its SQL is the
    lines' orders, ``pk IN (...)``); ``exists`` is a code rule, local to the
    bench, whose ``as_q()`` is the correlated ``Exists`` form, to compare.
    Defined once Django is set up: defining a rule registers it.
    """
    from django.db.models import Exists, OuterRef, Q

    from orders.models import OrderLine
    from rules.engine import BaseRule, Resolver
    from rules.models import ConditionRule
    from rules.resolver import resolver

    def matching_lines() -> Any:
        return OrderLine.objects.filter(category=LINE_CATEGORY, quantity__gt=LINE_QUANTITY_ABOVE)

    class SomeLineOfCategoryRule(BaseRule):
        """Passes when some line is of ``LINE_CATEGORY`` with more than 2 units."""

        name = "bench_some_line_of_category"
        description = f"Some line of {LINE_CATEGORY} has more than {LINE_QUANTITY_ABOVE} units."

        def evaluate(self, order: Any) -> bool:
            """Return whether a line matches."""
            return any(
                line.category == LINE_CATEGORY and line.quantity > LINE_QUANTITY_ABOVE
                for line in order.lines
            )

        def as_q(self) -> Q:
            """Return the rule as an ``EXISTS`` over the order's lines."""
            return Q(Exists(matching_lines().filter(order=OuterRef("pk"))))

    line = {
        "and": [
            {"==": [{"var": "category"}, LINE_CATEGORY]},
            {">": [{"var": "quantity"}, LINE_QUANTITY_ABOVE]},
        ]
    }
    ConditionRule.objects.update_or_create(
        name="bench_some_line",
        defaults={
            "description": SomeLineOfCategoryRule.description,
            "condition": {"some": [{"var": "lines"}, line]},
        },
    )
    return {
        "condition": resolver.resolve(["bench_some_line"]).check,
        "exists": Resolver().resolve([SomeLineOfCategoryRule.name]).check,
    }


def lines_query_ours(form: str) -> tuple[int, str]:
    """Count the orders with a matching line through ``rules.analysis.orders_matching``."""
    from orders.models import Order
    from rules.analysis import orders_matching

    page = orders_matching(
        line_rule_checks()[form], Order.objects.all(), outcome="passed", page_size=1, cursor=None
    )
    return page.count, page.evaluated_in


def lines_sql(form: str) -> str:
    """Return a hand-written form of the lines query, with the models' table names."""
    from orders.models import Order, OrderLine

    return form.format(orders=Order._meta.db_table, lines=OrderLine._meta.db_table)


def lines_query_by_hand(form: str) -> int:
    """Count the orders with a matching line with one hand-written SQL query."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(lines_sql(form), [LINE_CATEGORY, LINE_QUANTITY_ABOVE])
        return int(cursor.fetchone()[0])


def query_plans() -> dict[str, list[str]]:
    """Return the database's plan of each form of the lines query, ours included."""
    from django.db import connection

    from orders.models import Order
    from rules.analysis import passing_q

    explain = "EXPLAIN" if connection.vendor == "postgresql" else "EXPLAIN QUERY PLAN"
    plans = {
        f"ours_{form}": Order.objects.filter(passing_q(check)).order_by().explain().splitlines()
        for form, check in line_rule_checks().items()
    }
    with connection.cursor() as cursor:
        for name, form in LINES_BY_HAND.items():
            cursor.execute(f"{explain} {lines_sql(form)}", [LINE_CATEGORY, LINE_QUANTITY_ABOVE])
            plans[name] = [str(row[-1]) for row in cursor.fetchall()]
    return plans


def measure_lines_query(args: argparse.Namespace) -> None:
    """Time "some line of category X with quantity above 2" against hand-written SQL.

    The floor, in each round, is the faster of the hand-written forms that
    select orders (``EXISTS``, ``IN``); ``sql_distinct`` counts ids alone.
    Ours is the stored condition; ``ours_exists``, a code rule whose
    database form is a correlated ``EXISTS``, for comparison.
    """
    from django.db import connection

    ensure_orders(args, args.rows)
    by_hand = {
        f"sql_{name}": functools.partial(lines_query_by_hand, form)
        for name, form in LINES_BY_HAND.items()
    }
    seconds, answers = timed_rounds(
        {
            **by_hand,
            "ours": functools.partial(lines_query_ours, "condition"),
            "ours_exists": functools.partial(lines_query_ours, "exists"),
        },
        args.repeat,
    )
    counts = {
        answers["ours"][0],
        answers["ours_exists"][0],
        *(answers[name] for name in by_hand),
    }
    if len(counts) != 1:
        raise RuntimeError(f"the counts differ: {answers}")
    floor = [min(pair) for pair in zip(seconds["sql_exists"], seconds["sql_in"], strict=True)]
    lines_ratio = ratio(seconds["ours"], floor)
    logger.info(
        "bulk measured",
        extra={
            "measurement": "lines_query",
            "database": connection.vendor,
            "rows": args.rows,
            "repeats": args.repeat,
            "matching": answers["sql_exists"],
            "evaluated_in": answers["ours"][1],
            **{f"{name}_s": Spread.of(runs).as_dict(6) for name, runs in seconds.items()},
            "ratio": lines_ratio.as_dict(2),
            "ratio_to_exists": ratio(seconds["ours"], seconds["sql_exists"]).as_dict(2),
            "ratio_to_distinct": ratio(seconds["ours"], seconds["sql_distinct"]).as_dict(2),
            "ours_exists_ratio": ratio(seconds["ours_exists"], floor).as_dict(2),
            "target": QUERY_TARGET_RATIO,
            "met": lines_ratio.median <= QUERY_TARGET_RATIO,
            "plans": query_plans(),
        },
    )


def measure_memory(args: argparse.Namespace) -> None:
    """Log the report's peak Python memory at a tenth of the rows and at all of them."""
    from django.db import connection

    client = analyst_client()
    empty_orders_table()
    peaks = {}
    for rows in (args.rows // 10, args.rows):
        ensure_orders(args, rows)
        # Untraced first: what the first report imports and caches is no growth.
        api_report(client)
        peaks[rows] = Spread.of(report_peak_mib(client) for _ in range(args.repeat))
    logger.info(
        "bulk measured",
        extra={
            "measurement": "report_memory",
            "database": connection.vendor,
            "repeats": args.repeat,
            "peak_mib_by_rows": {rows: peak.as_dict(2) for rows, peak in peaks.items()},
            "growth": round(peaks[args.rows].median / peaks[args.rows // 10].median, 2),
        },
    )


MEASUREMENTS: dict[str, Callable[[argparse.Namespace], None]] = {
    "seed": measure_seed,
    "query": measure_query,
    "lines_query": measure_lines_query,
    "memory": measure_memory,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; return 1 if a database could not be measured, else 0."""
    args = parse_args(argv)
    if args.leg:
        return run_leg(args)
    configure_logging()
    failed = [db for db in args.databases if run_database(db, args) != 0]
    if failed:
        logger.error("measurement failed", extra={"databases": failed})
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
