"""Serializers for orders: stored, changed, and ad hoc; their fields follow the order's facts."""

import re
from collections.abc import Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from django.conf import settings
from django.db.models import Manager, QuerySet
from django.utils import timezone
from rest_framework import serializers

from orders.errors import InconsistentOrderError, TooManyLinesError
from orders.facts import (
    ATTRIBUTE_MAX_LENGTH,
    ATTRIBUTES_MAX,
    BILLING_COUNTRY,
    COUNTRIES,
    COUPONS,
    CREATED_AT,
    CURRENCIES,
    CUSTOMER_COUNTRY,
    CUSTOMER_ID,
    CUSTOMER_SEGMENT,
    ITEMS_COUNT,
    LINE_CATEGORY,
    LINE_NAME,
    LINE_QUANTITY,
    LINE_SKU,
    LINE_TOTAL,
    LINE_UNIT_PRICE,
    LINES_COUNT,
    ORDER_FACTS,
    OWN_FACTS,
    SEED_FACTS,
    SHIPPING_COUNTRY,
    SHIPPING_POSTAL_CODE,
    SHIPPING_REGION,
    SLUG_MAX_LENGTH,
    SLUG_PATTERN,
    SUBTOTAL,
    TOTAL,
    UPDATED_AT,
    AddressFacts,
    CustomerFacts,
    Fact,
    FactType,
    LineFacts,
    OrderFacts,
    age_days,
)
from orders.models import Customer, Order
from orders.selectors import as_order_facts, customer_facts, with_lines_and_customer

# What a change to a stored order may give: the facts a client gives, but the
# creation time, which the service sets.
CHANGEABLE = [
    fact.path for fact in SEED_FACTS if fact.given and fact.type is not FactType.DATETIME
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
_SLUG = re.compile(SLUG_PATTERN)
# The most coupons one order may carry.
MAX_COUPONS = 20
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


class StrictSerializer(serializers.Serializer):
    """A JSON object whose keys are all known: an unknown key is an error naming it."""

    class Meta:
        # The schema refuses what the API refuses.
        swagger_schema_fields = {"additionalProperties": False}

    def to_internal_value(self, data: Any) -> Any:
        """Refuse keys that are not fields, all at once, then validate the rest."""
        if isinstance(data, Mapping):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {key: ["Unknown field: an order has no such fact."] for key in unknown}
                )
        return super().to_internal_value(data)


class TextField(serializers.CharField):
    """A text as JSON carries it: a string, never a number taken for one."""

    default_error_messages = {"not_a_string": "Not a valid string."}  # DRF merges these

    def to_internal_value(self, data: Any) -> str:
        """Return the text *data*; refuse any other JSON value."""
        if not isinstance(data, str):
            self.fail("not_a_string")
        return str(super().to_internal_value(data))


class SlugField(TextField, serializers.RegexField):
    """A slug (``SLUG_PATTERN``), as a JSON string."""

    def __init__(self, **kwargs: Any) -> None:
        """Hold slugs of at most ``SLUG_MAX_LENGTH`` characters."""
        super().__init__(regex=SLUG_PATTERN, max_length=SLUG_MAX_LENGTH, **kwargs)


def code_field(fact: Fact, **options: Any) -> serializers.Field:
    """Return the API field of a code or text *fact*: a country, a currency, a slug, a text."""
    options.setdefault("help_text", fact.description)
    options.setdefault("required", False)
    if fact.type is FactType.COUNTRY:
        return serializers.ChoiceField(choices=sorted(COUNTRIES), **options)
    if fact.type is FactType.CURRENCY:
        return serializers.ChoiceField(choices=sorted(CURRENCIES), **options)
    if fact.type is FactType.SLUG:
        return SlugField(**options)
    return TextField(max_length=fact.max_length, **options)


class PartSerializer(StrictSerializer):
    """A part of an order (its customer, an address, a line): the facts it has.

    A fact the part lacks is left out, as given and as shown (as a decision's
    snapshot leaves it out).
    """

    def to_representation(self, instance: Any) -> dict[str, Any]:
        """Return the part's facts, without those it lacks."""
        shown = super().to_representation(instance)
        return {name: value for name, value in shown.items() if value is not None}


class CartCustomerSerializer(PartSerializer):
    """The customer of a cart: its id in the shop, with or without its facts.

    Facts not given are read from the stored customer with that id, if any.
    """

    id = code_field(CUSTOMER_ID, required=True)
    segment = code_field(CUSTOMER_SEGMENT)
    country = code_field(CUSTOMER_COUNTRY)
    created_at = serializers.DateTimeField(
        required=False, help_text="When the customer signed up; gives customer.age_days."
    )


class CartAddressSerializer(PartSerializer):
    """Where a cart ships to."""

    country = code_field(SHIPPING_COUNTRY)
    region = code_field(SHIPPING_REGION)
    postal_code = code_field(SHIPPING_POSTAL_CODE)


class CartBillingSerializer(PartSerializer):
    """A cart's billing address: its country."""

    country = code_field(BILLING_COUNTRY)


class CartLineSerializer(PartSerializer):
    """One line of a cart; its total is quantity times unit price."""

    sku = code_field(LINE_SKU, required=True)
    name = code_field(LINE_NAME)
    category = code_field(LINE_CATEGORY, required=True)
    quantity = fact_field(LINE_QUANTITY)
    unit_price = fact_field(LINE_UNIT_PRICE)


class AttributesField(serializers.DictField):
    """The shop's own facts: at most ``ATTRIBUTES_MAX`` slug keys, each a string or a boolean."""

    class Meta:
        swagger_schema_fields = {"maxProperties": ATTRIBUTES_MAX}

    def __init__(self, **kwargs: Any) -> None:
        """Hold flat values only."""
        super().__init__(
            child=serializers.JSONField(),
            help_text=(
                f"The shop's own facts, read as attributes.<key>: at most {ATTRIBUTES_MAX} keys"
                ' (slugs), each a string (a number as a string: "12") or true/false.'
            ),
            **kwargs,
        )

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        """Return the attributes; refuse a key that is not a slug, a nested or numeric value."""
        values = super().to_internal_value(data)
        if len(values) > ATTRIBUTES_MAX:
            raise serializers.ValidationError(f"At most {ATTRIBUTES_MAX} attributes.")
        problems = {}
        for key, value in values.items():
            if not _SLUG.fullmatch(key) or len(key) > SLUG_MAX_LENGTH:
                problems[key] = [f"A key is a slug of at most {SLUG_MAX_LENGTH} characters."]
            elif not isinstance(value, str | bool):
                problems[key] = ['A value is a string (a number as a string: "12") or a boolean.']
            elif isinstance(value, str) and len(value) > ATTRIBUTE_MAX_LENGTH:
                problems[key] = [f"A value has at most {ATTRIBUTE_MAX_LENGTH} characters."]
        if problems:
            raise serializers.ValidationError(problems)
        return values


class CartLinesField(serializers.ListField):
    """An order's lines, in their order: what a cart gives, or a stored order has."""

    def __init__(self, child: serializers.Serializer, **kwargs: Any) -> None:
        """Hold lines shaped by *child*."""
        super().__init__(child=child, required=False, help_text="The order's lines.", **kwargs)


class OrderPartsSerializer(StrictSerializer):
    """The facts a client gives of an order, part by part: a cart's, or a stored order's.

    Only ``total`` is required, and ``items_count`` when there are no lines:
    with lines it is the sum of their quantities. ``null`` for a part the
    order may lack (a customer, an address, a payment method, a channel) is
    the same as leaving it out; inside a part, a fact is left out. An order
    of more than ``MAX_ORDER_LINES`` lines is refused before its lines are
    read (``too_many_lines``); any other error names its path
    (``lines[3].quantity``).
    """

    total = fact_field(TOTAL)
    items_count = fact_field(
        ITEMS_COUNT,
        required=False,
        help_text=f"{ITEMS_COUNT.description} Required without lines.",
    )
    customer = CartCustomerSerializer(required=False, allow_null=True)
    shipping = CartAddressSerializer(required=False, allow_null=True)
    billing = CartBillingSerializer(required=False, allow_null=True)
    coupons = serializers.ListField(
        child=code_field(COUPONS, required=True, help_text="A coupon code."),
        required=False,
        max_length=MAX_COUPONS,
        help_text=COUPONS.description,
    )
    lines = CartLinesField(CartLineSerializer())
    attributes = AttributesField(required=False)

    def get_fields(self) -> dict[str, serializers.Field]:
        """Add a field for each other fact the order keeps in a column (``OWN_FACTS``)."""
        fields = super().get_fields()
        # Documented as the schema's maxItems; refused before the lines are read.
        fields["lines"].max_length = settings.MAX_ORDER_LINES
        for fact in OWN_FACTS:
            if fact.given and fact.path not in fields:
                fields[fact.path] = (
                    fact_field(fact, required=False)
                    if fact.type in (FactType.MONEY, FactType.COUNT, FactType.DATETIME)
                    else code_field(fact, allow_null=fact.nullable)
                )
        return fields

    def to_internal_value(self, data: Any) -> Any:
        """Return the validated facts; errors are keyed by their path in the order."""
        if isinstance(data, Mapping) and isinstance(data.get("lines"), list):
            check_lines_count(len(data["lines"]))
        try:
            return super().to_internal_value(data)
        except serializers.ValidationError as exc:
            raise serializers.ValidationError(error_paths(exc.detail)) from None


class OrderDraftSerializer(OrderPartsSerializer):
    """An order that is checked without being stored (a cart): every fact a client gives.

    Validated like a stored order; it becomes the order as rules see it
    (``OrderFacts``), placed now unless ``created_at`` is given.
    """

    created_at = fact_field(
        CREATED_AT, required=False, help_text=f"{CREATED_AT.description} Now if omitted."
    )

    def to_internal_value(self, data: Any) -> OrderFacts:
        """Return the order as rules see it."""
        values = super().to_internal_value(data)
        lines = tuple(LineFacts(**line) for line in values.get("lines", ()))
        items_count = values.get("items_count")
        if lines:
            quantities = sum(line.quantity for line in lines)
            if items_count is not None and items_count != quantities:
                raise InconsistentOrderError(items_count, quantities)
            items_count = quantities
        elif items_count is None:
            raise serializers.ValidationError({"items_count": ["Required without lines."]})
        own = {fact.path: values[fact.path] for fact in OWN_FACTS if fact.path in values}
        own[ITEMS_COUNT.path] = items_count
        own.setdefault(CREATED_AT.path, timezone.now())
        return OrderFacts(
            **own,
            customer=_customer(values.get("customer")),
            shipping=_address(values.get("shipping")),
            billing=_address(values.get("billing")),
            coupons=tuple(values.get("coupons", ())),
            lines=lines,
            attributes=MappingProxyType(values.get("attributes", {})),
        )


def check_lines_count(count: int) -> None:
    """Refuse an order of more than ``MAX_ORDER_LINES`` lines before reading them."""
    if count > settings.MAX_ORDER_LINES:
        raise TooManyLinesError(count, settings.MAX_ORDER_LINES)


def error_paths(detail: Any, prefix: str = "") -> dict[str, Any]:
    """Return DRF's nested field errors keyed by their path: ``lines[3].quantity``."""
    if isinstance(detail, list) and detail and not isinstance(detail[0], str):
        detail = dict(enumerate(detail))
    if not isinstance(detail, Mapping):
        return {prefix: detail}
    paths: dict[str, Any] = {}
    for key, value in detail.items():
        if isinstance(key, int):
            path = f"{prefix}[{key}]"
        else:
            path = f"{prefix}.{key}" if prefix else str(key)
        if value:
            paths.update(error_paths(value, path))
    return paths


def _customer(given: Mapping[str, Any] | None) -> CustomerFacts | None:
    """Return a cart's customer: what it gives, the stored customer's facts for the rest."""
    if given is None:
        return None
    now = timezone.now()
    stored = Customer.objects.filter(external_id=given["id"]).first()
    known = customer_facts(stored, now=now) if stored else CustomerFacts(id=given["id"])
    signed_up = given.get("created_at")
    return CustomerFacts(
        id=given["id"],
        segment=given.get("segment", known.segment),
        country=given.get("country", known.country),
        age_days=known.age_days if signed_up is None else age_days(signed_up, now),
    )


def _address(given: Mapping[str, Any] | None) -> AddressFacts | None:
    """Return a cart's address, ``None`` when not given."""
    return None if given is None else AddressFacts(**given)


class OrderLineSerializer(CartLineSerializer):
    """One line of a stored order: as a cart gives it, and its total."""

    line_total = fact_field(LINE_TOTAL, read_only=True)


# A stored order's fields as the API shows them: its id, then its parts in the
# order of their facts' declaration, then its lines.
ORDER_FIELDS = ("id", *dict.fromkeys(fact.path.partition(".")[0] for fact in ORDER_FACTS), "lines")


class OrderListSerializer(serializers.ListSerializer):
    """Stored orders in a list: their customers and lines read in one query each."""

    def to_representation(self, data: Any) -> list[dict[str, Any]]:
        """Return each order of *data* (orders, or a query of them) as the API shows it."""
        orders = list(data.all() if isinstance(data, Manager | QuerySet) else data)
        with_lines_and_customer(orders)
        return [self.child.to_representation(order) for order in orders]


class OrderSerializer(OrderPartsSerializer):
    """A stored order as the API shows it: its id, its facts, its lines; money as strings.

    Written in the shape of a cart, its lines and customer with it: the
    customer is found by its id (``external_id``), or created; the facts given
    of it update it. ``created_at``, ``updated_at``, ``subtotal``,
    ``lines_count`` and each line's ``line_total`` are the service's: given,
    they are ignored.
    """

    class Meta(StrictSerializer.Meta):
        list_serializer_class = OrderListSerializer

    id = serializers.IntegerField(source="pk", read_only=True)
    created_at = fact_field(CREATED_AT, read_only=True)
    updated_at = fact_field(UPDATED_AT, read_only=True)
    subtotal = fact_field(SUBTOTAL, read_only=True, allow_null=True)
    lines_count = fact_field(LINES_COUNT, read_only=True)
    lines = CartLinesField(OrderLineSerializer())

    def get_fields(self) -> dict[str, serializers.Field]:
        """Return the fields in the order the API shows them (``ORDER_FIELDS``)."""
        fields = super().get_fields()
        return {name: fields[name] for name in ORDER_FIELDS}

    def items_count_required(self, data: Any) -> bool:
        """Return whether *data* must give ``items_count``: when it gives no lines."""
        return not (isinstance(data, Mapping) and data.get("lines"))

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        """Return the facts given, by part; ``items_count`` is required without lines."""
        self.fields[ITEMS_COUNT.path].required = self.items_count_required(data)
        return super().to_internal_value(data)

    def to_representation(self, instance: Order) -> dict[str, Any]:
        """Return the stored order *instance* as the API shows it."""
        return super().to_representation(as_order_facts(instance))


class OrderChangesSerializer(OrderSerializer):
    """Changes to a stored order (``PATCH``): any of its parts, at least one.

    Lines given replace the order's lines as a whole; with lines kept,
    ``items_count`` must still be the sum of their quantities.
    """

    class Meta(OrderSerializer.Meta):
        swagger_schema_fields = {**OrderSerializer.Meta.swagger_schema_fields, "minProperties": 1}

    def get_fields(self) -> dict[str, serializers.Field]:
        """Make every field optional."""
        fields = super().get_fields()
        for field in fields.values():
            field.required = False
        return fields

    def items_count_required(self, data: Any) -> bool:
        """Return ``False``: a change may leave ``items_count`` as it is."""
        return False

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """Refuse a change that gives no field: it would change nothing."""
        if not attrs:
            raise serializers.ValidationError(CHANGES_MESSAGE)
        return attrs


class FactSerializer(serializers.Serializer):
    """One fact a rule can read, as the catalogue (``GET /facts/``) lists it."""

    path = serializers.CharField(
        source="name",
        help_text="Where a condition reads it: `shipping.country`; a line's under `lines[]`.",
    )
    type = serializers.CharField(
        help_text="money, count, datetime, text, slug, country, currency, codes or attribute."
    )
    scope = serializers.CharField(help_text="`order`, or `line` for each line's facts.")
    description = serializers.CharField()
    example = serializers.JSONField(help_text="A value as JSON carries it.")
    optional = serializers.BooleanField(
        source="nullable",
        help_text="Whether an order may lack it: a rule reading it then errs, naming it.",
    )
    sql = serializers.SerializerMethodField(
        help_text="Whether SQL can read it: rules over it run in the database."
    )

    external = serializers.SerializerMethodField(
        help_text="Whether a provider supplies it from another service, asked at each check."
    )
    provider = serializers.CharField(
        allow_null=True, help_text="The provider that supplies it; null for the order's own."
    )

    def get_sql(self, fact: Fact) -> bool:
        """Return whether SQL can read *fact*."""
        return fact.column is not None

    def get_external(self, fact: Fact) -> bool:
        """Return whether a provider supplies *fact*."""
        return fact.provider is not None
