"""Query-string filters of the orders list, and the same filters as a JSON object in a body."""

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, ClassVar

from django import forms
from django.core.exceptions import ValidationError
from django.db.backends.base.operations import BaseDatabaseOperations
from django.db.models import Exists, Field, OuterRef, QuerySet
from django_filters import rest_framework as filters
from django_filters.fields import IsoDateTimeField
from rest_framework import serializers

from api.query_params import SingleValuedForm
from orders.facts import (
    COUNTRIES,
    CURRENCIES,
    CURRENCY,
    CUSTOMER_ID,
    LINE_CATEGORY,
    LINE_SKU,
    SHIPPING_COUNTRY,
    SLUG_MAX_LENGTH,
    SLUG_PATTERN,
    Fact,
    FactType,
    Scope,
)
from orders.models import Order, OrderLine

# What the number filters accept, as the schema documents it: digits with an
# optional minus (and, for a decimal, a point and more digits); no exponent,
# plus sign or spaces. Up to 50 digits before the point stays below the 1e50
# that django-filter's number filters allow.
DECIMAL_PATTERN = r"^-?[0-9]{1,50}(\.[0-9]{1,50})?$"
WHOLE_NUMBER_PATTERN = r"^-?[0-9]+$"
ITEMS_COUNT = Order._meta.get_field("items_count")


class PlainDecimalField(forms.DecimalField):
    """A decimal written plainly, as ``DECIMAL_PATTERN`` documents it."""

    def to_python(self, value: str | None) -> Decimal | None:
        """Return the decimal, ``None`` when not given; refuse "" or another spelling."""
        if value is not None and not re.fullmatch(DECIMAL_PATTERN, str(value)):
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(value)


class WholeNumberField(forms.IntegerField):
    """A whole number written plainly, as ``WHOLE_NUMBER_PATTERN`` documents it."""

    def to_python(self, value: str | None) -> int | None:
        """Return the number, ``None`` when not given; refuse an empty value, ``1.0`` and such."""
        if value is not None and not re.fullmatch(WHOLE_NUMBER_PATTERN, str(value)):
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(value)


class DecimalFilter(filters.NumberFilter):
    """A number filter that accepts plain decimals only."""

    field_class = PlainDecimalField


class IntegerFilter(filters.NumberFilter):
    """A number filter on an integer *column*: plain whole numbers within its range only.

    The range is the column's on PostgreSQL (SQLite stores any 64-bit
    integer): a value no row can hold is a 400, on every database, and is
    documented as the filter's ``minimum`` and ``maximum``.
    """

    field_class = WholeNumberField

    def __init__(self, *, column: Field, **kwargs: Any) -> None:
        """Filter on *column*, between the smallest and largest value it holds."""
        self.minimum, self.maximum = BaseDatabaseOperations.integer_field_ranges[
            column.get_internal_type()
        ]
        super().__init__(
            field_name=column.name, min_value=self.minimum, max_value=self.maximum, **kwargs
        )

    def get_max_validator(self) -> None:
        """Add no bound of django-filter's (1e50): the column's range is the bound."""


class UtcDateTimeField(IsoDateTimeField):
    """An ISO 8601 date-time that is also a valid date-time in UTC.

    The database compares in UTC: ``0001-01-01T00:00+01:00`` would overflow
    there, so it is an invalid value here.
    """

    def to_python(self, value: str | None) -> datetime | None:
        """Return the date-time in UTC, ``None`` when not given; refuse an empty value."""
        result = super().to_python(value)
        if result is None and value is not None:
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        if result is None:
            return None
        try:
            return result.astimezone(UTC)
        except OverflowError:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None


class UtcDateTimeFilter(filters.IsoDateTimeFilter):
    """A date-time filter whose values are ISO 8601 and valid in UTC."""

    field_class = UtcDateTimeField


class FactValueField(forms.CharField):
    """A fact's value as a filter takes it: an ISO code, a slug or a text, never empty."""

    def __init__(self, *, fact: Fact, **kwargs: Any) -> None:
        """Take the values of *fact*."""
        self.fact = fact
        super().__init__(max_length=_max_length(fact), strip=False, **kwargs)

    def to_python(self, value: str | None) -> str | None:
        """Return the value, ``None`` when not given; refuse one the fact cannot have."""
        if value is None:
            return None
        if not isinstance(value, str) or not _valid(self.fact, value):
            raise ValidationError(_INVALID[self.fact.type], code="invalid")
        return value


class FactFilter(filters.Filter):
    """Orders whose *fact* has the value given; for a line's fact, orders with such a line.

    An order with several such lines is listed once: the lines are an
    ``EXISTS`` subquery, never a join.
    """

    field_class = FactValueField

    def __init__(self, fact: Fact, **kwargs: Any) -> None:
        """Filter on *fact*, validated as it declares."""
        self.fact = fact
        super().__init__(field_name=fact.column, fact=fact, **kwargs)

    def filter(self, qs: QuerySet[Order], value: str | None) -> QuerySet[Order]:
        """Return the orders of *qs* with *value*, all of them when none is given."""
        if value is None:
            return qs
        if self.fact.scope is Scope.LINE:
            lines = OrderLine.objects.filter(order=OuterRef("pk"), **{self.field_name: value})
            return qs.filter(Exists(lines))
        return qs.filter(**{self.field_name: value})


_CODES = {FactType.COUNTRY: COUNTRIES, FactType.CURRENCY: CURRENCIES}
_SLUG = re.compile(SLUG_PATTERN)
_INVALID = {
    FactType.COUNTRY: "Enter an ISO 3166-1 alpha-2 country code, such as NO.",
    FactType.CURRENCY: "Enter an ISO 4217 currency code, such as EUR.",
    FactType.SLUG: "Enter a slug: lower-case letters, digits, - and _.",
    FactType.TEXT: "Enter a value.",
}


def _max_length(fact: Fact) -> int:
    """Return the longest value *fact* may have."""
    if fact.type in _CODES:
        return max(len(code) for code in _CODES[fact.type])
    return SLUG_MAX_LENGTH if fact.type is FactType.SLUG else fact.max_length or 0


def _valid(fact: Fact, value: str) -> bool:
    """Return whether *value* is a value *fact* may have (its length is the field's to check)."""
    if fact.type in _CODES:
        return value in _CODES[fact.type]
    if fact.type is FactType.SLUG:
        return _SLUG.fullmatch(value) is not None
    return value != ""


def fact_schema(fact: Fact) -> dict[str, Any]:
    """Return the JSON Schema of a value of *fact* as a filter takes it."""
    if fact.type in _CODES:
        return {"type": "string", "enum": sorted(_CODES[fact.type])}
    if fact.type is FactType.SLUG:
        return {"type": "string", "pattern": SLUG_PATTERN, "maxLength": SLUG_MAX_LENGTH}
    return {"type": "string", "minLength": 1, "maxLength": _max_length(fact)}


class OrderFilter(filters.FilterSet):
    """Filter orders by inclusive ranges; an invalid value is a 400, not an empty list.

    So is a filter given twice in a query string.
    """

    total_min = DecimalFilter(
        field_name="total", lookup_expr="gte", label="Orders with a total of at least this."
    )
    total_max = DecimalFilter(
        field_name="total", lookup_expr="lte", label="Orders with a total of at most this."
    )
    items_min = IntegerFilter(
        column=ITEMS_COUNT, lookup_expr="gte", label="Orders with at least this many items."
    )
    items_max = IntegerFilter(
        column=ITEMS_COUNT, lookup_expr="lte", label="Orders with at most this many items."
    )
    created_min = UtcDateTimeFilter(
        field_name="created_at",
        lookup_expr="gte",
        label="Orders created at or after this ISO 8601 date-time.",
    )
    created_max = UtcDateTimeFilter(
        field_name="created_at",
        lookup_expr="lte",
        label="Orders created at or before this ISO 8601 date-time.",
    )

    customer = FactFilter(CUSTOMER_ID, label="Orders of the customer with this id in the shop.")
    shipping_country = FactFilter(
        SHIPPING_COUNTRY, label="Orders shipped to this country (ISO 3166-1 alpha-2)."
    )
    currency = FactFilter(CURRENCY, label="Orders in this currency (ISO 4217).")
    sku = FactFilter(LINE_SKU, label="Orders with a line of this article (its SKU).")
    category = FactFilter(LINE_CATEGORY, label="Orders with a line of this category (a slug).")

    class Meta:
        model = Order
        fields: list[str] = []
        # A filter given twice in a query string is a 400, not its last value.
        form = SingleValuedForm

    @classmethod
    def json_type_errors(cls, values: dict[str, object]) -> dict[str, list[str]]:
        """Return, by name, the errors of filter *values* given in JSON of the wrong type.

        In JSON a decimal or a date-time is a string and a whole number is a
        number, as ``filter_schemas`` documents them; a query string has
        only strings, which the filters themselves parse.
        """
        errors = {}
        for name, value in values.items():
            _, json_type, message = _KINDS[type(cls.base_filters[name])]
            if not isinstance(value, json_type) or isinstance(value, bool):
                errors[name] = [message]
        return errors


# Each kind of filter: its value's JSON Schema, its JSON type, and the message
# for a JSON value of another type.
_KINDS: dict[type, tuple[dict[str, str], type, str]] = {
    DecimalFilter: (
        {"type": "string", "format": "decimal", "pattern": DECIMAL_PATTERN},
        str,
        'Enter a number as a string, e.g. "100.00".',
    ),
    IntegerFilter: ({"type": "integer"}, int, "Enter a whole number."),
    UtcDateTimeFilter: (
        {"type": "string", "format": "date-time"},
        str,
        "Enter a valid date/time as a string.",
    ),
    FactFilter: ({"type": "string"}, str, "Enter the value as a string."),
}


def filter_schema(filter_: filters.Filter) -> dict[str, Any]:
    """Return the JSON Schema of *filter_*'s value (an integer's with its range)."""
    schema: dict[str, Any] = dict(_KINDS[type(filter_)][0])
    if isinstance(filter_, IntegerFilter):
        schema.update(minimum=filter_.minimum, maximum=filter_.maximum)
    if isinstance(filter_, FactFilter):
        schema.update(fact_schema(filter_.fact))
    return schema


def filter_schemas() -> dict[str, dict[str, Any]]:
    """Return the JSON Schema of each filter's value, described by its label, by name."""
    return {
        name: {**filter_schema(filter_), "description": str(filter_.label)}
        for name, filter_ in OrderFilter.base_filters.items()
    }


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
