"""Record every existing rule set, item and condition rule as its history's first entry.

Without it the first change after the upgrade would have nothing to compare
with: its old values would be unknown.
"""

from django.db import migrations
from django.utils import timezone

MODELS = ("RuleSet", "RuleSetItem", "ConditionRule")
REASON = "State when the change history began"


def record_existing(apps, schema_editor):
    """Write one history entry, by nobody, holding each row as it is now."""
    now = timezone.now()
    for name in MODELS:
        model = apps.get_model("rules", name)
        history = apps.get_model("rules", f"Historical{name}")
        fields = [field.attname for field in model._meta.concrete_fields]
        history.objects.bulk_create(
            [
                history(
                    **{field: getattr(row, field) for field in fields},
                    history_date=now,
                    history_type="+",
                    history_change_reason=REASON,
                )
                for row in model.objects.all()
            ],
            batch_size=500,
        )


class Migration(migrations.Migration):
    dependencies = [("rules", "0006_change_history")]

    operations = [migrations.RunPython(record_existing, migrations.RunPython.noop)]
