"""Request and response shapes of the rules API."""

import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from django.utils import timezone
from rest_framework import serializers
from rest_framework.schemas.openapi import AutoSchema

from api.serializers import RequestSerializer
from decisions.serializers import DecisionResultSerializer
from orders.filters import OrderFilter, filter_schemas
from orders.models import Order
from orders.serializers import OrderDraftSerializer, OrderSerializer
from rules.engine import (
    CheckResult,
    Outcome,
    RuleInfo,
    RuleResult,
    RuleSpec,
    Severity,
)
from rules.services import CheckAnswer, Checked

# Order ids are 64-bit (BigAutoField); anything larger cannot exist.
MAX_ORDER_ID = 2**63 - 1
MAX_RULES_PER_CHECK = 100
MAX_ORDERS_PER_BATCH = 1000
MAX_NAME_LENGTH = 100
# A key (`as`) is repeated in every result of a batch and every decision: at most
# 64 characters, which any name a person would read fits in.
MAX_KEY_LENGTH = 64
# A backtest looks at this much of the past by default.
BACKTEST_WINDOW = timedelta(days=7)
# The first instant a date-time can hold.
EARLIEST = datetime.min.replace(tzinfo=UTC)
# A rule set's name, optionally pinned to a version: "checkout" or "checkout@7".
RULESET_PATTERN = r"^[-a-zA-Z0-9_]+(@[1-9][0-9]{0,9})?$"
MAX_VERSION = 2**31 - 1


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
        child=serializers.JSONField(), help_text="Order fields: total, items_count, created_at."
    )
    params = serializers.DictField(
        child=serializers.JSONField(), help_text="The rule's parameters, any JSON values."
    )
    expected = ExpectedOutcomeField(source="passes")


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

    def to_representation(self, instance: RuleInfo) -> dict[str, Any]:
        """Return the rule; only a stored rule has a ``condition``."""
        data = super().to_representation(instance)
        if not instance.stored:
            del data["condition"]
        return data


class RuleItemSerializer(RequestSerializer):
    """One requested rule: a name, or an object with params, a key and a severity."""

    name = serializers.CharField(min_length=1, max_length=MAX_NAME_LENGTH, trim_whitespace=False)
    params = serializers.DictField(
        child=serializers.JSONField(allow_null=True),
        required=False,
        default=dict,
        help_text="The rule's params, by name: any JSON values, as the rule declares them.",
    )
    alias = serializers.CharField(
        source="alias",
        required=False,
        min_length=1,
        max_length=MAX_KEY_LENGTH,
        help_text="Key of this rule in `details` and `results`; the name if omitted.",
    )
    severity = serializers.ChoiceField(
        choices=[s.value for s in Severity],
        required=False,
        help_text="`error` blocks `passed`; `warning` is reported only.",
    )

    def get_fields(self) -> dict[str, serializers.Field]:
        """Expose ``alias`` as ``as``, a Python keyword."""
        fields = super().get_fields()
        fields["as"] = fields.pop("alias")
        return fields


_RULE_NAME = serializers.CharField(min_length=1, max_length=MAX_NAME_LENGTH, trim_whitespace=False)
# What _RULE_NAME accepts, as one regular expression: 1 to 100 characters, none
# of them a null character or a lone surrogate.
_PLAIN_RULE_NAME = re.compile(f"[^\\x00\\ud800-\\udfff]{{1,{MAX_NAME_LENGTH}}}")


class RuleItemField(serializers.Field):
    """A rule name, or a ``RuleItemSerializer`` object; becomes a ``RuleSpec``."""

    default_error_messages = {  # DRF merges these per class
        "invalid": "Expected a rule name or an object with a 'name'.",
    }

    def to_internal_value(self, data: Any) -> RuleSpec:
        """Return the spec for a name or an object."""
        if isinstance(data, str):
            # The common case, on every check: a name the regular expression
            # accepts needs no field (~1 us for three names, the CharField ~40 us);
            # any other string gets the CharField's own error.
            if _PLAIN_RULE_NAME.fullmatch(data):
                return RuleSpec(data)
            return RuleSpec(_RULE_NAME.run_validation(data))
        if not isinstance(data, dict):
            self.fail("invalid")
        item = RuleItemSerializer(data=data)
        item.is_valid(raise_exception=True)
        values = item.validated_data
        severity = values.get("severity")
        return RuleSpec(
            values["name"],
            values["params"],
            values.get("alias"),
            Severity(severity) if severity else None,
        )

    def to_representation(self, value: RuleSpec) -> Any:
        """Return the spec as a name."""
        return value.name


class RuleSourceSerializer(RequestSerializer):
    """Which rules to run: a list (`rules`) or a stored rule set (`ruleset`)."""

    rules = serializers.ListField(
        child=RuleItemField(),
        required=False,
        min_length=1,
        max_length=MAX_RULES_PER_CHECK,
        help_text=(
            "Rules to evaluate, in order: names or objects. Each key at most once. "
            "Give exactly one of `rules` and `ruleset`."
        ),
    )
    ruleset = serializers.RegexField(
        RULESET_PATTERN,
        required=False,
        max_length=MAX_NAME_LENGTH + 12,
        help_text=(
            "Name of an active rule set, runs its current version; `name@7` pins version 7. "
            "Give exactly one of `rules` and `ruleset`."
        ),
    )
    ruleset_version = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_VERSION,
        help_text=(
            "Pin this version of `ruleset` (the same as `name@7`): only beside a `ruleset` "
            "that names no version."
        ),
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """Require exactly one of `rules` and `ruleset`, distinct keys, and one version pin.

        ``name@7`` becomes ``ruleset="name"`` and ``ruleset_version=7``.
        """
        _exactly_one(attrs, "rules", "ruleset")
        try:
            _distinct_keys(attrs.get("rules", ()))
        except serializers.ValidationError as exc:
            raise serializers.ValidationError({"rules": exc.detail}) from None
        name, _, pinned = attrs.get("ruleset", "").partition("@")
        if "ruleset_version" in attrs and (pinned or "ruleset" not in attrs):
            problem = "Pin a version once: `ruleset_version` beside a `ruleset`, or `name@N`."
            raise serializers.ValidationError({"ruleset_version": [problem]})
        if pinned:
            attrs["ruleset"], attrs["ruleset_version"] = name, int(pinned)
        return attrs


class FailFastField(serializers.BooleanField):
    """``fail_fast``: stop at the first blocking failure; JSON ``true`` or ``false`` only."""

    default_error_messages = {  # DRF merges these per class
        "invalid": "Must be true or false.",
    }

    def __init__(self) -> None:
        """Default to running every rule."""
        super().__init__(
            default=False,
            help_text="Stop at the first failing rule of severity `error`; the rest are skipped.",
        )

    def to_internal_value(self, data: Any) -> bool:
        """Return *data*; refuse ``0``, ``"true"`` and the other spellings DRF would take."""
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


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

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """Also require exactly one of `order_id` and `order`."""
        _exactly_one(attrs, "order_id", "order")
        return super().validate(attrs)


class UniqueListField(serializers.ListField):
    """A list documented with ``uniqueItems``; its serializer refuses a repeated item."""

    class Meta:
        swagger_schema_fields = {"uniqueItems": True}


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


# Older names of two filters, still accepted in JSON bodies.
FILTER_ALIASES = {"created_from": "created_min", "created_to": "created_max"}


class OrderFiltersField(serializers.DictField):
    """Which stored orders a query looks at: the orders API's filters, as a JSON object.

    Validated by the orders API's own filter set (inclusive ranges, overflow
    guards); ``created_from`` and ``created_to`` are accepted as the older
    names of ``created_min`` and ``created_max``.
    """

    ALIASES: ClassVar[dict[str, str]] = FILTER_ALIASES

    class Meta:
        # Every filter by name, and no other key: the schema refuses what the API refuses.
        swagger_schema_fields = {
            "properties": {
                **filter_schemas(),
                **{
                    alias: {**filter_schemas()[name], "description": f"Older name of `{name}`."}
                    for alias, name in FILTER_ALIASES.items()
                },
            },
            "additionalProperties": False,
        }

    def __init__(self) -> None:
        """Name the filters in the documentation."""
        names = ", ".join(f"`{name}`" for name in [*OrderFilter.base_filters, *self.ALIASES])
        super().__init__(required=False, help_text=f"Optional, any of: {names}.")

    def get_default(self) -> OrderFilter:
        """Return the filter set of every order, when no filters are given."""
        return self.to_internal_value({})

    def to_internal_value(self, data: Any) -> OrderFilter:
        """Return the bound, valid filter set; raise a validation error naming bad filters."""
        values = super().to_internal_value(data)
        for alias, name in self.ALIASES.items():
            if alias in values:
                if name in values:
                    raise serializers.ValidationError(
                        {alias: [f"Give '{name}' or its older name '{alias}', not both."]}
                    )
                values[name] = values.pop(alias)
        unknown = sorted(set(values) - set(OrderFilter.base_filters))
        if unknown:
            raise serializers.ValidationError({name: ["Unknown filter."] for name in unknown})
        wrong_types = OrderFilter.json_type_errors(values)
        if wrong_types:
            raise serializers.ValidationError(wrong_types)
        filterset = OrderFilter(data=values, queryset=Order.objects.all())
        if not filterset.is_valid():
            raise serializers.ValidationError(filterset.errors)
        return filterset


class RuleQueryRequestSerializer(RuleSourceSerializer):
    """Which stored orders to find: those that pass, or fail, the rules."""

    outcome = serializers.ChoiceField(
        choices=["passed", "failed"], help_text="Find the orders that passed, or failed."
    )
    filters = OrderFiltersField()
    page_size = serializers.IntegerField(min_value=1, max_value=1000, default=100)
    cursor = serializers.CharField(
        required=False,
        allow_null=True,
        max_length=200,
        help_text="`next` of the previous page; omit (or null) for the first page.",
    )


class RuleReportRequestSerializer(RuleSourceSerializer):
    """Which rules to report on, over which stored orders."""

    filters = OrderFiltersField()


class RuleSetPreviewRequestSerializer(RequestSerializer):
    """The rules a rule set would have after a change."""

    rules = serializers.ListField(
        child=RuleItemField(),
        min_length=1,
        max_length=MAX_RULES_PER_CHECK,
        help_text="The proposed rules, as in a check: names or objects.",
    )
    sample_size = serializers.IntegerField(min_value=0, max_value=100, default=10)
    filters = OrderFiltersField()

    def validate_rules(self, value: list[RuleSpec]) -> list[RuleSpec]:
        """Reject two rules with the same key."""
        _distinct_keys(value)
        return value


class RuleSetBacktestRequestSerializer(RequestSerializer):
    """Rules a rule set might have, tried on its recorded decisions of a window of time."""

    rules = serializers.ListField(
        child=RuleItemField(),
        min_length=1,
        max_length=MAX_RULES_PER_CHECK,
        help_text="The proposed rules, as in a preview: names or objects.",
    )
    created_min = serializers.DateTimeField(
        required=False, help_text="Decisions made at or after this; default: 7 days ago."
    )
    created_max = serializers.DateTimeField(
        required=False, help_text="Decisions made at or before this; default: now."
    )
    sample_size = serializers.IntegerField(min_value=0, max_value=100, default=10)

    def validate_rules(self, value: list[RuleSpec]) -> list[RuleSpec]:
        """Reject two rules with the same key."""
        _distinct_keys(value)
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """Fill in the default window: the 7 days up to `created_max`, by default now.

        A `created_max` less than 7 days after the first instant of the year
        1 has no default start: `created_min` must be given.
        """
        attrs.setdefault("created_max", timezone.now())
        if "created_min" not in attrs:
            if attrs["created_max"] - EARLIEST < BACKTEST_WINDOW:
                raise serializers.ValidationError(
                    {"created_min": ["Give it: 7 days before `created_max` is before the year 1."]}
                )
            attrs["created_min"] = attrs["created_max"] - BACKTEST_WINDOW
        if attrs["created_min"] > attrs["created_max"]:
            raise serializers.ValidationError({"created_min": ["Must not be after created_max."]})
        return attrs


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


class RuleSetRefSerializer(serializers.Serializer):
    """The rule set a check used."""

    name = serializers.CharField()
    version = serializers.IntegerField()


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


class StoredConditionSerializer(serializers.Serializer):
    """A stored condition rule as a rule set's version holds it."""

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
        child=StoredConditionSerializer(),
        source="conditions_by_rule",
        help_text="The stored condition rules among the items, as they were: by rule name.",
    )


class RuleQueryResponseSerializer(serializers.Serializer):
    """A page of the orders that matched, and how many match in all."""

    ruleset = RuleSetRefSerializer(allow_null=True, help_text="The rule set used, if any.")
    count = serializers.IntegerField(source="page.count", help_text="Matching orders in all.")
    evaluated_in = serializers.ChoiceField(
        source="page.evaluated_in",
        choices=["database", "python"],
        help_text="`database`: one SQL query; `python`: a rule has no SQL form, so orders "
        "were streamed through the engine.",
    )
    next = serializers.CharField(
        source="page.next_cursor", allow_null=True, help_text="Cursor of the next page."
    )
    results = OrderSerializer(source="page.orders", many=True)


class RuleSetPreviewResponseSerializer(serializers.Serializer):
    """What the proposed rules would change over the stored orders."""

    ruleset = RuleSetRefSerializer()
    evaluated_in = serializers.ChoiceField(
        source="impact.evaluated_in", choices=["database", "python"]
    )
    total = serializers.IntegerField(source="impact.total", help_text="Stored orders.")
    passing_now = serializers.IntegerField(source="impact.passing_now")
    passing_after = serializers.IntegerField(source="impact.passing_after")
    newly_failing = serializers.IntegerField(
        source="impact.newly_failing", help_text="Pass now, would fail."
    )
    newly_passing = serializers.IntegerField(
        source="impact.newly_passing", help_text="Fail now, would pass."
    )
    sample_newly_failing = serializers.ListField(
        source="impact.sample_newly_failing", child=serializers.IntegerField()
    )
    sample_newly_passing = serializers.ListField(
        source="impact.sample_newly_passing", child=serializers.IntegerField()
    )


class ReplayRunSerializer(serializers.Serializer):
    """One run of a replayed decision: the rule set version used, the verdict, the results."""

    ruleset = RuleSetRefSerializer(allow_null=True, help_text="Null for listed rules.")
    passed = serializers.BooleanField()
    results = DecisionResultSerializer(many=True, help_text="As the decision records them.")


class ReplayDifferenceSerializer(serializers.Serializer):
    """A rule whose outcome changed between then and now."""

    rule = serializers.CharField(help_text="The rule's key.")
    then = serializers.ChoiceField(
        choices=[o.value for o in Outcome], allow_null=True, help_text="Null: not in `then`."
    )
    now = serializers.ChoiceField(
        choices=[o.value for o in Outcome], allow_null=True, help_text="Null: not in `now`."
    )


class DecisionReplayResponseSerializer(serializers.Serializer):
    """A decision run again: as it was decided, and as it would be decided now."""

    reproduced = serializers.BooleanField(
        help_text="True when `then` gives the recorded results exactly."
    )
    then = ReplayRunSerializer(
        help_text="Under the recorded rule set version, or the recorded listed rules."
    )
    now = ReplayRunSerializer(
        help_text="Under the set's current active version, or the same rules today."
    )
    differences = ReplayDifferenceSerializer(
        many=True, help_text="The rules whose outcome differs between `then` and `now`."
    )


class RuleBacktestSerializer(serializers.Serializer):
    """What one proposed rule would do to the recorded decisions."""

    rule = serializers.CharField(help_text="The proposed rule's key.")
    failing = serializers.IntegerField(help_text="Decisions it would fail.")
    pass_to_fail = serializers.IntegerField(
        help_text="Decisions that passed and it would fail (a blocking rule)."
    )
    fail_to_pass = serializers.IntegerField(
        help_text="Decisions where a rule of this key failed or errored and it would pass."
    )


class RuleSetBacktestResponseSerializer(serializers.Serializer):
    """What the proposed rules would have decided, against what was decided."""

    ruleset = RuleSetRefSerializer(help_text="The set's current version.")
    created_min = serializers.DateTimeField(help_text="The window's start.")
    created_max = serializers.DateTimeField(help_text="The window's end.")
    evaluated_in = serializers.ChoiceField(
        source="backtest.evaluated_in", choices=["database", "python"]
    )
    decisions = serializers.IntegerField(
        source="backtest.decisions", help_text="Recorded decisions of the set in the window."
    )
    passed_then = serializers.IntegerField(source="backtest.passed_then")
    passed_after = serializers.IntegerField(source="backtest.passed_after")
    pass_to_fail = serializers.IntegerField(source="backtest.pass_to_fail")
    fail_to_pass = serializers.IntegerField(source="backtest.fail_to_pass")
    sample_pass_to_fail = serializers.ListField(
        source="backtest.sample_pass_to_fail",
        child=serializers.IntegerField(),
        help_text="Decision ids.",
    )
    sample_fail_to_pass = serializers.ListField(
        source="backtest.sample_fail_to_pass",
        child=serializers.IntegerField(),
        help_text="Decision ids.",
    )
    rules = RuleBacktestSerializer(source="backtest.rules", many=True)


def _result_data(result: RuleResult) -> dict[str, Any]:
    """Return one rule's result as the API shows it."""
    data = {
        "rule": result.key,
        "name": result.name,
        "params": result.params,
        "outcome": result.outcome.value,
        "severity": result.severity.value,
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


def _distinct_keys(specs: list[RuleSpec]) -> None:
    """Raise a validation error if two specs share a key."""
    keys = Counter(spec.key for spec in specs)
    repeated = sorted(key for key, count in keys.items() if count > 1)
    if repeated:
        raise serializers.ValidationError(
            f"Each key may appear once; repeated: {', '.join(repeated)}."
        )


def _exactly_one(attrs: dict[str, Any], first: str, second: str) -> None:
    """Raise a validation error unless exactly one of *first* and *second* is given."""
    given = [name for name in (first, second) if name in attrs]
    if len(given) == 1:
        return
    message = f"Give exactly one of '{first}' and '{second}'."
    # Neither given: the usual field is missing, so name it.
    field = "non_field_errors" if given else first
    raise serializers.ValidationError({field: [message]})
