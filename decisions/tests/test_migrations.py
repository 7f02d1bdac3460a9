"""Migrations that add to the decision log: what they make of the rows already there."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE_OUTCOME_ROWS = [("decisions", "0001_initial")]
PLACED = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


def _migrate(targets: list[tuple[str, str]]):
    """Migrate the test database to *targets*; return the models as they are there."""
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor.loader.project_state(targets).apps


def test_decisions_recorded_before_the_index_are_in_it_by_the_rules_that_did_not_pass():
    old = _migrate(BEFORE_OUTCOME_ROWS)
    decision = old.get_model("decisions", "Decision").objects.create(
        decided_at=PLACED,
        caller="anonymous",
        total=Decimal("150.00"),
        items_count=3,
        created_at=PLACED,
        rules=[],
        results=[],
        outcomes={"min_total_100": "failed", 'a "b"': "error", "big": "passed"},
        passed=False,
    )

    latest = _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes("decisions"))

    rows = latest.get_model("decisions", "DecisionOutcome").objects.order_by("rule")
    assert [(row.decision_id, row.rule, row.outcome, row.decided_at) for row in rows] == [
        (decision.pk, 'a "b"', "error", PLACED),
        (decision.pk, "min_total_100", "failed", PLACED),
    ]


@pytest.mark.postgres
def test_partitioning_keeps_the_decisions_there_in_a_legacy_partition_and_reverses():
    leaf = MigrationExecutor(connection).loader.graph.leaf_nodes("decisions")
    old = _migrate([("decisions", "0003_snapshot")])
    recorded = old.get_model("decisions", "Decision").objects.create(
        decided_at=PLACED,
        caller="anonymous",
        snapshot={},
        rules=[],
        results=[],
        outcomes={"min_total_100": "failed"},
        passed=False,
    )

    latest = _migrate(leaf)
    Decision = latest.get_model("decisions", "Decision")
    newer = Decision.objects.create(
        caller="anonymous", snapshot={}, rules=[], results=[], outcomes={}, passed=True
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, tableoid::regclass::text FROM decisions_decision ORDER BY id")
        placed = cursor.fetchall()
        cursor.execute("SELECT tableoid::regclass::text FROM decisions_decisionoutcome")
        outcome_rows = cursor.fetchall()

    assert placed[0] == (recorded.pk, "decisions_decision_legacy")
    assert newer.pk > recorded.pk
    assert outcome_rows == [("decisions_decisionoutcome_legacy",)]

    back = _migrate([("decisions", "0003_snapshot")])
    assert sorted(
        back.get_model("decisions", "Decision").objects.values_list("pk", flat=True)
    ) == [
        recorded.pk,
        newer.pk,
    ]
    assert back.get_model("decisions", "DecisionOutcome").objects.get().decision_id == recorded.pk
    _migrate(leaf)
