"""Rules over stored orders: query, report and preview."""

from rest_framework import serializers

from orders.filters import OrderFiltersField
from orders.serializers import OrderSerializer
from rules.serializers.asked import (
    ProposedRulesSerializer,
    RuleSourceSerializer,
)
from rules.serializers.rulesets import RuleSetRefSerializer


class RuleQueryRequestSerializer(RuleSourceSerializer):
    """Which stored orders to find: those that pass, or fail, the rules."""

    outcome = serializers.ChoiceField(
        choices=["passed", "failed", "error"],
        help_text="Find the orders that pass every blocking rule, fail one, or on which one"
        " errs (it reads a fact the order lacks).",
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


class RuleSetPreviewRequestSerializer(ProposedRulesSerializer):
    """The rules a rule set would have after a change, over which stored orders."""

    filters = OrderFiltersField()


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
