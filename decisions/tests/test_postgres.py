"""On PostgreSQL, filtering a million decisions by order, time or rule answers from an index.

``make test-postgres`` runs these (a throw-away cluster); ``make test``
deselects them by their marker.
"""

from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from decisions.filters import DecisionFilter
from decisions.models import Decision
from decisions.pagination import DecisionCursorPagination

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

DECISIONS = 1_000_000
ORDERS = 50_000
# One decision every 30 seconds, the newest now (about a year), 20 per order; each
# ran min_total_100, which failed one time in three (the triggers index it by rule).
FILL = """
INSERT INTO decisions_decision (
    decided_at, caller, request_id, order_id, snapshot,
    ruleset, ruleset_version, rules, fail_fast, results, outcomes, passed
)
SELECT now() - g * interval '30 seconds', 'anonymous', '', g %% %(orders)s + 1,
       jsonb_build_object('total', '10.00', 'items_count', 1),
       '', NULL, '[]'::jsonb, false, '[]'::jsonb,
       jsonb_build_object('min_total_100', CASE WHEN g %% 3 <> 0 THEN 'passed' ELSE 'failed' END),
       g %% 3 <> 0
FROM generate_series(1, %(decisions)s) AS g
"""


@pytest.fixture(scope="module")
def a_million_decisions(django_db_setup, django_db_blocker) -> Iterator[None]:
    """Store a million decisions in one statement, with statistics; remove them after."""
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(FILL, {"orders": ORDERS, "decisions": DECISIONS})
        cursor.execute("ANALYZE decisions_decision")
        cursor.execute("ANALYZE decisions_decisionoutcome")
    yield
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute("TRUNCATE decisions_decision, decisions_decisionoutcome")


def _plan(query: dict[str, str]) -> str:
    """Return the plan of the first page the API reads for *query*."""
    queryset = DecisionFilter(data=query, queryset=Decision.objects.defer("results", "rules")).qs
    ordering = DecisionCursorPagination().get_ordering(None, queryset, None)
    return queryset.order_by(*ordering)[: DecisionCursorPagination.page_size + 1].explain()


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
    end = timezone.now() - timedelta(days=100)
    times = {"{hour_before}": (end - timedelta(hours=1)).isoformat(), "{end}": end.isoformat()}

    plan = _plan({name: times.get(value, value) for name, value in query.items()})

    reads = (
        f"Index Scan using {index}",
        f"Index Only Scan using {index}",
        f"Index Scan on {index}",
    )
    assert any(read in plan for read in reads), plan
    assert "Seq Scan" not in plan, plan
