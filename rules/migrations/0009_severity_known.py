"""Limit stored severities to the known ones (0008 repaired any other)."""

from django.db import migrations, models

# The severities as this migration knows them (rules.engine.Severity's values).
SEVERITIES = ["error", "warning"]


class Migration(migrations.Migration):
    dependencies = [("rules", "0008_repair_severities")]

    operations = [
        migrations.AddConstraint(
            model_name="conditionrule",
            constraint=models.CheckConstraint(
                condition=models.Q(("severity__in", SEVERITIES)),
                name="conditionrule_severity_known",
                violation_error_message="Severity is one of: error, warning",
            ),
        ),
        migrations.AddConstraint(
            model_name="rulesetitem",
            constraint=models.CheckConstraint(
                condition=models.Q(("severity__in", ["", *SEVERITIES])),
                name="ruleset_item_severity_known",
                violation_error_message="Severity is blank, or one of: error, warning",
            ),
        ),
    ]
