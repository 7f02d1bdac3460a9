"""Request and response shapes of the rules API."""

from rest_framework import serializers

# order ids are 64-bit (BigAutoField); anything larger cannot exist.
MAX_ORDER_ID = 2**63 - 1
MAX_RULES_PER_CHECK = 100
MAX_RULE_NAME_LENGTH = 100


class RuleSerializer(serializers.Serializer):
    """A registered rule."""

    name = serializers.CharField(help_text="The rule's unique name, used in checks.")
    description = serializers.CharField(help_text="What the rule requires of an order.")


class RuleCheckRequestSerializer(serializers.Serializer):
    """Which order to check, against which rules."""

    order_id = serializers.IntegerField(
        min_value=1, max_value=MAX_ORDER_ID, help_text="Id of a stored order."
    )
    rules = serializers.ListField(
        child=serializers.CharField(
            min_length=1, max_length=MAX_RULE_NAME_LENGTH, trim_whitespace=False
        ),
        min_length=1,
        max_length=MAX_RULES_PER_CHECK,
        help_text="Names of the rules to evaluate, each at most once, in evaluation order.",
    )

    def validate_rules(self, value: list[str]) -> list[str]:
        """Reject a list that names a rule twice."""
        repeated = sorted({name for name in value if value.count(name) > 1})
        if repeated:
            raise serializers.ValidationError(
                f"Each rule may be named once; repeated: {', '.join(repeated)}."
            )
        return value


class RuleCheckErrorSerializer(serializers.Serializer):
    """A rule that could not be evaluated; it counts as not passed."""

    rule = serializers.CharField(help_text="The rule's name.")
    reference = serializers.CharField(help_text="Id of the logged error, for support.")


class RuleCheckResponseSerializer(serializers.Serializer):
    """The verdict of a check."""

    order_id = serializers.IntegerField(help_text="The order that was checked.")
    passed = serializers.BooleanField(help_text="Whether every rule passed.")
    details = serializers.DictField(
        child=serializers.BooleanField(), help_text="Each rule's verdict, by name."
    )
    errors = RuleCheckErrorSerializer(
        many=True, help_text="Rules that could not be evaluated (empty when all answered)."
    )


class ErrorSerializer(serializers.Serializer):
    """The body of every API error."""

    error = serializers.CharField(help_text="Short title, e.g. 'Not Found'.")
    code = serializers.CharField(help_text="Stable machine code, e.g. 'unknown_rule'.")
    detail = serializers.JSONField(help_text="Human-readable text, or field errors by name.")


class HealthSerializer(serializers.Serializer):
    """The service's health."""

    status = serializers.CharField(help_text="'ok' when the service and its database answer.")
    database = serializers.CharField(help_text="'ok' when the database answered a query.")
