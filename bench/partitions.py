"""Measure purging 30 days of the decision log on PostgreSQL: dropping partitions vs deleting.

Run ``.venv/bin/python bench/partitions.py`` (or ``make bench-partitions``).
On the PostgreSQL of ``DATABASE_URL``, or on a throw-away cluster (without
one the script runs itself again under ``scripts/with-postgres.sh``), it
migrates, makes a daily partition for each of ``--days`` days (90) and
seeds ``--decisions`` decisions (10,000,000) evenly over them with
``INSERT ... SELECT generate_series``, a day at a time: three rules each,
``min_total_100`` failing one time in three (so the triggers write an
outcome row for a third of them). Then it purges the oldest ``--purge-days``
(30) twice, on the same rows:

``delete``
    the batched row-by-row DELETE (``decisions_delete``, 10,000 a
    transaction, the outcome rows removed by the DELETE trigger), as the
    log was purged before it was partitioned;
``drop``
    the same days seeded again, then ``decisions_purge``: each day's
    partition, and its outcome rows' partition, detached and dropped.

It writes the decisions seeded, both times, the ratio, and the median time
of reading one decision by id (``decision_get``) over the partitions left,
each line also a JSON log line. Target: the drop at least 100 times faster.
It exits 1 if the target is missed or a purge leaves a decision or an
outcome row of the purged days.
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

logger = logging.getLogger("bench.partitions")

TARGET_RATIO = 100.0
LOOKUPS = 200
# One day of decisions: the rules' results and the order as a check records them.
SEED = """
INSERT INTO decisions_decision (
    decided_at, caller, request_id, order_id, snapshot,
    ruleset, ruleset_version, rules, fail_fast, results, outcomes, passed
)
SELECT %(start)s::timestamptz + (g - %(first)s) * %(step)s * interval '1 microsecond',
       'key:bench', 'bench-' || g, g %% 50000 + 1,
       jsonb_build_object('total', '75.50', 'items_count', 3,
                          'created_at', '2026-11-02T10:00:00+00:00',
                          'updated_at', '2026-11-02T10:00:00+00:00', 'currency', 'EUR'),
       'checkout', 3, NULL, false,
       jsonb_build_array(
           jsonb_build_object('rule', 'min_total_100', 'name', 'min_total_100',
                              'params', '{}'::jsonb,
                              'outcome', CASE WHEN g %% 3 = 0 THEN 'failed' ELSE 'passed' END,
                              'severity', 'error', 'message', 'The total is over 100.00.',
                              'facts', jsonb_build_object('total', '75.50')),
           jsonb_build_object('rule', 'min_items_2', 'name', 'min_items_2', 'params', '{}'::jsonb,
                              'outcome', 'passed', 'severity', 'error',
                              'message', 'At least 2 items.', 'facts', '{}'::jsonb),
           jsonb_build_object('rule', 'divisible_by_5', 'name', 'divisible_by_5',
                              'params', '{}'::jsonb, 'outcome', 'passed', 'severity', 'error',
                              'message', 'The total is a multiple of 5.', 'facts', '{}'::jsonb)),
       jsonb_build_object('min_total_100', CASE WHEN g %% 3 = 0 THEN 'failed' ELSE 'passed' END,
                          'min_items_2', 'passed', 'divisible_by_5', 'passed'),
       g %% 3 <> 0
FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS g
"""


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Return the command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=10_000_000, help="decisions seeded")
    parser.add_argument("--days", type=int, default=90, help="days they span, up to today")
    parser.add_argument("--purge-days", type=int, default=30, help="oldest days purged")
    args = parser.parse_args(argv)
    if not 1 <= args.purge_days < args.days or args.decisions < args.days:
        parser.error("need 1 <= --purge-days < --days <= --decisions")
    return args


def on_postgresql() -> bool:
    """Return whether ``DATABASE_URL`` names a PostgreSQL database."""
    return os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://"))


def seed(first_day: datetime, days: range, per_day: int) -> int:
    """Seed *per_day* decisions on each of *days* after *first_day*; return how many."""
    from django.db import connection

    step = int(timedelta(days=1) / timedelta(microseconds=1)) // per_day
    with connection.cursor() as cursor:
        for day in days:
            first = day * per_day + 1
            cursor.execute(
                SEED,
                {
                    "start": first_day + timedelta(days=day),
                    "first": first,
                    "last": first + per_day - 1,
                    "step": step,
                },
            )
        cursor.execute("ANALYZE decisions_decision")
        cursor.execute("ANALYZE decisions_decisionoutcome")
    return per_day * len(days)


def left_before(cut: datetime) -> tuple[int, int]:
    """Return the decisions and outcome rows made before *cut*."""
    from decisions.models import Decision, DecisionOutcome

    return (
        Decision.objects.filter(decided_at__lt=cut).count(),
        DecisionOutcome.objects.filter(decided_at__lt=cut).count(),
    )


def lookup_ms() -> float:
    """Return the median milliseconds of ``decision_get`` on random decisions."""
    from decisions.models import Decision
    from decisions.selectors import decision_get

    ids = list(Decision.objects.values_list("pk", flat=True).order_by("?")[:LOOKUPS])
    timings = []
    for pk in random.sample(ids, len(ids)):
        started = time.perf_counter()
        decision_get(pk)
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def measure(args: argparse.Namespace) -> int:
    """Seed, purge both ways, write the figures; return 1 on a miss or a leftover."""
    import django
    from django.core.management import call_command
    from django.db import connection

    django.setup()
    from decisions.partitions import partitions_create, partitions_list
    from decisions.services import decisions_delete, decisions_purge

    call_command("migrate", verbosity=0)
    today = datetime.now(UTC).date()
    first_day = datetime.combine(today - timedelta(days=args.days - 1), datetime.min.time(), UTC)
    cut = first_day + timedelta(days=args.purge_days)
    partitions_create(connection, ahead=args.days - 1, today=first_day.date())
    per_day = args.decisions // args.days

    started = time.perf_counter()
    seeded = seed(first_day, range(args.days), per_day)
    report("seeded", decisions=seeded, days=args.days, seconds=time.perf_counter() - started)

    purged = per_day * args.purge_days
    started = time.perf_counter()
    deleted = sum(decisions_delete(before=cut))
    delete_s = time.perf_counter() - started
    failures = left_before(cut) != (0, 0) or deleted != purged
    report("row-by-row delete", decisions=deleted, days=args.purge_days, seconds=delete_s)

    seed(first_day, range(args.purge_days), per_day)
    partitions = len(partitions_list(connection))
    started = time.perf_counter()
    steps = list(decisions_purge(before=cut))
    drop_s = time.perf_counter() - started
    dropped = [step for step in steps if step.partition]
    failures |= left_before(cut) != (0, 0) or len(dropped) != args.purge_days
    report("partition drop", decisions=purged, days=len(dropped), seconds=drop_s)

    ratio = delete_s / drop_s
    met = ratio >= TARGET_RATIO
    report("delete / drop", ratio=ratio, target=TARGET_RATIO, met=met)
    report(
        "decision by id",
        partitions=partitions - len(dropped),
        median_ms=lookup_ms(),
        lookups=LOOKUPS,
    )
    if failures:
        logger.error("a purge left decisions or outcome rows of the purged days")
    return 0 if met and not failures else 1


def report(what: str, **figures: object) -> None:
    """Write one line of figures, readable and as JSON fields of the log line."""
    shown = ", ".join(
        f"{name} {value:.3f}" if isinstance(value, float) else f"{name} {value}"
        for name, value in figures.items()
    )
    logger.info("%s: %s", what, shown, extra={"bench": what, **figures})


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark on PostgreSQL; return 1 on a missed target or a leftover row."""
    args = parse_args(argv)
    if not on_postgresql():
        command = [sys.executable, str(Path(__file__).resolve()), *(argv or sys.argv[1:])]
        script = REPO_ROOT / "scripts" / "with-postgres.sh"
        return subprocess.run(["bash", str(script), *command], check=False).returncode
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-0123456789abcdef0123456789")
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout, force=True)
    return measure(args)


if __name__ == "__main__":
    sys.exit(main())
