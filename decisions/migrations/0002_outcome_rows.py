"""Index the decision log by the rules that did not pass, kept by the database itself.

Triggers on ``decisions_decision`` write ``decisions_decisionoutcome``: after
an INSERT, one row per key of each new decision's ``outcomes`` whose outcome
is not ``passed`` (its rule key, the outcome and the decision's time), in the
same statement; after a DELETE, they remove the deleted decisions' rows,
found by rule, outcome, time and id (the index). On PostgreSQL the insert
trigger runs for each row with such an outcome (its condition is checked
without calling the function: a decision whose rules all passed costs about
10 us, not 30 as a trigger per statement did) and the delete trigger once per
statement (a transition table); SQLite runs both for each row. The decisions already recorded get their rows here, in
one statement, which on a large log takes a while (about a second per
hundred thousand decisions on SQLite).
"""

import django.db.models.deletion
from django.db import migrations, models

SQLITE = {
    "install": [
        """
        CREATE TRIGGER decisions_outcome_rows_insert
        AFTER INSERT ON decisions_decision
        BEGIN
            INSERT INTO decisions_decisionoutcome (decision_id, rule, outcome, decided_at)
            SELECT NEW.id, outcome.key, outcome.value, NEW.decided_at
            FROM json_each(NEW.outcomes) AS outcome
            WHERE outcome.value <> 'passed';
        END
        """,
        """
        CREATE TRIGGER decisions_outcome_rows_delete
        AFTER DELETE ON decisions_decision
        BEGIN
            DELETE FROM decisions_decisionoutcome
            WHERE (rule, outcome) IN (SELECT key, value FROM json_each(OLD.outcomes))
                AND decided_at = OLD.decided_at AND decision_id = OLD.id;
        END
        """,
        """
        INSERT INTO decisions_decisionoutcome (decision_id, rule, outcome, decided_at)
        SELECT decision.id, outcome.key, outcome.value, decision.decided_at
        FROM decisions_decision AS decision, json_each(decision.outcomes) AS outcome
        WHERE outcome.value <> 'passed'
        """,
    ],
    "remove": [
        "DROP TRIGGER decisions_outcome_rows_insert",
        "DROP TRIGGER decisions_outcome_rows_delete",
    ],
}
POSTGRESQL = {
    "install": [
        """
        CREATE FUNCTION decisions_outcome_rows_insert() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO decisions_decisionoutcome (decision_id, rule, outcome, decided_at)
            SELECT NEW.id, outcome.key, outcome.value, NEW.decided_at
            FROM jsonb_each_text(NEW.outcomes) AS outcome
            WHERE outcome.value <> 'passed';
            RETURN NULL;
        END
        $$
        """,
        """
        CREATE TRIGGER decisions_outcome_rows_insert
        AFTER INSERT ON decisions_decision FOR EACH ROW
        WHEN (jsonb_path_exists(NEW.outcomes, '$.* ? (@ != "passed")'))
        EXECUTE FUNCTION decisions_outcome_rows_insert()
        """,
        """
        CREATE FUNCTION decisions_outcome_rows_delete() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            DELETE FROM decisions_decisionoutcome AS indexed
            USING deleted, jsonb_each_text(deleted.outcomes) AS outcome
            WHERE indexed.rule = outcome.key AND indexed.outcome = outcome.value
                AND indexed.decided_at = deleted.decided_at
                AND indexed.decision_id = deleted.id;
            RETURN NULL;
        END
        $$
        """,
        """
        CREATE TRIGGER decisions_outcome_rows_delete
        AFTER DELETE ON decisions_decision REFERENCING OLD TABLE AS deleted
        FOR EACH STATEMENT EXECUTE FUNCTION decisions_outcome_rows_delete()
        """,
        """
        INSERT INTO decisions_decisionoutcome (decision_id, rule, outcome, decided_at)
        SELECT decision.id, outcome.key, outcome.value, decision.decided_at
        FROM decisions_decision AS decision, jsonb_each_text(decision.outcomes) AS outcome
        WHERE outcome.value <> 'passed'
        """,
    ],
    "remove": [
        "DROP TRIGGER decisions_outcome_rows_insert ON decisions_decision",
        "DROP FUNCTION decisions_outcome_rows_insert()",
        "DROP TRIGGER decisions_outcome_rows_delete ON decisions_decision",
        "DROP FUNCTION decisions_outcome_rows_delete()",
    ],
}
VENDORS = {"sqlite": SQLITE, "postgresql": POSTGRESQL}


def _run(step):
    """Return a migration function running *step*'s statements for the database's vendor."""

    def run(apps, schema_editor):
        for statement in VENDORS[schema_editor.connection.vendor][step]:
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("decisions", "0001_initial")]

    operations = [
        migrations.CreateModel(
            name="DecisionOutcome",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("rule", models.TextField(help_text="The rule's key: its `as`, else its name.")),
                (
                    "outcome",
                    models.CharField(help_text="Any but `passed`.", max_length=10),
                ),
                (
                    "decided_at",
                    models.DateTimeField(help_text="The decision's time, for paging by rule."),
                ),
                (
                    "decision",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="outcome_rows",
                        to="decisions.decision",
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(
                        fields=["rule", "outcome", "-decided_at", "-decision"],
                        name="decision_outcome_rule_idx",
                    ),
                ],
            },
        ),
        migrations.RunPython(_run("install"), _run("remove")),
    ]
