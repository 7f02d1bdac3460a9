"""On PostgreSQL, partition the decision log and its outcome rows by day of ``decided_at``.

Each of ``decisions_decision`` and ``decisions_decisionoutcome`` becomes a
table partitioned by range of ``decided_at`` (see ``decisions.partitions``)
with a DEFAULT partition and the partitions of today and the
``DECISION_PARTITIONS_AHEAD`` days after it. PostgreSQL wants the partition
key in every unique index, so the primary key becomes ``(id, decided_at)``;
ids still come from one sequence, so an id alone still names one decision
(Django's model keeps ``id`` as its primary key). The rows already there are
not copied: the old table becomes the ``_legacy`` partition, for every time
before the day after its newest decision, its indexes kept, so migrating a
large log builds one index (the new primary key's) and scans the table once;
``purge_decisions`` drops it whole once all of it is past the retention. An
empty old table is dropped. The triggers of migration 0002 move to the new
tables, the delete trigger's DELETE bounded by the deleted decisions' times.
SQLite keeps one table: nothing happens there. Reversed, the rows are copied
back into one table.
"""

import importlib
from datetime import UTC, datetime, time

from django.conf import settings
from django.db import migrations

from decisions.partitions import DAY, partitions_create

_OUTCOME_ROWS = importlib.import_module("decisions.migrations.0002_outcome_rows")
# 0002's PostgreSQL statements: [insert function, insert trigger, delete function,
# delete trigger, fill]; its removal: [drop insert trigger, drop insert function,
# drop delete trigger, drop delete function].
_MAKE_TRIGGERS = [_OUTCOME_ROWS.POSTGRESQL["install"][i] for i in (1, 3)]
_DROP_TRIGGERS = [_OUTCOME_ROWS.POSTGRESQL["remove"][i] for i in (0, 2)]
MODELS = (("decisions_decision", "Decision"), ("decisions_decisionoutcome", "DecisionOutcome"))
# 0002's delete trigger, bounded by the deleted decisions' times: as parameters of its
# DELETE, they let PostgreSQL read only the outcome partitions of those days, where a
# join on the transition table alone read every day's, whole, for each batch the purge
# deletes (the partition of the day the retention falls in, the DEFAULT one).
DELETE_FUNCTION = """
CREATE OR REPLACE FUNCTION decisions_outcome_rows_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    first_at timestamptz;
    last_at timestamptz;
BEGIN
    SELECT min(decided_at), max(decided_at) INTO first_at, last_at FROM deleted;
    DELETE FROM decisions_decisionoutcome AS indexed
    USING deleted, jsonb_each_text(deleted.outcomes) AS outcome
    WHERE indexed.decided_at BETWEEN first_at AND last_at
        AND indexed.rule = outcome.key AND indexed.outcome = outcome.value
        AND indexed.decided_at = deleted.decided_at
        AND indexed.decision_id = deleted.id;
    RETURN NULL;
END
$$
"""
UNBOUNDED_DELETE_FUNCTION = _OUTCOME_ROWS.POSTGRESQL["install"][2].replace(
    "CREATE FUNCTION", "CREATE OR REPLACE FUNCTION"
)


def _postgresql_only(function):
    """Return a migration function running *function* on PostgreSQL, and nothing elsewhere."""

    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            function(apps, schema_editor)

    return run


def _fetch(schema_editor, sql, params=()):
    """Return the first row of *sql*."""
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def _add_indexes(apps, schema_editor, table, model_name):
    """Make the model's primary key ``(id, decided_at)`` and its indexes on *table*."""
    schema_editor.execute(
        f"ALTER TABLE {table} ADD CONSTRAINT {table}_pkey PRIMARY KEY (id, decided_at)"
    )
    model = apps.get_model("decisions", model_name)
    for index in model._meta.indexes:
        schema_editor.add_index(model, index)


def partition(apps, schema_editor):
    """Make both tables partitioned, keep their rows as a legacy partition, make the days."""
    for statement in _DROP_TRIGGERS:
        schema_editor.execute(statement)
    newest = _fetch(schema_editor, "SELECT max(decided_at) FROM decisions_decision")[0]
    today = datetime.now(UTC).date()
    first_day = today if newest is None else max(today, newest.astimezone(UTC).date() + DAY)
    for table, model_name in MODELS:
        legacy = f"{table}_legacy"
        next_id = _fetch(schema_editor, f"SELECT nextval(pg_get_serial_sequence('{table}', 'id'))")
        schema_editor.execute(f"ALTER TABLE {table} RENAME TO {legacy}")
        schema_editor.execute(f"ALTER TABLE {legacy} ALTER COLUMN id DROP IDENTITY")
        schema_editor.execute(f"ALTER TABLE {legacy} DROP CONSTRAINT {table}_pkey")
        # The model's index names are the parent's now; the legacy ones are attached
        # to them (same definition: no index is built again).
        for index in apps.get_model("decisions", model_name)._meta.indexes:
            schema_editor.execute(f"ALTER INDEX {index.name} RENAME TO {index.name}_legacy")
        schema_editor.execute(
            f"CREATE TABLE {table} (LIKE {legacy} INCLUDING DEFAULTS INCLUDING CONSTRAINTS) "
            "PARTITION BY RANGE (decided_at)"
        )
        schema_editor.execute(f"CREATE SEQUENCE {table}_id_seq START WITH {next_id[0]}")
        schema_editor.execute(f"ALTER SEQUENCE {table}_id_seq OWNED BY {table}.id")
        schema_editor.execute(
            f"ALTER TABLE {table} ALTER COLUMN id SET DEFAULT nextval('{table}_id_seq')"
        )
        _add_indexes(apps, schema_editor, table, model_name)
        if newest is None:
            schema_editor.execute(f"DROP TABLE {legacy}")
        else:
            schema_editor.execute(
                f"ALTER TABLE {table} ATTACH PARTITION {legacy} FOR VALUES FROM (MINVALUE) TO (%s)",
                [datetime.combine(first_day, time.min, tzinfo=UTC)],
            )
        schema_editor.execute(f"CREATE TABLE {table}_default PARTITION OF {table} DEFAULT")
    schema_editor.execute(DELETE_FUNCTION)
    for statement in _MAKE_TRIGGERS:
        schema_editor.execute(statement)
    partitions_create(
        schema_editor.connection, ahead=settings.DECISION_PARTITIONS_AHEAD, today=first_day
    )


def unpartition(apps, schema_editor):
    """Copy both tables' rows back into one table each, with their indexes and triggers."""
    for statement in _DROP_TRIGGERS:
        schema_editor.execute(statement)
    for table, model_name in MODELS:
        plain = f"{table}_plain"
        next_id = _fetch(schema_editor, f"SELECT nextval('{table}_id_seq')")
        schema_editor.execute(
            f"CREATE TABLE {plain} (LIKE {table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
        )
        # Only the migration's own table names are formatted in.
        schema_editor.execute(f"INSERT INTO {plain} SELECT * FROM {table}")  # nosec B608
        # The copied default reads the sequence that goes with the partitioned table.
        schema_editor.execute(f"ALTER TABLE {plain} ALTER COLUMN id DROP DEFAULT")
        schema_editor.execute(f"DROP TABLE {table}")
        schema_editor.execute(f"ALTER TABLE {plain} RENAME TO {table}")
        schema_editor.execute(
            f"ALTER TABLE {table} "
            f"ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (START WITH {next_id[0]})"
        )
        schema_editor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {table}_pkey PRIMARY KEY (id)")
        model = apps.get_model("decisions", model_name)
        for index in model._meta.indexes:
            schema_editor.add_index(model, index)
    schema_editor.execute(UNBOUNDED_DELETE_FUNCTION)
    for statement in _MAKE_TRIGGERS:
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("decisions", "0003_snapshot")]

    operations = [
        migrations.RunPython(_postgresql_only(partition), _postgresql_only(unpartition)),
    ]
