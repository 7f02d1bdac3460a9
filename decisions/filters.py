"""Query-string filters of the decision log."""

from typing import Any

from django import forms
from django.db import connections
from django.db.models import QuerySet
from django.db.models.fields.json import KeyTransform
from django_filters import rest_framework as filters

from decisions.models import OUTCOMES, Decision
from orders.filters import IntegerFilter, UtcDateTimeFilter


class DecisionFilterForm(forms.Form):
    """The filters' form: an `outcome` needs the `rule` it is about."""

    def clean(self) -> dict[str, Any]:
        """Refuse an `outcome` without a `rule`, and a key SQLite cannot look up.

        SQLite's JSON paths cannot name a key with a double quote in it: such
        a filter would silently match nothing, so it is refused instead.
        """
        cleaned = super().clean()
        rule = cleaned.get("rule")
        if cleaned.get("outcome") and not rule:
            self.add_error("outcome", "Give the `rule` whose outcome this is.")
        if rule and '"' in rule and connections[Decision.objects.db].vendor == "sqlite":
            self.add_error("rule", "On SQLite, a rule key with a double quote cannot be filtered.")
        return cleaned


class DecisionFilter(filters.FilterSet):
    """Filter decisions; every filter is exact but the inclusive time range.

    An invalid value is a 400, never an empty list.
    """

    order_id = IntegerFilter(
        column=Decision._meta.get_field("order_id"), label="Decisions about this stored order."
    )
    ruleset = filters.CharFilter(label="Decisions made by this rule set.")
    ruleset_version = IntegerFilter(
        column=Decision._meta.get_field("ruleset_version"),
        label="Decisions made by this version of a rule set.",
    )
    passed = filters.TypedChoiceFilter(
        choices=[("true", "true"), ("false", "false")],
        coerce=lambda value: value == "true",
        label="`true`: decisions that passed; `false`: those that did not.",
    )
    caller = filters.CharFilter(label="Decisions asked for by this caller.")
    rule = filters.CharFilter(
        method="filter_rule", label="Decisions that ran the rule with this key."
    )
    outcome = filters.ChoiceFilter(
        choices=[(outcome, outcome) for outcome in OUTCOMES],
        method="filter_outcome",
        label="With `rule`: decisions where that rule had this outcome.",
    )
    created_min = UtcDateTimeFilter(
        field_name="decided_at",
        lookup_expr="gte",
        label="Decisions made at or after this ISO 8601 date-time.",
    )
    created_max = UtcDateTimeFilter(
        field_name="decided_at",
        lookup_expr="lte",
        label="Decisions made at or before this ISO 8601 date-time.",
    )

    class Meta:
        model = Decision
        fields: list[str] = []
        form = DecisionFilterForm

    def filter_rule(self, queryset: QuerySet[Decision], name: str, value: str) -> QuerySet:
        """Keep the decisions whose rule *value* had the asked outcome, or ran at all."""
        outcome = self.form.cleaned_data.get("outcome")
        if outcome:
            # One key, whatever characters it has: never split on "__" like a lookup path.
            return queryset.alias(rule_outcome=KeyTransform(value, "outcomes")).filter(
                rule_outcome=outcome
            )
        return queryset.filter(outcomes__has_key=value)

    def filter_outcome(self, queryset: QuerySet[Decision], name: str, value: str) -> QuerySet:
        """Leave the queryset as it is: `filter_rule` applies the outcome."""
        return queryset
