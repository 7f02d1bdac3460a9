"""Condition rules as the API reads and writes them: the admin's fields, in JSON."""

from typing import Any

from rest_framework import serializers

from orders.serializers import TextField
from rules.engine import Severity
from rules.models import CONDITION_RULE_NAME_PATTERN, ConditionRule

SEVERITIES = [severity.value for severity in Severity]
CONDITION_HELP = (
    "A condition in the JsonLogic subset of the Conditions page, over the facts `GET /facts/` "
    'lists, e.g. `{">": [{"var": "total"}, "100.00"]}`. One that names an unknown fact is a '
    "400 `unknown_fact` naming the nearest known path; any other invalid condition, a 400 "
    "`invalid_request` with the message under `condition`."
)


class ConditionRuleNameField(TextField, serializers.RegexField):
    """A condition rule's name: lower case, digits and ``_``, as a JSON string."""

    def __init__(self, **kwargs: Any) -> None:
        """Hold the names the model holds, as they are given: never trimmed."""
        max_length = ConditionRule._meta.get_field("name").max_length
        super().__init__(
            regex=CONDITION_RULE_NAME_PATTERN,
            max_length=max_length,
            trim_whitespace=False,
            **kwargs,
        )

    def to_internal_value(self, data: Any) -> str:
        """Return the name; refuse a final newline, which Python's ``$`` lets through."""
        value = super().to_internal_value(data)
        if value.endswith("\n"):
            self.fail("invalid")
        return value


class ConditionRuleChangeSerializer(serializers.Serializer):
    """The body of a replace: the whole content but the name, which does not change.

    An unknown key is refused, the name's included.
    """

    description = TextField(
        help_text="What the rule requires, in one sentence; not blank (spaces alone are blank)."
    )
    severity = serializers.ChoiceField(
        choices=SEVERITIES, default=Severity.ERROR.value, help_text="`error` if left out."
    )
    condition = serializers.JSONField(help_text=CONDITION_HELP)

    class Meta:
        # The schema refuses what the API refuses.
        swagger_schema_fields = {"additionalProperties": False}

    def to_internal_value(self, data: Any) -> Any:
        """Refuse keys that are not fields, all at once, then validate the rest."""
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({key: ["Unknown field."] for key in unknown})
        return super().to_internal_value(data)


class ConditionRuleSerializer(ConditionRuleChangeSerializer):
    """A stored condition rule: the body of a creation, and of every answer."""

    name = ConditionRuleNameField(
        help_text=(
            "Unique among all rules, code rules included: lower case, digits and `_`, "
            "starting with a letter. The rule's key: it never changes."
        )
    )
    updated_at = serializers.DateTimeField(read_only=True)
