"""On PostgreSQL, filtering a million decisions by order, time or rule answers from an index.

The decisions span 35 daily partitions: a filter by time reads only the
partitions of its days (pruning), and each partition's own index. ``make
test-postgres`` runs these (a throw-away cluster); ``make test`` deselects
them by their marker.
"""

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from decisions.filters import DecisionFilter
from decisions.models import Decision
from decisions.pagination import DecisionCursorPagination
from decisions.partitions import partition_drop, partitions_create, partitions_list

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

DECISIONS = 1_000_000
ORDERS = 50_000
DAYS = 35
# One decision every 3 seconds back from today's midnight (UTC; about 35 days), 20
# per order; each ran min_total_100, which failed one time in three (the triggers
# index it by rule). Counting back from midnight, not from now, leaves the oldest
# day's partition 17 hours of decisions whatever the time: counted from now, it held
# minutes of them some evenings, and the planner rightly read so small a table whole.
FILL = """
INSERT INTO decisions_decision (
    decided_at, caller, request_id, order_id, snapshot,
    ruleset, ruleset_version, rules, fail_fast, results, outcomes, passed
)
SELECT date_trunc('day', now(), 'UTC') - g * interval '3 seconds',
       'anonymous', '', g %% %(orders)s + 1,
       jsonb_build_object('total', '10.00', 'items_count', 1),
       '', NULL, '[]'::jsonb, false, '[]'::jsonb,
       jsonb_build_object('min_total_100', CASE WHEN g %% 3 <> 0 THEN 'passed' ELSE 'failed' END),
       g %% 3 <> 0
FROM generate_series(1, %(decisions)s) AS g
"""


@pytest.fixture(scope="module")
def a_million_decisions(django_db_setup, django_db_blocker) -> Iterator[None]:
    """Store a million decisions in one statement, with statistics; remove them after.

    Their days' partitions are made first, so that none lands in the DEFAULT
    one, and dropped after, so that the tests that follow find the log as
    migrate left it.
    """
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        first_day = datetime.now(UTC).date() - timedelta(days=DAYS)
        made = partitions_create(connection, ahead=DAYS, today=first_day).made
        cursor.execute(FILL, {"orders": ORDERS, "decisions": DECISIONS})
        cursor.execute("ANALYZE decisions_decision")
        cursor.execute("ANALYZE decisions_decisionoutcome")
    yield
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute("TRUNCATE decisions_decision, decisions_decisionoutcome")
        for partition in partitions_list(connection):
            if partition.name in made:
                partition_drop(connection, partition)


def _plan(query: dict[str, str]) -> str:
    """Return the plan of the first page the API reads for *query*."""
    queryset = DecisionFilter(data=query, queryset=Decision.objects.defer("results", "rules")).qs
    ordering = DecisionCursorPagination().get_ordering(None, queryset, None)
    return queryset.order_by(*ordering)[: DecisionCursorPagination.page_size + 1].explain()


def _partition_indexes(index: str) -> set[str]:
    """Return the names of the partitions' indexes made for the partitioned *index*."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT inhrelid::regclass::text FROM pg_inherits WHERE inhparent = %s::regclass",
            [index],
        )
        return {name for (name,) in cursor.fetchall()}


def _indexes_read(plan: str) -> set[str]:
    """Return the indexes that *plan* scans."""
    return set(re.findall(r"Index (?:Only )?Scan(?: Backward)? using (\S+)", plan))


def _seq_scanned(plan: str) -> set[str]:
    """Return the tables that *plan* reads whole."""
    return set(re.findall(r"Seq Scan on (\S+)", plan))


def _empty_partitions() -> set[str]:
    """Return the partitions of the decisions and their outcome rows that hold no row."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT child.relname FROM pg_inherits JOIN pg_class AS child ON child.oid = inhrelid
            WHERE inhparent IN ('decisions_decision'::regclass,
                                'decisions_decisionoutcome'::regclass)
                AND child.reltuples <= 0
            """
        )
        return {name for (name,) in cursor.fetchall()}


def _partitions_read(plan: str) -> set[str]:
    """Return the partitions of the decisions that *plan* reads."""
    return set(re.findall(r" on (decisions_decision_\w+)", plan))


@pytest.mark.parametrize(
    ("query", "index"),
    [
        ({"order_id": "4242"}, "decision_order_idx"),
        ({"created_min": "{hour_before}", "created_max": "{end}"}, "decision_decided_at_idx"),
        ({"order_id": "4242", "passed": "false"}, "decision_order_idx"),
        ({}, "decision_decided_at_idx"),
        ({"rule": "min_total_100", "outcome": "failed"}, "decision_outcome_rule_idx"),
        ({"rule": "min_total_100"}, "decision_decided_at_idx"),
        ({"rule": "min_total_100", "outcome": "passed"}, "decision_decided_at_idx"),
        ({"rule": "-1", "outcome": "failed"}, "decision_outcome_rule_idx"),
        ({"rule": "min_total_100", "order_id": "4242"}, "decision_order_idx"),
    ],
    ids=[
        "by order",
        "an hour",
        "by order and verdict",
        "newest",
        "by rule and outcome",
        "by rule",
        "by rule, passed",
        "by a key that never ran",
        "by rule and order",
    ],
)
def test_filtering_a_million_decisions_reads_an_index(a_million_decisions, query, index):
    end = timezone.now() - timedelta(days=10)
    times = {"{hour_before}": (end - timedelta(hours=1)).isoformat(), "{end}": end.isoformat()}

    plan = _plan({name: times.get(value, value) for name, value in query.items()})

    assert _indexes_read(plan) & _partition_indexes(index), plan
    # An empty partition (the days ahead, the DEFAULT) is read whole: it has no page.
    assert _seq_scanned(plan) <= _empty_partitions(), plan


def test_an_hour_of_decisions_is_read_from_its_days_partitions_only(a_million_decisions):
    end = timezone.now() - timedelta(days=10)
    query = {"created_min": (end - timedelta(hours=1)).isoformat(), "created_max": end.isoformat()}

    plan = _plan(query)

    days = {end - timedelta(hours=1), end}
    assert _partitions_read(plan) == {
        f"decisions_decision_p{moment.astimezone(UTC):%Y%m%d}" for moment in days
    }, plan
    assert _indexes_read(plan) <= _partition_indexes("decision_decided_at_idx"), plan
