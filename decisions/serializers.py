"""Shapes of the decisions API: a decision in a list, the whole record, its parts."""

from typing import Any

from rest_framework import serializers

from decisions.models import OUTCOMES, Decision
from orders.facts import SEED_FACTS
from orders.serializers import fact_field


class DecisionRuleSetSerializer(serializers.Serializer):
    """The rule set version a decision was made by; null for listed rules.

    It reads the decision itself (``source="*"``): the name and the version
    are two of its columns.
    """

    name = serializers.CharField()
    version = serializers.IntegerField()

    def to_representation(self, instance: Decision) -> dict[str, Any] | None:
        """Return ``{"name", "version"}``, or ``None`` for a check of listed rules."""
        if not instance.ruleset:
            return None
        return {"name": instance.ruleset, "version": instance.ruleset_version}


class DecisionOrderSerializer(serializers.Serializer):
    """The order as the rules read it when the decision was made: its facts (``orders.facts``)."""

    def get_fields(self) -> dict[str, serializers.Field]:
        """Return a read-only field per fact of an order."""
        return {fact.path: fact_field(fact, read_only=True) for fact in SEED_FACTS}


class DecisionRuleItemSerializer(serializers.Serializer):
    """One listed rule of a decision, as the caller gave it."""

    name = serializers.CharField()
    params = serializers.JSONField(help_text="As the caller gave them.")
    severity = serializers.CharField(allow_null=True, help_text="Null: the rule's default.")
    stored = serializers.JSONField(
        allow_null=True,
        help_text="A stored condition rule as it ran (description, severity, condition).",
    )

    def get_fields(self) -> dict[str, serializers.Field]:
        """Add ``as``, a Python keyword: the rule's key if given."""
        fields = super().get_fields()
        fields["as"] = serializers.CharField(allow_null=True, help_text="The key, if given.")
        return fields


class DecisionResultSerializer(serializers.Serializer):
    """One rule's result in a decision: its outcome, and why."""

    rule = serializers.CharField(help_text="The rule's key: `as` if given, else the name.")
    name = serializers.CharField()
    params = serializers.JSONField(help_text="The parameters the rule ran with.")
    outcome = serializers.ChoiceField(choices=OUTCOMES)
    severity = serializers.CharField()
    message = serializers.CharField()
    facts = serializers.JSONField(help_text="The values behind the message.")


class DecisionSummarySerializer(serializers.Serializer):
    """A decision in a list: who asked, about which order, under which rules, the verdict."""

    id = serializers.IntegerField()
    decided_at = serializers.DateTimeField()
    caller = serializers.CharField(help_text="`anonymous`, `user:<id>`, or an API key's name.")
    request_id = serializers.CharField(allow_blank=True, help_text="The request's X-Request-ID.")
    order_id = serializers.IntegerField(allow_null=True, help_text="Null for an ad-hoc order.")
    ruleset = DecisionRuleSetSerializer(
        source="*", allow_null=True, help_text="The rule set version used; null for listed rules."
    )
    passed = serializers.BooleanField()
    outcomes = serializers.DictField(
        child=serializers.ChoiceField(choices=OUTCOMES), help_text="Each rule's outcome by key."
    )


class DecisionSerializer(DecisionSummarySerializer):
    """The whole record of a decision."""

    order = DecisionOrderSerializer()
    rules = DecisionRuleItemSerializer(
        many=True, allow_null=True, help_text="The listed rules; null for a rule set."
    )
    fail_fast = serializers.BooleanField()
    results = DecisionResultSerializer(many=True)
