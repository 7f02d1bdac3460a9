"""Migrations that change stored rows: what they leave behind."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE_SEVERITY_CHECKS = [("rules", "0007_record_existing_rows")]


def _migrate(targets: list[tuple[str, str]]):
    """Migrate the test database to *targets*; return the models as they are there."""
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor.loader.project_state(targets).apps


def test_unknown_severities_are_repaired_and_recorded_before_the_database_refuses_them():
    old = _migrate(BEFORE_SEVERITY_CHECKS)
    old.get_model("rules", "ConditionRule").objects.create(
        name="odd", description="Over 100.", severity="fatal", condition={"==": [1, 1]}
    )
    ruleset = old.get_model("rules", "RuleSet").objects.create(name="checkout")
    items = old.get_model("rules", "RuleSetItem").objects
    items.create(ruleset=ruleset, position=1, rule="min_items_2", severity="blocker")
    items.create(ruleset=ruleset, position=2, rule="min_total_100", severity="warning")

    latest = _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes("rules"))

    rule = latest.get_model("rules", "ConditionRule").objects.get()
    assert rule.severity == "error"
    severities = latest.get_model("rules", "RuleSetItem").objects.order_by("position")
    assert [item.severity for item in severities] == ["", "warning"]
    history = latest.get_model("rules", "HistoricalConditionRule").objects.get()
    assert (history.severity, history.history_change_reason) == (
        "error",
        "Unknown severity 'fatal' repaired",
    )
    [item_history] = latest.get_model("rules", "HistoricalRuleSetItem").objects.all()
    assert (item_history.rule, item_history.history_change_reason) == (
        "min_items_2",
        "Unknown severity 'blocker' repaired",
    )
