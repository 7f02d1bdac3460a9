"""Repair stored severities that are not known ones, before 0009 makes the database refuse them.

A condition rule with an unknown severity gets the column's default,
``error`` (it blocks, as it would have once checked); a rule set item's
becomes blank, the rule's own default. Each repaired row gets an entry in
its change history saying so, by nobody. A migration of its own: PostgreSQL
alters no table with changes to it pending in the same transaction.
"""

from django.db import migrations
from django.utils import timezone

# The severities as this migration knows them (rules.engine.Severity's values).
SEVERITIES = ["error", "warning"]
# Each model, what an unknown severity becomes, and the values it may hold.
REPAIRS = (
    ("ConditionRule", "error", SEVERITIES),
    ("RuleSetItem", "", ["", *SEVERITIES]),
)


def repair_severities(apps, schema_editor):
    """Give every row with an unknown severity its default, and record the change."""
    now = timezone.now()
    for name, default, known in REPAIRS:
        model = apps.get_model("rules", name)
        history = apps.get_model("rules", f"Historical{name}")
        fields = [field.attname for field in model._meta.concrete_fields]
        for row in model.objects.exclude(severity__in=known):
            reason = f"Unknown severity {row.severity!r} repaired"[:100]
            model.objects.filter(pk=row.pk).update(severity=default)
            row.severity = default
            history.objects.create(
                **{field: getattr(row, field) for field in fields},
                history_date=now,
                history_type="~",
                history_change_reason=reason,
            )


class Migration(migrations.Migration):
    dependencies = [("rules", "0007_record_existing_rows")]

    operations = [migrations.RunPython(repair_severities, migrations.RunPython.noop)]
