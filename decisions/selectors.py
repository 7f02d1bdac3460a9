"""Reading decisions: one, how often each rule did not pass day by day, the log's size."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db import connections
from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.http import Http404
from django.utils import timezone

from decisions.models import Decision, RecordedOutcome


def decision_get(pk: int) -> Decision:
    """Return the decision with id *pk*; raise ``Http404`` if there is none."""
    decision = Decision.objects.filter(pk=pk).first()
    if decision is None:
        raise Http404(f"Decision with id {pk} does not exist.")
    return decision


def decision_log_size() -> int:
    """Return the bytes the decision log takes in the database, cheaply enough for a scrape.

    On PostgreSQL that is the decisions table with its indexes and TOAST
    (``pg_total_relation_size``), each of its partitions. SQLite can size one table only by reading
    every page of it (``dbstat``, where it is built in at all), so there it
    is the whole database file, which the decisions fill: its pages x their
    size.
    """
    connection = connections[Decision.objects.db]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Partitioned, the table itself is empty: its partitions hold the rows.
            cursor.execute(
                "SELECT sum(pg_total_relation_size(relid)) FROM pg_partition_tree(%s)",
                [Decision._meta.db_table],
            )
        else:
            cursor.execute(
                "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()"
            )
        return int(cursor.fetchone()[0])


@dataclass(frozen=True)
class RuleDays:
    """How often one rule failed or errored, each day of a stretch, oldest day first."""

    rule: str
    failed: list[int]
    errored: list[int]

    @property
    def failed_total(self) -> int:
        """Return the failures of the whole stretch."""
        return sum(self.failed)

    @property
    def errored_total(self) -> int:
        """Return the errors of the whole stretch."""
        return sum(self.errored)

    @property
    def total(self) -> int:
        """Return the failures and errors of the whole stretch."""
        return self.failed_total + self.errored_total


def decision_failures_by_day(*, rules: list[str], days: list[date]) -> list[RuleDays]:
    """Count, per rule and per day, the recorded decisions where it failed or errored.

    *rules* are rule keys as decisions record them (a rule's name unless a
    check gave it an ``as``); *days* are consecutive local days. One query,
    grouped by day, reads each rule's outcome from the decisions' ``outcomes``.
    Sorted by the stretch's total, most first.
    """
    start = timezone.make_aware(datetime.combine(days[0], time.min))
    end = timezone.make_aware(datetime.combine(days[-1] + timedelta(days=1), time.min))
    keyed = (
        Decision.objects.filter(decided_at__gte=start, decided_at__lt=end)
        .annotate(day=TruncDate("decided_at", tzinfo=timezone.get_current_timezone()))
        .alias(**{f"rule_{i}": RecordedOutcome(rule) for i, rule in enumerate(rules)})
    )
    counts: dict[str, Count] = {}
    for index in range(len(rules)):
        counts[f"failed_{index}"] = Count("pk", filter=Q(**{f"rule_{index}": "failed"}))
        counts[f"errored_{index}"] = Count("pk", filter=Q(**{f"rule_{index}": "error"}))
    by_day = {
        row.pop("day"): row for row in keyed.values("day").annotate(**counts).order_by("day")
    }
    empty = dict.fromkeys(counts, 0)
    series = [
        RuleDays(
            rule,
            [by_day.get(day, empty)[f"failed_{index}"] for day in days],
            [by_day.get(day, empty)[f"errored_{index}"] for day in days],
        )
        for index, rule in enumerate(rules)
    ]
    return sorted(series, key=lambda days_of_rule: -days_of_rule.total)
