"""Serializers for orders: stored, changed, and ad hoc; their fields follow the order's facts."""

import re
from decimal import Decimal
from typing import Any

from django.utils import timezone
from rest_framework import serializers

from orders.facts import ORDER_FACTS, TOTAL, Fact, FactType
from orders.models import Order

# The order's facts as the API lists a stored order (the fields after its id).
FACT_FIELDS = [fact.path for fact in ORDER_FACTS]
# What a change to a stored order may give: the facts a client gives, but the
# creation time, which the service sets.
CHANGEABLE = [
    fact.path for fact in ORDER_FACTS if fact.given and fact.type is not FactType.DATETIME
]
CHANGES_MESSAGE = (
    f"Give at least one of {', '.join(repr(path) for path in CHANGEABLE[:-1])}"
    f" and {CHANGEABLE[-1]!r}."
)


def money_pattern(fact: Fact) -> str:
    """Return the pattern of a money *fact* as JSON carries it (8 digits, a point, 2 for total)."""
    return rf"^[0-9]{{1,{fact.digits - fact.places}}}(\.[0-9]{{1,{fact.places}}})?$"


# An order's total: 10 digits, 2 of them after the point, never negative.
MONEY_PATTERN = money_pattern(TOTAL)


class MoneyField(serializers.DecimalField):
    """An amount of money, as JSON carries it: a string such as ``"75.50"``.

    Only what ``MONEY_PATTERN`` matches is an amount: no JSON number (a
    float would round), no exponent, sign, spaces or leading zeros beyond 8
    digits, at most 8 digits before the point and 2 after. The schema
    documents the same pattern, so it refuses what the API refuses; a plain
    decimal out of range gets DRF's message saying which limit it passed.
    """

    default_error_messages = {  # DRF merges these per class
        "invalid": 'Enter the amount as a string such as "75.50".',
    }

    class Meta:
        swagger_schema_fields = {"format": "decimal", "pattern": MONEY_PATTERN}

    def __init__(self, **kwargs: Any) -> None:
        """Hold amounts of an order's total: its minimum to its maximum."""
        super().__init__(
            max_digits=TOTAL.digits, decimal_places=TOTAL.places, min_value=TOTAL.minimum, **kwargs
        )

    def to_internal_value(self, data: Any) -> Decimal:
        """Return the amount *data* spells; refuse anything else."""
        if not isinstance(data, str) or not _PLAIN_DECIMAL.fullmatch(data):
            self.fail("invalid")
        value = super().to_internal_value(data)
        # A negative amount is left to the minimum's own message.
        if value >= 0 and not _MONEY.fullmatch(data):
            self.fail("invalid")
        return value


_PLAIN_DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?")
_MONEY = re.compile(MONEY_PATTERN)


def fact_field(fact: Fact, **options: Any) -> serializers.Field:
    """Return the API field of *fact*: its type's, within its limits, described by it.

    *options* (``required``, ``read_only``, ...) go to the field.
    """
    options.setdefault("help_text", fact.description)
    if fact.type is FactType.MONEY:
        options["help_text"] += ' As a string: "75.50".'
        return MoneyField(**options)
    if fact.type is FactType.COUNT:
        return serializers.IntegerField(min_value=fact.minimum, max_value=fact.maximum, **options)
    return serializers.DateTimeField(allow_null=fact.nullable, **options)


class OrderSerializer(serializers.ModelSerializer):
    """An order as the API shows it: its id, then its facts; money as strings."""

    class Meta:
        model = Order
        fields = ["id", *FACT_FIELDS]
        read_only_fields = ["id", *(path for path in FACT_FIELDS if path not in CHANGEABLE)]

    def get_fields(self) -> dict[str, serializers.Field]:
        """Give each money fact the API's money field, keeping the model field's options."""
        fields = super().get_fields()
        for fact in ORDER_FACTS:
            if fact.type is FactType.MONEY and not fields[fact.path].read_only:
                fields[fact.path] = fact_field(fact, required=fields[fact.path].required)
        return fields


class OrderDraftSerializer(serializers.Serializer):
    """An order that is checked without being stored: the facts a client gives.

    Validated like a stored order; it becomes an unsaved ``Order``, placed
    now unless ``created_at`` is given.
    """

    def get_fields(self) -> dict[str, serializers.Field]:
        """Return a field per fact a client gives: optional for a date-time, or with a default."""
        fields = {}
        for fact in ORDER_FACTS:
            if not fact.given:
                continue
            if fact.type is FactType.DATETIME:
                fields[fact.path] = fact_field(
                    fact, required=False, help_text=f"{fact.description} Now if omitted."
                )
            elif fact.default is not None:
                shown = fact.to_json(fact.default)
                fields[fact.path] = fact_field(
                    fact,
                    required=False,
                    default=fact.default,
                    help_text=f"{fact.description} {shown} if omitted.",
                )
            else:
                fields[fact.path] = fact_field(fact)
        return fields

    def to_internal_value(self, data: Any) -> Order:
        """Return the unsaved order the draft describes."""
        values = super().to_internal_value(data)
        return Order(**{"created_at": timezone.now(), **values})


class OrderChangesSerializer(OrderSerializer):
    """Changes to an order (``PATCH``): any of its writable fields, at least one."""

    class Meta(OrderSerializer.Meta):
        extra_kwargs = {path: {"required": False} for path in CHANGEABLE}
        swagger_schema_fields = {"minProperties": 1}

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """Refuse a change that gives no field: it would change nothing."""
        if not attrs:
            raise serializers.ValidationError(CHANGES_MESSAGE)
        return attrs
