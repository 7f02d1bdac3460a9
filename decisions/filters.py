"""Query-string filters of the decision log."""

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import F, QuerySet
from django_filters import rest_framework as filters

from decisions.models import OUTCOMES, PASSED, Decision, RecordedOutcome
from orders.filters import IntegerFilter, UtcDateTimeFilter

# What a page of decisions where a rule did not pass is ordered by: the rule's
# outcome rows, whose index gives them newest first (annotations of the filter).
RULE_ORDERING = ("-rule_decided_at", "-rule_decision_id")


class EnumField(forms.TypedChoiceField):
    """One of a few values, as the schema's enum lists them; an empty value is refused too.

    The error names the values: "Choose one of: true, false."
    """

    def __init__(self, **kwargs: Any) -> None:
        """Say the values in the error for any other."""
        super().__init__(**kwargs)
        values = ", ".join(str(value) for value, _ in self.choices)
        self.error_messages["invalid_choice"] = f"Choose one of: {values}."

    def to_python(self, value: Any) -> str:
        """Return the value given; refuse an empty one (a parameter given without a value)."""
        if value == "":
            raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return super().to_python(value)


class EnumFilter(filters.TypedChoiceFilter):
    """A filter whose value is one of its choices, never empty."""

    field_class = EnumField


class DecisionFilterForm(forms.Form):
    """The filters' form: an `outcome` needs the `rule` it is about."""

    def clean(self) -> dict[str, Any]:
        """Refuse an `outcome` without a `rule`."""
        cleaned = super().clean()
        if cleaned.get("outcome") and not cleaned.get("rule"):
            self.add_error("outcome", "Give the `rule` whose outcome this is.")
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
    passed = EnumFilter(
        choices=[("true", "true"), ("false", "false")],
        coerce=lambda value: value == "true",
        label="`true`: decisions that passed; `false`: those that did not.",
    )
    caller = filters.CharFilter(label="Decisions asked for by this caller.")
    rule = filters.CharFilter(
        method="filter_rule", label="Decisions that ran the rule with this key."
    )
    outcome = EnumFilter(
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
        """Keep the decisions whose rule *value* had the asked outcome, or ran at all.

        A key is matched whole, whatever its characters. The decisions where
        it failed, errored or was skipped are found through their outcome
        rows, indexed by rule, outcome and time: a page reads the rule's rows
        newest first, within the time bounds, as far as it needs, and they
        give the page its order (``RULE_ORDERING``). Otherwise (it passed,
        or ran at all, or an ``order_id`` narrows the decisions to a few)
        each decision's own record is read, newest first, until the page is
        full: quick for a rule that often ran, a walk through the decisions
        for one that seldom did.
        """
        outcome = self.form.cleaned_data.get("outcome")
        if not outcome or outcome == PASSED or self.form.cleaned_data.get("order_id") is not None:
            recorded = queryset.alias(rule_outcome=RecordedOutcome(value))
            if outcome:
                return recorded.filter(rule_outcome=outcome)
            return recorded.filter(rule_outcome__isnull=False)
        rows: dict[str, Any] = {"rule": value, "outcome": outcome}
        for bound, lookup in (("created_min", "gte"), ("created_max", "lte")):
            if self.form.cleaned_data.get(bound) is not None:
                rows[f"decided_at__{lookup}"] = self.form.cleaned_data[bound]
        return queryset.filter(
            **{f"outcome_rows__{key}": val for key, val in rows.items()}
        ).annotate(
            rule_decided_at=F("outcome_rows__decided_at"),
            rule_decision_id=F("outcome_rows__decision"),
        )

    def filter_outcome(self, queryset: QuerySet[Decision], name: str, value: str) -> QuerySet:
        """Leave the queryset as it is: `filter_rule` applies the outcome."""
        return queryset
