"""Measure where putting a check on the record goes: its Python, and each part of its write.

Run ``.venv/bin/python bench/decision_log.py --database sqlite`` (or
``postgresql``: on the PostgreSQL of ``DATABASE_URL``, or on a throw-away
cluster, the script running itself again under ``scripts/with-postgres.sh``,
in a database of its own made there and dropped after; SQLite in a file of a
temporary folder). It migrates, seeds ``--orders``
realistic orders (``seed_orders --count``, seed 1), checks them against the
three built-in rules once, and times ``record_checks``, what a check calls
to put itself on the record, as ``POST /rules/check/`` calls it (one order at
a time, the first three in turn) and as the batch does (all of them at once),
in ``--rounds`` rounds that alternate the two. It does so in four steps on
the same database, each without one more part of what a decision costs:

``as is``
    the table as migrate leaves it;
``no outcome trigger``
    without the trigger that writes a row per rule that did not pass
    (``decisions_decisionoutcome``, migration 0002);
``no indexes``
    and without the three indexes by time, order and rule set;
``JSON as text`` (PostgreSQL only)
    and with the JSON columns as text: what parsing JSON into ``jsonb`` costs.

Besides, it times the Python that builds the record's entries (the order's
snapshot, the results) without writing them. Every figure is a median, in
microseconds per decision; the steps' differences say what each part costs.
Nothing here is a target: ``bench/check_throughput.py`` has those.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.spread import Spread, repeats

REPO_ROOT = Path(__file__).resolve().parent.parent
logger = logging.getLogger("bench.decision_log")

RULES = ("min_total_100", "min_items_2", "divisible_by_5")
INDEXES = ("decision_decided_at_idx", "decision_order_idx", "decision_ruleset_idx")
JSON_COLUMNS = ("snapshot", "rules", "results", "outcomes")
# Single checks and batches timed per round and step: enough for a steady median.
SINGLES = 300
BATCHES = 3


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Return the command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--orders", type=int, default=1000, help="orders of the batch (1000)")
    parser.add_argument(
        "--rounds", type=repeats, default=5, help="timed rounds per step, at least 3 (5)"
    )
    args = parser.parse_args(argv)
    if args.orders < 3:
        parser.error("need --orders >= 3")
    return args


def steps(vendor: str) -> list[tuple[str, list[str]]]:
    """Return each step's name and the statements that take its part away, in order."""
    on_table = " ON decisions_decision" if vendor == "postgresql" else ""
    taken = [
        ("as is", []),
        ("no outcome trigger", [f"DROP TRIGGER decisions_outcome_rows_insert{on_table}"]),
        ("no indexes", [f"DROP INDEX {index}" for index in INDEXES]),
    ]
    if vendor == "postgresql":
        columns = ", ".join(f"ALTER COLUMN {column} TYPE text" for column in JSON_COLUMNS)
        taken.append(("JSON as text", [f"ALTER TABLE decisions_decision {columns}"]))
    return taken


def time_step(
    record: Callable[[Sequence[Any]], None], checked: Sequence[Any], rounds: int
) -> tuple[Spread, Spread]:
    """Return the microseconds of a single check's record and of a batch's, per decision.

    Each of *rounds* records the first three checks in turn, one request
    each, ``SINGLES`` times, and all the checks in one request, ``BATCHES``
    times, in alternating order; a round gives the median of each.
    """
    singles: list[float] = []
    batches: list[float] = []
    for index in range(rounds):
        for side in ("singles", "batch") if index % 2 == 0 else ("batch", "singles"):
            if side == "singles":
                times = [timed(lambda i=i: record([checked[i % 3]])) for i in range(SINGLES)]
                singles.append(statistics.median(times) * 1e6)
            else:
                times = [timed(lambda: record(checked)) for _ in range(BATCHES)]
                batches.append(statistics.median(times) / len(checked) * 1e6)
    return Spread.of(singles), Spread.of(batches)


def timed(call: Callable[[], object]) -> float:
    """Return the seconds *call* took."""
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def measure(args: argparse.Namespace) -> int:
    """Seed, check, then time the record's Python and each step's writes; return 0."""
    import django
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    django.setup()
    from orders.facts import snapshot
    from orders.selectors import orders_facts_in_bulk
    from rules.budgets import BudgetError
    from rules.engine.checks import RuleSpec
    from rules.recording import record_checks, results_as_recorded, rule_heads
    from rules.resolver import resolver

    call_command("migrate", verbosity=0)
    call_command("seed_orders", "--count", str(args.orders), "--seed", "1", verbosity=0)
    specs = [RuleSpec(name=name) for name in RULES]
    check, _ = resolver.resolve(specs, ruleset=None, version=None, active_only=True)
    orders = orders_facts_in_bulk(list(range(1, args.orders + 1)), now=timezone.now())
    checked = [(order, check.run(order, fail_fast=False)) for order in orders.values()]

    def record(some: Sequence[tuple[object, object]]) -> None:
        """Put *some* checks on the record as a request does."""
        record_checks(
            caller="anonymous",
            check=check,
            ruleset=None,
            rules=specs,
            fail_fast=False,
            checked=some,
            refusal=BudgetError,
        )

    def build() -> None:
        """Build the batch's entries as record_checks does, writing nothing."""
        heads = rule_heads(check)
        for order, result in checked:
            snapshot(order)
            results_as_recorded(result, heads)

    build()
    builds = Spread.of(timed(build) / len(checked) * 1e6 for _ in range(args.rounds))
    report("python: entries built", per_decision_us=builds)
    failed = sum(not result.passed for _, result in checked)
    report("orders", batch=len(checked), failed=failed, database=connection.vendor)
    for name, statements in steps(connection.vendor):
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
        record(checked)
        single, batch = time_step(record, checked, args.rounds)
        report(name, single_us=single, batch_per_decision_us=batch)
    return 0


def report(what: str, **figures: object) -> None:
    """Write one line of figures, readable and as JSON fields of the log line."""
    shown = ", ".join(
        f"{name} {value.format('.1f')}" if isinstance(value, Spread) else f"{name} {value}"
        for name, value in figures.items()
    )
    fields = {
        name: value.as_dict(1) if isinstance(value, Spread) else value
        for name, value in figures.items()
    }
    logger.info("%s: %s", what, shown, extra={"bench": what, **fields})


def on_postgresql() -> bool:
    """Return whether ``DATABASE_URL`` names a PostgreSQL database."""
    return os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://"))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the measurement on the database asked for; return 0."""
    args = parse_args(argv)
    if args.database == "postgresql" and not on_postgresql():
        command = [sys.executable, str(Path(__file__).resolve()), *(argv or sys.argv[1:])]
        script = REPO_ROOT / "scripts" / "with-postgres.sh"
        return subprocess.run(["bash", str(script), *command], check=False).returncode
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-0123456789abcdef0123456789")
    os.environ["DECISION_LOG"] = "all"
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout, force=True)
    if args.database == "postgresql":
        with scratch_database(os.environ["DATABASE_URL"]) as url:
            os.environ["DATABASE_URL"] = url
            return measure(args)
    with tempfile.TemporaryDirectory(prefix="bench-decision-log-") as folder:
        os.environ["DATABASE_URL"] = f"sqlite:///{Path(folder) / 'db.sqlite3'}"
        return measure(args)


@contextmanager
def scratch_database(url: str) -> Iterator[str]:
    """Make a database of its own on *url*'s server, yield its URL, drop it after.

    The steps drop the log's trigger and indexes: never those of a database in use.
    """
    import psycopg2

    name = f"bench_decision_log_{os.getpid()}"
    server = psycopg2.connect(url)
    server.autocommit = True
    try:
        with server.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE {name}")
        try:
            yield urlunsplit(urlsplit(url)._replace(path=f"/{name}"))
        finally:
            from django.db import connections

            connections.close_all()
            with server.cursor() as cursor:
                cursor.execute(f"DROP DATABASE {name}")
    finally:
        server.close()


if __name__ == "__main__":
    sys.exit(main())
