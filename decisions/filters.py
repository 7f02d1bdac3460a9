"""Query-string filters of the decision log."""

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.db.models.lookups import Exact
from django_filters import rest_framework as filters

from decisions.models import OUTCOMES, PASSED, Decision, DecisionOutcome
from orders.filters import IntegerFilter, UtcDateTimeFilter

# What a page of decisions filtered by rule is ordered by: the rule's outcome
# rows, whose indexes give them newest first (annotations of the filter).
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

        They are found through their outcome rows (one per rule key, matched
        whole whatever its characters), indexed by rule, outcome and time: a
        page reads the rule's rows newest first, within the time bounds, as
        far as it needs, and they give the page its order
        (``RULE_ORDERING``). Given an ``order_id``, the order's few decisions
        are read from their own index instead, each looked up among the rows.
        """
        rows: dict[str, Any] = {"rule": value}
        if outcome := self.form.cleaned_data.get("outcome"):
            rows["outcome"] = outcome
        if self.form.cleaned_data.get("order_id") is not None:
            matching = DecisionOutcome.objects.filter(
                decided_at=OuterRef("decided_at"), decision=OuterRef("pk"), **rows
            )
            return queryset.filter(Exists(matching))
        for bound, lookup in (("created_min", "gte"), ("created_max", "lte")):
            if self.form.cleaned_data.get(bound) is not None:
                rows[f"decided_at__{lookup}"] = self.form.cleaned_data[bound]
        joined = Q(**{f"outcome_rows__{key}": val for key, val in rows.items()})
        if outcome and outcome != PASSED:
            # Said again as the index of the rows that did not pass says it,
            # so that SQLite reads that index (PostgreSQL infers it).
            joined &= ~Q(Exact(F("outcome_rows__outcome"), PASSED))
        return queryset.filter(joined).annotate(
            rule_decided_at=F("outcome_rows__decided_at"),
            rule_decision_id=F("outcome_rows__decision"),
        )

    def filter_outcome(self, queryset: QuerySet[Decision], name: str, value: str) -> QuerySet:
        """Leave the queryset as it is: `filter_rule` applies the outcome."""
        return queryset
