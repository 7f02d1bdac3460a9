"""What the rule list answers: every rule as it describes itself (``GET /rules/``)."""

from typing import Any

from rest_framework import serializers
from rest_framework.schemas.openapi import AutoSchema

from rules.engine import (
    RuleInfo,
    Severity,
)


class ExpectedOutcomeField(serializers.ChoiceField):
    """An example's expected outcome: ``passed`` or ``failed``, from its boolean."""

    def __init__(self, **kwargs: Any) -> None:
        """Offer the two outcomes an example can expect, keyed by the boolean."""
        super().__init__(choices=[(True, "passed"), (False, "failed")], **kwargs)

    def to_representation(self, value: bool) -> str:
        """Return the outcome the example expects."""
        return "passed" if value else "failed"


class RuleExampleSerializer(serializers.Serializer):
    """An example a rule carries: an order, params, and the outcome it must give."""

    order = serializers.DictField(
        child=serializers.JSONField(),
        help_text=(
            "The order, as a cart in POST /rules/check/ gives it; a customer's age is counted"
            " up to the order's created_at."
        ),
    )
    params = serializers.DictField(
        child=serializers.JSONField(), help_text="The rule's parameters, any JSON values."
    )
    provided = serializers.DictField(
        child=serializers.JSONField(),
        required=False,
        help_text="The facts providers supply for it, by path (only when it needs some).",
    )
    expected = ExpectedOutcomeField(source="passes")

    def to_representation(self, instance: Any) -> dict[str, Any]:
        """Return the example; ``provided`` only for a rule that needs providers."""
        data = super().to_representation(instance)
        if not data["provided"]:
            del data["provided"]
        return data


class ParamsSchemaField(serializers.DictField):
    """A rule's parameter declaration, shown as a JSON Schema object."""

    def __init__(self, **kwargs: Any) -> None:
        """Read the whole rule description: a rule without parameters has ``params=None``."""
        super().__init__(child=serializers.JSONField(), source="*", read_only=True, **kwargs)

    def to_representation(self, value: RuleInfo) -> dict[str, Any]:
        """Return the JSON Schema of the parameters a caller gives (none: an empty object)."""
        params = value.params
        schema = AutoSchema().map_serializer(params()) if params else {}  # type: ignore[misc]
        return {"type": "object", "properties": {}, **schema, "additionalProperties": False}


class RuleSerializer(serializers.Serializer):
    """A rule, as it describes itself: a code rule or a stored condition rule."""

    name = serializers.CharField(help_text="The rule's unique name, used in checks.")
    description = serializers.CharField(help_text="What the rule requires of an order.")
    stored = serializers.BooleanField(
        help_text="True for a condition rule stored in the database (edited in the admin)."
    )
    condition = serializers.JSONField(
        required=False, help_text="A stored rule's JsonLogic condition (stored rules only)."
    )
    params = ParamsSchemaField(help_text="The rule's parameters, as a JSON Schema object.")
    severity = serializers.ChoiceField(
        choices=[s.value for s in Severity], help_text="Severity unless a request says otherwise."
    )
    examples = RuleExampleSerializer(many=True)
    needs = serializers.ListField(
        child=serializers.CharField(),
        help_text="The facts it reads from providers (GET /facts/), asked before it runs.",
    )
    configured = serializers.BooleanField(
        help_text=(
            "False when a provider it needs has no address set: a check naming it is"
            " 400 provider_not_configured."
        )
    )

    def to_representation(self, instance: RuleInfo) -> dict[str, Any]:
        """Return the rule; only a stored rule has a ``condition``."""
        data = super().to_representation(instance)
        data["needs"] = sorted(instance.needs)
        if not instance.stored:
            del data["condition"]
        return data
