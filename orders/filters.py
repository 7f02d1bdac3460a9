"""Query-string filters of the orders list: total, item count and creation ranges."""

from datetime import UTC, datetime

from django import forms
from django.core.exceptions import ValidationError
from django_filters import rest_framework as filters
from django_filters.fields import IsoDateTimeField

from api.query_params import SingleValuedForm
from orders.models import Order


class IntegerFilter(filters.NumberFilter):
    """A number filter that accepts whole numbers only."""

    field_class = forms.IntegerField


class UtcDateTimeField(IsoDateTimeField):
    """An ISO 8601 date-time that is also a valid date-time in UTC.

    The database compares in UTC: ``0001-01-01T00:00+01:00`` would overflow
    there, so it is an invalid value here.
    """

    def to_python(self, value: str | None) -> datetime | None:
        """Return the date-time in UTC, or ``None`` for an empty value."""
        result = super().to_python(value)
        if result is None:
            return None
        try:
            return result.astimezone(UTC)
        except OverflowError:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None


class UtcDateTimeFilter(filters.IsoDateTimeFilter):
    """A date-time filter whose values are ISO 8601 and valid in UTC."""

    field_class = UtcDateTimeField


class OrderFilter(filters.FilterSet):
    """Filter orders by inclusive ranges; an invalid value is a 400, not an empty list.

    So is a filter given twice in a query string.
    """

    total_min = filters.NumberFilter(
        field_name="total", lookup_expr="gte", label="Orders with a total of at least this."
    )
    total_max = filters.NumberFilter(
        field_name="total", lookup_expr="lte", label="Orders with a total of at most this."
    )
    items_min = IntegerFilter(
        field_name="items_count", lookup_expr="gte", label="Orders with at least this many items."
    )
    items_max = IntegerFilter(
        field_name="items_count", lookup_expr="lte", label="Orders with at most this many items."
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

    class Meta:
        model = Order
        fields: list[str] = []
        # A filter given twice in a query string is a 400, not its last value.
        form = SingleValuedForm
