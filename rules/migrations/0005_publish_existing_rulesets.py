"""Save each existing rule set's items as its current version, under its current number."""

from django.db import migrations


def publish_existing(apps, schema_editor):
    """Give every rule set a version holding its items, numbered as the set was."""
    RuleSet = apps.get_model("rules", "RuleSet")
    RuleSetVersion = apps.get_model("rules", "RuleSetVersion")
    ConditionRule = apps.get_model("rules", "ConditionRule")
    stored = {
        rule.name: {
            "description": rule.description,
            "severity": rule.severity,
            "condition": rule.condition,
        }
        for rule in ConditionRule.objects.all()
    }
    for ruleset in RuleSet.objects.all():
        items = [
            {
                "position": item.position,
                "rule": item.rule,
                "params": item.params or {},
                "as": item.alias,
                "severity": item.severity,
                "stored": stored.get(item.rule),
            }
            for item in ruleset.items.order_by("position", "id")
        ]
        number = max(ruleset.version, 1)
        RuleSetVersion.objects.create(ruleset=ruleset, number=number, items=items)
        RuleSet.objects.filter(pk=ruleset.pk).update(version=number)


class Migration(migrations.Migration):
    dependencies = [("rules", "0004_ruleset_versions")]

    operations = [migrations.RunPython(publish_existing, migrations.RunPython.noop)]
