"""A decision keeps the order's facts in one JSON snapshot, not a column per fact.

Each recorded decision's ``total``, ``items_count``, ``created_at`` and
``updated_at`` move into ``snapshot`` as the code writes it
(``orders.facts.snapshot``: money as a string with two places, times in ISO
8601 in UTC), a batch at a time, then the columns go. On SQLite, removing a
column rebuilds the table, which drops its triggers: those that keep the
index of the rules that did not pass (migration 0002) are removed first and
made again last, so no decision misses its index rows.
"""

import importlib
from datetime import UTC

from django.db import migrations, models
from django.db.models import Q

BATCH = 2000
_OUTCOME_ROWS = importlib.import_module("decisions.migrations.0002_outcome_rows")
# The statements of migration 0002 that make its two triggers (not its fill of the index).
_TRIGGERS = _OUTCOME_ROWS.SQLITE["install"][:2]


def _iso(moment):
    """Return *moment* as a snapshot writes it, or ``None``."""
    return None if moment is None else moment.astimezone(UTC).isoformat()


def columns_to_snapshots(apps, schema_editor):
    """Write each decision's snapshot from its fact columns."""
    Decision = apps.get_model("decisions", "Decision")
    rows = Decision.objects.order_by("pk").only("total", "items_count", "created_at", "updated_at")
    batch = []
    for decision in rows.iterator(chunk_size=BATCH):
        decision.snapshot = {
            "total": f"{decision.total:.2f}",
            "items_count": decision.items_count,
            "created_at": _iso(decision.created_at),
            "updated_at": _iso(decision.updated_at),
        }
        batch.append(decision)
        if len(batch) == BATCH:
            Decision.objects.bulk_update(batch, ["snapshot"])
            batch = []
    Decision.objects.bulk_update(batch, ["snapshot"])


def snapshots_to_columns(apps, schema_editor):
    """Write each decision's fact columns back from its snapshot."""
    Decision = apps.get_model("decisions", "Decision")
    fields = ("total", "items_count", "created_at", "updated_at")
    batch = []
    for decision in Decision.objects.order_by("pk").iterator(chunk_size=BATCH):
        for name in fields:
            setattr(decision, name, decision.snapshot[name])
        batch.append(decision)
        if len(batch) == BATCH:
            Decision.objects.bulk_update(batch, fields)
            batch = []
    Decision.objects.bulk_update(batch, fields)


def _sqlite_only(statements):
    """Return a migration function running *statements* on SQLite, and nothing elsewhere."""

    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "sqlite":
            for statement in statements:
                schema_editor.execute(statement)

    return run


_DROP_TRIGGERS = _sqlite_only(_OUTCOME_ROWS.SQLITE["remove"])
_MAKE_TRIGGERS = _sqlite_only(_TRIGGERS)


class Migration(migrations.Migration):
    dependencies = [("decisions", "0002_outcome_rows")]

    operations = [
        migrations.RunPython(_DROP_TRIGGERS, _MAKE_TRIGGERS),
        migrations.AddField(
            model_name="decision",
            name="snapshot",
            field=models.JSONField(
                default=dict, help_text="The order's facts as the rules read them, by path."
            ),
            preserve_default=False,
        ),
        migrations.RunPython(columns_to_snapshots, snapshots_to_columns),
        migrations.RemoveConstraint(model_name="decision", name="decision_total_non_negative"),
        migrations.RemoveConstraint(model_name="decision", name="decision_items_count_positive"),
        migrations.RemoveConstraint(model_name="decision", name="decision_stored_order_or_ad_hoc"),
        migrations.RemoveField(model_name="decision", name="total"),
        migrations.RemoveField(model_name="decision", name="items_count"),
        migrations.RemoveField(model_name="decision", name="created_at"),
        migrations.RemoveField(model_name="decision", name="updated_at"),
        migrations.AddConstraint(
            model_name="decision",
            constraint=models.CheckConstraint(
                condition=Q(order_id__isnull=True) | Q(order_id__gte=1),
                name="decision_order_id_positive",
                violation_error_message="A stored order's id is 1 or more.",
            ),
        ),
        migrations.RunPython(_MAKE_TRIGGERS, _DROP_TRIGGERS),
    ]
