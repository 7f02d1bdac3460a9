"""Checks, one order or a batch: what a request gives and what the answer holds."""

from collections import Counter
from typing import Any

from rest_framework import serializers

from orders.serializers import OrderDraftSerializer
from rules.engine import (
    CheckResult,
    Outcome,
    RuleResult,
    RuleSpec,
    Severity,
)
from rules.serializers.asked import (
    MAX_RULES_PER_CHECK,
    FailFastField,
    RuleSourceSerializer,
    UniqueListField,
    exactly_one,
    plain_item,
    plain_rule,
)
from rules.serializers.rulesets import RuleSetRefSerializer
from rules.services import CheckAnswer, Checked

# Order ids are 64-bit (BigAutoField); anything larger cannot exist.
MAX_ORDER_ID = 2**63 - 1


MAX_ORDERS_PER_BATCH = 1000


class RuleCheckRequestSerializer(RuleSourceSerializer):
    """Which order to check (stored or given), against which rules."""

    class Meta:
        # Swagger UI's "Try it out" starts from this body, which succeeds.
        swagger_schema_fields = {
            "example": {"order_id": 1, "rules": ["min_total_100", "min_items_2", "divisible_by_5"]}
        }

    fail_fast = FailFastField()

    order_id = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_ORDER_ID,
        help_text="Id of a stored order. Give exactly one of `order_id` and `order`.",
    )
    order = OrderDraftSerializer(
        required=False,
        help_text=(
            "An order to check without storing it. Give exactly one of `order_id` and `order`."
        ),
    )

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        """Return each field's value; a common body's without the fields' machinery.

        Nearly every check sends a stored order's id and rules that are plain
        names or objects of a plain name and params (and ``fail_fast`` at
        most): their values are what the fields make of them, taken in a
        tenth of the time (a test holds the two to each other). Any other
        body goes through every field. ``validate`` checks both alike.
        """
        common = _common_check(data)
        return super().to_internal_value(data) if common is None else common

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """Also require exactly one of `order_id` and `order`."""
        exactly_one(attrs, "order_id", "order")
        return super().validate(attrs)


# What a common check body may hold: a stored order's id, plain rules, fail_fast.
_COMMON_CHECK_KEYS = frozenset({"order_id", "rules", "fail_fast"})


def _common_check(data: Any) -> dict[str, Any] | None:
    """Return the fields' values of a common check body, or ``None`` for any other body."""
    if type(data) is not dict or not data.keys() <= _COMMON_CHECK_KEYS:
        return None
    order_id, items = data.get("order_id"), data.get("rules")
    fail_fast = data.get("fail_fast", False)
    if (
        type(order_id) is not int
        or not 1 <= order_id <= MAX_ORDER_ID
        or type(items) is not list
        or not 1 <= len(items) <= MAX_RULES_PER_CHECK
        or type(fail_fast) is not bool
    ):
        return None
    specs: list[RuleSpec] = []
    for item in items:
        spec = plain_item(item) if type(item) is dict else plain_rule(item)
        if spec is None:
            return None
        specs.append(spec)
    return {"fail_fast": fail_fast, "order_id": order_id, "rules": specs}


class RuleBatchCheckRequestSerializer(RuleSourceSerializer):
    """Which stored orders to check, against which rules."""

    fail_fast = FailFastField()

    order_ids = UniqueListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ORDER_ID),
        min_length=1,
        max_length=MAX_ORDERS_PER_BATCH,
        help_text="Ids of stored orders, each at most once.",
    )

    def validate_order_ids(self, value: list[int]) -> list[int]:
        """Reject an id given twice."""
        repeated = sorted(key for key, count in Counter(value).items() if count > 1)
        if repeated:
            raise serializers.ValidationError(
                f"Each id may appear once; repeated: {', '.join(map(str, repeated[:10]))}."
            )
        return value


class RuleResultSerializer(serializers.Serializer):
    """One rule's outcome, and why: the result's own fields, then the rule's facts."""

    rule = serializers.CharField(source="key", help_text="The key: `as` if given, else the name.")
    name = serializers.CharField(help_text="The rule's name.")
    params = serializers.DictField(
        child=serializers.JSONField(), help_text="The parameters the rule ran with."
    )
    outcome = serializers.ChoiceField(choices=[o.value for o in Outcome])
    severity = serializers.ChoiceField(choices=[s.value for s in Severity])
    message = serializers.CharField(
        help_text="One sentence with the observed and required values."
    )
    observed = serializers.JSONField(required=False, help_text="The order's value the rule read.")
    required = serializers.JSONField(required=False, help_text="The value the rule requires.")
    shortfall = serializers.JSONField(
        required=False, help_text="How much to add to qualify, when a minimum failed."
    )
    excess = serializers.JSONField(
        required=False, help_text="How much over the limit, when a maximum failed."
    )
    remainder = serializers.CharField(required=False, help_text="Left over by a divisor.")
    reference = serializers.CharField(
        required=False, help_text="Id of the logged error, for an `error` outcome."
    )

    def to_representation(self, instance: RuleResult) -> dict[str, Any]:
        """Return the result's fields, then its facts (which never take a field's name)."""
        return _result_data(instance)


class RuleCheckErrorSerializer(serializers.Serializer):
    """A rule that could not be evaluated; it counts as not passed."""

    rule = serializers.CharField(help_text="The rule's key.")
    reference = serializers.CharField(help_text="Id of the logged error, for support.")


class BatchOrderResultSerializer(serializers.Serializer):
    """One order's verdict in a batch: its decision and order ids, then the verdict."""

    decision_id = serializers.IntegerField(
        allow_null=True,
        help_text="The decision on the record (`GET /decisions/<id>/`); null when "
        "`DECISION_LOG` leaves it out.",
    )
    order_id = serializers.IntegerField()
    passed = serializers.BooleanField(
        help_text="True when no rule of severity `error` failed or errored."
    )
    details = serializers.DictField(
        child=serializers.BooleanField(allow_null=True),
        help_text="Each rule's verdict by key: true/false, false for an error, null if skipped.",
    )
    results = RuleResultSerializer(many=True)

    def to_representation(self, instance: Checked) -> dict[str, Any]:
        """Return the decision's and the order's ids, then the verdict."""
        return {
            "decision_id": instance.decision_id,
            "order_id": instance.order_id,
            **_verdict_data(instance.result),
        }


class RuleCheckResponseSerializer(BatchOrderResultSerializer):
    """The verdict of a check, and why: its decision, order and rule set, then the verdict.

    A check's answer is written out rather than walked field by field: it is
    the hot path, and the schema test holds it to the fields declared here.
    """

    order_id = serializers.IntegerField(
        allow_null=True, help_text="The stored order checked; null for an ad-hoc order."
    )
    ruleset = RuleSetRefSerializer(allow_null=True, help_text="The rule set used, if any.")
    errors = RuleCheckErrorSerializer(
        many=True, help_text="Rules that could not be evaluated (empty when all answered)."
    )

    def to_representation(self, instance: CheckAnswer) -> dict[str, Any]:
        """Return the ids, the rule set, the verdict and the rules that errored."""
        checked, ruleset = instance.checked, instance.ruleset
        return {
            "decision_id": checked.decision_id,
            "order_id": checked.order_id,
            "ruleset": ruleset and {"name": ruleset.name, "version": ruleset.version},
            **_verdict_data(checked.result),
            "errors": [
                {"rule": error.key, "reference": error.reference}
                for error in checked.result.errors
            ],
        }


class BatchSummarySerializer(serializers.Serializer):
    """Counts over a batch."""

    total = serializers.IntegerField(help_text="Ids requested.")
    passed = serializers.IntegerField(help_text="Orders that passed.")
    failed = serializers.IntegerField(help_text="Orders that did not pass.")
    errors = serializers.IntegerField(help_text="Orders with a rule that could not be evaluated.")
    missing = serializers.ListField(
        child=serializers.IntegerField(), help_text="Requested ids with no stored order."
    )


class RuleBatchCheckResponseSerializer(serializers.Serializer):
    """The verdicts of a batch, in request order, and a summary."""

    ruleset = RuleSetRefSerializer(allow_null=True)
    results = BatchOrderResultSerializer(many=True)
    summary = BatchSummarySerializer()


def _result_data(result: RuleResult) -> dict[str, Any]:
    """Return one rule's result as the API shows it.

    Read from the bound rule, not through the result's properties, and each
    enum's value as ``str`` gives it (a ``StrEnum``'s): every rule of every
    check is shown here, and each property or ``.value`` is a Python call.
    """
    bound = result.bound
    data = {
        "rule": bound.key,
        "name": bound.rule.name,
        "params": bound.rule.shown_params,
        "outcome": str(result.outcome),
        "severity": str(bound.severity),
        "message": result.message,
        **result.facts,
    }
    if result.reference is not None:
        data["reference"] = result.reference
    return data


def _verdict_data(result: CheckResult) -> dict[str, Any]:
    """Return a check's verdict, details and results as the API shows them."""
    return {
        "passed": result.passed,
        "details": result.details,
        "results": [_result_data(rule_result) for rule_result in result.results],
    }
