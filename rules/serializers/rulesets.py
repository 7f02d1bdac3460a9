"""Rule sets and their versions, as the API shows them."""

from rest_framework import serializers

from rules.engine import (
    Severity,
)


class RuleSetRefSerializer(serializers.Serializer):
    """The rule set a check used."""

    name = serializers.CharField()
    version = serializers.IntegerField()


class RuleSetItemSerializer(serializers.Serializer):
    """A rule in a rule set."""

    rule = serializers.CharField(source="key", help_text="The key: `as` if given, else the name.")
    name = serializers.CharField(help_text="The rule's name.")
    params = serializers.DictField(child=serializers.JSONField())
    severity = serializers.ChoiceField(
        choices=[s.value for s in Severity],
        allow_null=True,
        help_text="Null: the rule's default severity.",
    )


class RuleSetSerializer(serializers.Serializer):
    """A rule set and the rules of its current version, in order."""

    name = serializers.SlugField()
    description = serializers.CharField()
    active = serializers.BooleanField()
    version = serializers.IntegerField(help_text="The current version; 0 before the first.")
    updated_at = serializers.DateTimeField()
    items = RuleSetItemSerializer(
        many=True, source="current_specs", help_text="The current version's, in evaluation order."
    )


class ConditionRuleContentSerializer(serializers.Serializer):
    """A condition rule's content as a version holds it: all that decides its outcome."""

    description = serializers.CharField()
    severity = serializers.ChoiceField(choices=[s.value for s in Severity])
    condition = serializers.JSONField(help_text="The JsonLogic condition.")


class RuleSetVersionSerializer(serializers.Serializer):
    """One saved version of a rule set: its complete content, never changed."""

    name = serializers.SlugField(help_text="The rule set's name.")
    version = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    created_by = serializers.CharField(
        allow_blank=True,
        help_text="Who saved it: a user name, empty when saved outside a request (a shell).",
    )
    items = RuleSetItemSerializer(many=True, source="specs", help_text="In evaluation order.")
    conditions = serializers.DictField(
        child=ConditionRuleContentSerializer(),
        source="conditions_by_rule",
        help_text="The stored condition rules among the items, as they were: by rule name.",
    )
