"""Rules over recorded decisions: a decision replayed, a rule set backtested."""

from datetime import UTC, datetime, timedelta
from typing import Any

from django.utils import timezone
from rest_framework import serializers

from decisions.serializers import DecisionResultSerializer
from rules.engine import (
    Outcome,
)
from rules.serializers.asked import (
    ProposedRulesSerializer,
)
from rules.serializers.rulesets import RuleSetRefSerializer

# A backtest looks at this much of the past by default.
BACKTEST_WINDOW = timedelta(days=7)


# The first instant a date-time can hold.
EARLIEST = datetime.min.replace(tzinfo=UTC)


class RuleSetBacktestRequestSerializer(ProposedRulesSerializer):
    """Rules a rule set might have, tried on its recorded decisions of a window of time."""

    created_min = serializers.DateTimeField(
        required=False, help_text="Decisions made at or after this; default: 7 days ago."
    )
    created_max = serializers.DateTimeField(
        required=False, help_text="Decisions made at or before this; default: now."
    )

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


class DecisionReplayRequestSerializer(serializers.Serializer):
    """How to replay a decision, in its query: with the recorded answers, or asking afresh."""

    refresh = serializers.BooleanField(
        default=False,
        help_text=(
            "Ask the providers that today's rules need afresh for `now` (`then` always uses"
            " the recorded answers), and list the provided facts whose values changed."
        ),
    )


class ProvidedChangeSerializer(serializers.Serializer):
    """A provided fact whose value changed since the decision."""

    fact = serializers.CharField(help_text="The fact's path: `risk.score`.")
    recorded = serializers.JSONField(help_text="The value the decision recorded; null: none.")
    now = serializers.JSONField(help_text="The value the provider gives now; null: none.")


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
    refreshed = serializers.BooleanField(
        help_text="Whether `now` asked the providers afresh (`refresh`)."
    )
    provided_changes = ProvidedChangeSerializer(
        many=True,
        help_text="With `refresh`: the provided facts whose values differ from the recorded.",
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
