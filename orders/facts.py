"""The order as rules see it, declared once: its facts, and the order they are read from.

A *fact* is one value a rule reads from an order (``total``,
``customer.segment``, a line's ``category``). Each is declared here once: its
path, type, limits, description and an example. Everything else derives from the declaration:
the Order model's field limits, the fields of an ad-hoc order and of a
decision's snapshot in the API, the snapshot a decision keeps (written and
read), the variables of stored conditions, the values threshold rules
compare, and the SQL that reads a fact from stored orders and from recorded
snapshots.

A fact's *type* decides how its values behave: money is a ``Decimal`` of
whole cents, written as a string (``"75.50"``); a count is a whole number; a
date-time is aware, written in ISO 8601; a country or currency is its ISO
code; a slug is a short lower-case name. Adding a fact of a known type is
this declaration, the model's field and a migration.

Rules read an ``OrderFacts``: the same object whether the order is stored,
a cart given in a request or a decision's snapshot replayed, so a rule
never knows which.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType
from typing import Any

import pycountry
from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import BigIntegerField, DateTimeField, DecimalField, F, Func
from django.db.models.expressions import Expression
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast
from django.utils.dateparse import parse_datetime

CENT = Decimal("0.01")
# The seed's random orders are placed over the year before a moment.
SEED_SPAN = timedelta(days=365)

COUNTRIES = frozenset(country.alpha_2 for country in pycountry.countries)
CURRENCIES = frozenset(currency.alpha_3 for currency in pycountry.currencies)
# A slug: lower-case letters, digits, "-" and "_", starting with a letter or digit.
SLUG_PATTERN = r"^[a-z0-9][a-z0-9_-]*$"
SLUG_MAX_LENGTH = 50
ATTRIBUTES_MAX = 50
ATTRIBUTE_MAX_LENGTH = 200


class MissingFactError(LookupError):
    """A rule reads a fact the order lacks; its outcome is ``error``, naming the fact."""

    def __init__(self, path: str, message: str | None = None) -> None:
        """Name the fact at *path*; *message* says why it is missing, if not plain absence."""
        super().__init__(message or f"The order has no {path}.")
        self.path = path

    @property
    def facts(self) -> dict[str, Any]:
        """Return what the rule's ``error`` result says beside its message."""
        return {"missing": self.path}


class ProviderUnavailableError(MissingFactError):
    """A rule reads a fact from a provider that gave none: no answer in time, an error, ..."""

    def __init__(self, path: str, unavailable: Unavailable) -> None:
        """Name the fact at *path*, its provider and what went wrong (*unavailable*)."""
        super().__init__(
            path,
            f"Provider {unavailable.provider} is unavailable ({unavailable.reason}),"
            f" so {path} is unknown.",
        )
        self.provider = unavailable.provider
        self.reason = unavailable.reason

    @property
    def facts(self) -> dict[str, Any]:
        """Return the missing fact, its provider, why, and the code ``provider_unavailable``."""
        return {
            "missing": self.path,
            "code": "provider_unavailable",
            "provider": self.provider,
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class Unavailable:
    """What an order holds for a provider's fact when the provider gave no value, and why.

    *reason* is one of ``timeout``, ``error``, ``malformed``, ``breaker_open``,
    ``deadline`` (the check's time for its providers ran out) or ``not_asked``
    (a decision recorded before the rule needed the provider).
    """

    provider: str
    reason: str


@dataclass(frozen=True, slots=True)
class Supplied:
    """What one provider supplied for one order's check, as the decision keeps it.

    ``values`` are its facts by path (their Python values), ``None`` when it
    gave none; ``error`` says why not (an ``Unavailable`` reason), also when
    its ``fallback`` values stand in; ``latency_ms`` is the time the check
    waited for it (the cache's, on a hit); ``reference`` is the id its
    failure was logged under.
    """

    provider: str
    values: Mapping[str, Any] | None
    latency_ms: float
    cache_hit: bool = False
    error: str | None = None
    fallback: bool = False
    reference: str | None = None

    def as_json(self, facts: Mapping[str, Fact]) -> dict[str, Any]:
        """Return the record as JSON, each value written as its fact (in *facts*) writes it."""
        values: dict[str, Any] | None = None
        if self.values is not None:
            # ``Fact.to_json`` inlined, in a loop: every check a provider answered keeps this.
            values = {}
            for path, value in self.values.items():
                values[path] = None if value is None else facts[path].json(value)
        return {
            "values": values,
            "latency_ms": round(self.latency_ms, 3),
            "cache_hit": self.cache_hit,
            "error": self.error,
            "fallback": self.fallback,
            "reference": self.reference,
        }

    @classmethod
    def from_json(
        cls, provider: str, recorded: Mapping[str, Any], facts: Mapping[str, Fact]
    ) -> Supplied:
        """Return the record *recorded* by ``as_json``; a fact no longer declared is dropped."""
        values = recorded.get("values")
        return cls(
            provider=provider,
            values=None
            if values is None
            else {
                path: facts[path].from_json(value)
                for path, value in values.items()
                if path in facts
            },
            latency_ms=recorded.get("latency_ms") or 0.0,
            cache_hit=bool(recorded.get("cache_hit")),
            error=recorded.get("error"),
            fallback=bool(recorded.get("fallback")),
            reference=recorded.get("reference"),
        )


def provided_facts(supplied: Mapping[str, Supplied]) -> dict[str, Any]:
    """Return the facts *supplied* by providers, by path: each a value, or ``Unavailable``."""
    provided: dict[str, Any] = {}
    for fact in PROVIDED_FACTS.values():
        record = supplied.get(fact.provider or "")
        if record is None:
            continue
        if record.values is None:
            provided[fact.path] = Unavailable(record.provider, record.error or "error")
        else:
            provided[fact.path] = record.values.get(fact.path)
    return provided


class FactType(StrEnum):
    """What kind of value a fact holds; it decides how the value compares, reads and prints."""

    MONEY = "money"
    COUNT = "count"
    DATETIME = "datetime"
    TEXT = "text"
    SLUG = "slug"
    COUNTRY = "country"
    CURRENCY = "currency"
    CODES = "codes"
    ATTRIBUTE = "attribute"


class Scope(StrEnum):
    """What a fact belongs to: the order, or each of its lines."""

    ORDER = "order"
    LINE = "line"


def _datetime_json(value: datetime) -> str:
    """Return an aware date-time as JSON carries it: ISO 8601, in UTC."""
    return value.astimezone(UTC).isoformat()


def _same(value: Any) -> Any:
    """Return *value* as it is: text, codes and attributes are JSON already."""
    return value


# How each type of value is written as JSON: run for every value of every
# check and snapshot, so a fact holds its own from the start.
_JSON: dict[FactType, Callable[[Any], Any]] = {
    FactType.MONEY: str,
    FactType.COUNT: int,
    FactType.DATETIME: _datetime_json,
    FactType.CODES: list,
}


def _reader(path: str, provider: str | None) -> Callable[[Any], Any]:
    """Return what reads *path* from an order: dotted parts, ``None`` when a part is missing.

    A provider's fact is read from the values supplied for the check
    (``OrderFacts.provided``); ``None`` when the provider gave none.
    """
    if provider is not None:

        def supplied(order: Any) -> Any:
            value = order.provided.get(path)
            return None if value.__class__ is Unavailable else value

        return supplied
    first, _, rest = path.partition(".")
    if not rest:
        return operator.attrgetter(path)
    inner = operator.attrgetter(rest)

    def read(order: Any) -> Any:
        part = getattr(order, first)
        return None if part is None else inner(part)

    return read


@dataclass(frozen=True, slots=True)
class Fact:
    """One value a rule can read from an order, and everything needed to read it anywhere.

    ``minimum`` and ``maximum`` bound a money or count fact (the database
    column's range); ``given`` says whether an ad-hoc order may give it (the
    service sets ``updated_at``); ``nullable``, whether an order may lack it
    (an order without a customer has no ``customer.segment``): a rule that
    reads a fact the order lacks errs, naming it. ``units`` names a count's
    unit, singular and plural, for messages ("3 items"). A fact with a
    ``default`` may be left out of an order, which then has that value: a
    fact added to orders that exist already. ``column`` is the fact as the
    ORM reads it from a stored order (``customer__segment``; a line's facts
    from its line), ``None`` when SQL cannot read it; ``scope`` says whether
    it is the order's or each line's. ``provider`` names the provider that
    supplies it (``risk.score``): such a fact is read from what the provider
    answered for the check, never from a column.
    """

    path: str
    type: FactType
    description: str
    example: Any
    minimum: Decimal | int | None = None
    maximum: Decimal | int | None = None
    given: bool = True
    nullable: bool = False
    units: tuple[str, str] | None = None
    default: Any = None
    column: str | None = ""
    scope: Scope = Scope.ORDER
    max_length: int | None = None
    provider: str | None = None
    json: Callable[[Any], Any] = field(init=False, repr=False, compare=False)
    words: Callable[[Any], str] = field(init=False, repr=False, compare=False)
    read: Callable[[Any], Any] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Choose, once, how this fact's values are read, written as JSON and in words."""
        # A frozen dataclass sets its derived fields through object's own setter.
        object.__setattr__(self, "json", _JSON.get(self.type, _same))
        object.__setattr__(self, "words", self._words())
        object.__setattr__(self, "read", _reader(self.path, self.provider))
        if self.provider is not None:
            # Read from what its provider answered: no column, never in a cart,
            # and absent whenever the provider gives nothing.
            object.__setattr__(self, "column", None)
            object.__setattr__(self, "given", False)
            object.__setattr__(self, "nullable", True)
        elif self.column == "":
            object.__setattr__(self, "column", self.path.replace(".", "__"))

    def _words(self) -> Callable[[Any], str]:
        """Return how a message says a value: with the fact's unit, or as JSON has it."""
        if self.units is not None:
            singular, plural = self.units
            return lambda value: f"{value} {singular if value == 1 else plural}"
        if self.type is FactType.CODES:
            return lambda value: ", ".join(value) or "none"
        return _datetime_json if self.type is FactType.DATETIME else str

    @property
    def name(self) -> str:
        """Return the fact as the catalogue lists it: a line's under ``lines[]``."""
        return f"lines[].{self.path}" if self.scope is Scope.LINE else self.path

    @property
    def step(self) -> Decimal | int:
        """Return the smallest difference between two values: a cent, or one."""
        return CENT if self.type is FactType.MONEY else 1

    @property
    def places(self) -> int:
        """Return the digits after the point that a money fact keeps (0 for others)."""
        return 2 if self.type is FactType.MONEY else 0

    @property
    def digits(self) -> int:
        """Return the digits a money fact's column holds, those after the point included."""
        return len(str(int(self.maximum or 0))) + self.places

    def require(self, order: Any) -> Any:
        """Return this fact's value on *order*; raise ``MissingFactError`` if it lacks it.

        A provider's fact that its provider did not supply raises
        ``ProviderUnavailableError``, saying why.
        """
        value = self.read(order)
        if value is None:
            if self.provider is not None:
                given = order.provided.get(self.path)
                raise ProviderUnavailableError(
                    self.path, given or Unavailable(self.provider, "not_asked")
                )
            raise MissingFactError(self.name)
        return value

    def to_json(self, value: Any) -> Any:
        """Return *value* as JSON carries it: money as a string, a date-time in ISO 8601 (UTC)."""
        return None if value is None else self.json(value)

    def from_json(self, value: Any) -> Any:
        """Return the Python value of what ``to_json`` wrote."""
        if value is None:
            return None
        if self.type is FactType.MONEY:
            return Decimal(value)
        if self.type is FactType.DATETIME:
            return parse_datetime(value)
        if self.type is FactType.CODES:
            return tuple(value)
        return value

    def phrase(self, value: Any) -> str:
        """Return *value* as a message says it: "75.50", "1 item", "3 items"."""
        return self.words(value)

    def sql(self) -> F:
        """Return this fact as a column of the orders table (or of the lines, for a line's)."""
        if self.column is None:
            raise TypeError(f"{self.path}: SQL cannot read this fact")
        return F(self.column)

    def snapshot_sql(self, column: str) -> Expression:
        """Return this fact read from a JSON *column* holding snapshots, typed like the order's.

        A query over recorded decisions aliases each fact under its own name
        to this, so a rule's database filter, written against orders, selects
        snapshots too.
        """
        text = KeyTextTransform(self.path, column)
        if self.type is FactType.MONEY:
            return Cast(text, DecimalField(max_digits=self.digits, decimal_places=self.places))
        if self.type is FactType.COUNT:
            return Cast(text, BigIntegerField())
        return SnapshotDateTime(text)

    def model_field(self, **options: Any) -> models.Field:
        """Return the model's field for a money, count, code or text fact, with its limits.

        *options* (``help_text``, ...) go to the field as they are; a fact
        an order may lack is a blank text or a null number.
        """
        validators = [MinValueValidator(self.minimum)] if self.minimum is not None else []
        if self.default is not None:
            options.setdefault("default", self.default)
        if self.type is FactType.MONEY:
            return models.DecimalField(
                max_digits=self.digits,
                decimal_places=self.places,
                validators=validators,
                null=self.nullable,
                blank=self.nullable,
                **options,
            )
        if self.type is FactType.COUNT:
            return models.PositiveIntegerField(validators=validators, **options)
        options.setdefault("blank", self.nullable)
        if options["blank"]:
            # Blank when the order lacks it: also for rows written by SQL that names
            # only the seed's columns.
            options.setdefault("db_default", "")
        if self.type in _CODE_LENGTHS:
            return models.CharField(max_length=_CODE_LENGTHS[self.type], **options)
        if self.type is FactType.TEXT:
            return models.CharField(max_length=self.max_length or 100, **options)
        raise TypeError(f"{self.path}: a {self.type} field is declared by the model itself")


_CODE_LENGTHS = {
    FactType.SLUG: SLUG_MAX_LENGTH,
    FactType.COUNTRY: 2,
    FactType.CURRENCY: 3,
}


class SnapshotDateTime(Func):
    """A date-time read from a snapshot's ISO 8601 text, comparable with the order's column.

    On PostgreSQL a cast. SQLite stores a date-time as the text
    ``YYYY-MM-DD HH:MM:SS[.ffffff]`` in UTC and compares it as text; a
    snapshot holds ``YYYY-MM-DDTHH:MM:SS[.ffffff]+00:00``, which becomes that
    exactly (its offset dropped, the ``T`` a space), to the microsecond.
    """

    output_field = DateTimeField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        """Return the SQLite text of the date-time."""
        return self.as_sql(
            compiler,
            connection,
            template="replace(replace(%(expressions)s, '+00:00', ''), 'T', ' ')",
            **extra,
        )

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        """Return the PostgreSQL cast of the text."""
        return self.as_sql(
            compiler, connection, template="(%(expressions)s)::timestamptz", **extra
        )


MONEY_MAXIMUM = Decimal("99999999.99")

TOTAL = Fact(
    "total",
    FactType.MONEY,
    "Order total in the order's currency, at least 0.00: shipping, tax and discounts included.",
    "150.00",
    minimum=Decimal("0.00"),
    maximum=MONEY_MAXIMUM,
)
ITEMS_COUNT = Fact(
    "items_count",
    FactType.COUNT,
    "Number of items in the order, at least 1: with lines, the sum of their quantities.",
    3,
    minimum=1,
    maximum=2**31 - 1,
    units=("item", "items"),
)
CREATED_AT = Fact(
    "created_at", FactType.DATETIME, "When the order was placed.", "2026-11-21T12:00:00+00:00"
)
UPDATED_AT = Fact(
    "updated_at",
    FactType.DATETIME,
    "When the stored order last changed; none for an ad-hoc order.",
    "2026-11-21T12:00:00+00:00",
    given=False,
    nullable=True,
)
CURRENCY = Fact(
    "currency",
    FactType.CURRENCY,
    "The order's currency, an ISO 4217 code; the service's DEFAULT_CURRENCY when not given.",
    "EUR",
)
SUBTOTAL = Fact(
    "subtotal",
    FactType.MONEY,
    "The sum of the lines' totals; none for an order without lines.",
    "120.00",
    minimum=Decimal("0.00"),
    maximum=MONEY_MAXIMUM,
    given=False,
    nullable=True,
)
LINES_COUNT = Fact(
    "lines_count",
    FactType.COUNT,
    "Number of lines in the order; 0 for an order given without lines.",
    2,
    minimum=0,
    maximum=2**31 - 1,
    given=False,
    units=("line", "lines"),
)
CUSTOMER_ID = Fact(
    "customer.id",
    FactType.TEXT,
    "The customer's id in the shop (its external id).",
    "C-1042",
    nullable=True,
    column="customer__external_id",
    max_length=100,
)
CUSTOMER_SEGMENT = Fact(
    "customer.segment",
    FactType.SLUG,
    "The customer's segment, a slug such as vip or wholesale.",
    "vip",
    nullable=True,
)
CUSTOMER_COUNTRY = Fact(
    "customer.country",
    FactType.COUNTRY,
    "The customer's country, an ISO 3166-1 alpha-2 code.",
    "DE",
    nullable=True,
)
CUSTOMER_AGE_DAYS = Fact(
    "customer.age_days",
    FactType.COUNT,
    "Whole days since the customer signed up, at the time of the check.",
    12,
    minimum=0,
    maximum=2**31 - 1,
    nullable=True,
    given=False,
    units=("day", "days"),
    column="customer__created_at",
)
SHIPPING_COUNTRY = Fact(
    "shipping.country",
    FactType.COUNTRY,
    "The country the order ships to, an ISO 3166-1 alpha-2 code.",
    "NO",
    nullable=True,
    column="shipping_country",
)
SHIPPING_REGION = Fact(
    "shipping.region",
    FactType.TEXT,
    "The region (state, province) the order ships to.",
    "Oslo",
    nullable=True,
    column="shipping_region",
    max_length=100,
)
SHIPPING_POSTAL_CODE = Fact(
    "shipping.postal_code",
    FactType.TEXT,
    "The postal code the order ships to.",
    "0150",
    nullable=True,
    column="shipping_postal_code",
    max_length=20,
)
BILLING_COUNTRY = Fact(
    "billing.country",
    FactType.COUNTRY,
    "The billing address's country, an ISO 3166-1 alpha-2 code.",
    "NO",
    nullable=True,
    column="billing_country",
)
PAYMENT_METHOD = Fact(
    "payment_method",
    FactType.SLUG,
    "How the order is paid, a slug such as card or cash_on_delivery.",
    "card",
    nullable=True,
)
CHANNEL = Fact(
    "channel",
    FactType.SLUG,
    "Where the order was placed, a slug such as web.",
    "web",
    nullable=True,
)
COUPONS = Fact(
    "coupons",
    FactType.CODES,
    "The coupon codes applied to the order; an empty list for none.",
    ["WELCOME10"],
    max_length=64,
)
ATTRIBUTES = Fact(
    "attributes.*",
    FactType.ATTRIBUTE,
    "One of the shop's own facts, by its key: attributes.gift_wrap. A string or true/false;"
    " a number is written as a string.",
    True,
    nullable=True,
    column="attributes",
)

LINE_SKU = Fact(
    "sku",
    FactType.TEXT,
    "The article's stock-keeping unit.",
    "WINE-12",
    scope=Scope.LINE,
    max_length=64,
)
LINE_NAME = Fact(
    "name",
    FactType.TEXT,
    "The article's name.",
    "Rioja 2019",
    scope=Scope.LINE,
    max_length=200,
    nullable=True,
)
LINE_CATEGORY = Fact(
    "category", FactType.SLUG, "The article's category, a slug.", "alcohol", scope=Scope.LINE
)
LINE_QUANTITY = Fact(
    "quantity",
    FactType.COUNT,
    "How many of the article, at least 1.",
    2,
    minimum=1,
    maximum=1_000_000,
    scope=Scope.LINE,
    units=("unit", "units"),
)
LINE_UNIT_PRICE = Fact(
    "unit_price",
    FactType.MONEY,
    "The price of one unit, at least 0.00.",
    "12.50",
    minimum=Decimal("0.00"),
    maximum=MONEY_MAXIMUM,
    scope=Scope.LINE,
)
LINE_TOTAL = Fact(
    "line_total",
    FactType.MONEY,
    "Quantity times unit price.",
    "25.00",
    minimum=Decimal("0.00"),
    maximum=MONEY_MAXIMUM,
    scope=Scope.LINE,
    given=False,
)

# Every fact of an order, in the order the API lists them: first the
# columns a seed-style order has, then what real orders add.
ORDER_FACTS: tuple[Fact, ...] = (
    TOTAL,
    ITEMS_COUNT,
    CREATED_AT,
    UPDATED_AT,
    CURRENCY,
    SUBTOTAL,
    LINES_COUNT,
    CUSTOMER_ID,
    CUSTOMER_SEGMENT,
    CUSTOMER_COUNTRY,
    CUSTOMER_AGE_DAYS,
    SHIPPING_COUNTRY,
    SHIPPING_REGION,
    SHIPPING_POSTAL_CODE,
    BILLING_COUNTRY,
    PAYMENT_METHOD,
    CHANNEL,
    COUPONS,
    ATTRIBUTES,
)
# Every fact of each line of an order.
LINE_FACTS: tuple[Fact, ...] = (
    LINE_SKU,
    LINE_NAME,
    LINE_CATEGORY,
    LINE_QUANTITY,
    LINE_UNIT_PRICE,
    LINE_TOTAL,
)
# The facts a seed-style order is: the order table's first columns.
SEED_FACTS: tuple[Fact, ...] = (TOTAL, ITEMS_COUNT, CREATED_AT, UPDATED_AT)
FACTS_BY_PATH: Mapping[str, Fact] = {fact.path: fact for fact in ORDER_FACTS}
# The facts an order keeps in a column of its own, under the fact's name: read
# from a stored order and given by a cart as they are (``total``, ``channel``).
# A fact added to the order is one of them: its declaration, the model's field
# and a migration.
OWN_FACTS: tuple[Fact, ...] = tuple(
    fact
    for fact in ORDER_FACTS
    if "." not in fact.path
    and fact.type not in (FactType.CODES, FactType.ATTRIBUTE)
    and fact not in (SUBTOTAL, LINES_COUNT)
)
# Every fact a rule can read, as ``GET /facts/`` and the docs list them.
CATALOGUE: tuple[Fact, ...] = (*ORDER_FACTS, *LINE_FACTS)
# The facts providers supply, by path (``risk.score``): each joins when its
# provider's class is defined (``rules.engine.providers``), so that conditions,
# ``GET /facts/`` and snapshots know it like the order's own.
PROVIDED_FACTS: dict[str, Fact] = {}


def catalogue() -> tuple[Fact, ...]:
    """Return every fact a rule can read: the order's and its lines', then the providers'."""
    return (*CATALOGUE, *PROVIDED_FACTS.values())


LINE_FACTS_BY_PATH: Mapping[str, Fact] = {fact.path: fact for fact in LINE_FACTS}


def default_currency() -> str:
    """Return the currency of an order that names none: ``DEFAULT_CURRENCY``."""
    return str(settings.DEFAULT_CURRENCY)


def age_days(signed_up: datetime, now: datetime) -> int:
    """Return the whole days from *signed_up* to *now*; 0 for a sign-up in the future."""
    return max((now - signed_up) // timedelta(days=1), 0)


@dataclass(slots=True)
class LineFacts:
    """One line of an order as rules see it."""

    sku: str
    category: str
    quantity: int
    unit_price: Decimal
    name: str | None = None

    @property
    def line_total(self) -> Decimal:
        """Return quantity times unit price."""
        return self.quantity * self.unit_price

    def as_json(self) -> dict[str, Any]:
        """Return the line as a snapshot and the API write it."""
        shown = {fact.path: fact.to_json(fact.read(self)) for fact in LINE_FACTS}
        return {path: value for path, value in shown.items() if value is not None}


@dataclass(slots=True)
class CustomerFacts:
    """The customer of an order as rules see it; ``age_days`` as of the check."""

    id: str
    segment: str | None = None
    country: str | None = None
    age_days: int | None = None


@dataclass(slots=True)
class AddressFacts:
    """An address as rules see it (billing has a country only)."""

    country: str | None = None
    region: str | None = None
    postal_code: str | None = None


_EMPTY: Mapping[str, Any] = MappingProxyType({})


@dataclass(slots=True)
class OrderFacts:
    """An order as rules see it: stored, given as a cart, or replayed from a snapshot.

    ``pk`` is the stored order's id (``None`` for a cart). A part the order
    lacks is ``None`` (a customer, an address, a payment method), or empty
    (coupons, lines, attributes). Made once per check; rules only read it.
    """

    total: Decimal
    items_count: int
    created_at: datetime
    pk: int | None = None
    updated_at: datetime | None = None
    currency: str = field(default_factory=default_currency)
    customer: CustomerFacts | None = None
    shipping: AddressFacts | None = None
    billing: AddressFacts | None = None
    payment_method: str | None = None
    channel: str | None = None
    coupons: tuple[str, ...] = ()
    lines: tuple[LineFacts, ...] = ()
    attributes: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    # Set when a check's rules need providers: their facts by path (a value, or
    # ``Unavailable``), and what each provider supplied, by provider name.
    provided: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    supplied: Mapping[str, Supplied] = field(default_factory=lambda: _EMPTY)

    @property
    def lines_count(self) -> int:
        """Return how many lines the order has."""
        return len(self.lines)

    @property
    def subtotal(self) -> Decimal | None:
        """Return the sum of the lines' totals, ``None`` without lines."""
        if not self.lines:
            return None
        return sum((line.line_total for line in self.lines), Decimal("0.00"))


def snapshot(order: OrderFacts) -> dict[str, Any]:
    """Return *order* as a decision keeps it: JSON values by path, nested parts as objects.

    A part the order lacks is left out, so a seed-style order's snapshot
    is its four facts and its currency. What providers supplied for the
    check is kept under ``providers``, by provider name (``Supplied``).
    """
    kept: dict[str, Any] = {
        fact.path: fact.to_json(fact.read(order)) for fact in (*SEED_FACTS, CURRENCY)
    }
    for part in ("customer", "shipping", "billing"):
        facts = getattr(order, part)
        if facts is not None:
            kept[part] = _present(facts)
    for fact in (PAYMENT_METHOD, CHANNEL):
        if fact.read(order) is not None:
            kept[fact.path] = fact.read(order)
    if order.coupons:
        kept["coupons"] = list(order.coupons)
    if order.lines:
        kept["lines"] = [line.as_json() for line in order.lines]
    if order.attributes:
        kept["attributes"] = dict(order.attributes)
    if order.supplied:
        kept["providers"] = {
            name: record.as_json(PROVIDED_FACTS) for name, record in order.supplied.items()
        }
    return kept


def _present(part: CustomerFacts | AddressFacts) -> dict[str, Any]:
    """Return a part of an order (a slotted dataclass of JSON values) without its ``None``s."""
    values = ((name, getattr(part, name)) for name in part.__slots__)
    return {name: value for name, value in values if value is not None}


def from_snapshot(recorded: Mapping[str, Any], *, pk: int | None = None) -> OrderFacts:
    """Return the order a decision's *recorded* snapshot holds, as rules saw it."""
    customer = recorded.get("customer")
    supplied = {
        name: Supplied.from_json(name, record, PROVIDED_FACTS)
        for name, record in (recorded.get("providers") or {}).items()
    }
    return OrderFacts(
        pk=pk,
        **{fact.path: fact.from_json(recorded.get(fact.path)) for fact in SEED_FACTS},
        currency=recorded.get(CURRENCY.path) or default_currency(),
        customer=None if customer is None else CustomerFacts(**customer),
        shipping=_address(recorded.get("shipping")),
        billing=_address(recorded.get("billing")),
        payment_method=recorded.get(PAYMENT_METHOD.path),
        channel=recorded.get(CHANNEL.path),
        coupons=tuple(recorded.get(COUPONS.path) or ()),
        lines=tuple(_line(line) for line in recorded.get("lines") or ()),
        attributes=MappingProxyType(dict(recorded.get("attributes") or {})),
        provided=MappingProxyType(provided_facts(supplied)),
        supplied=MappingProxyType(supplied),
    )


def _address(recorded: Mapping[str, Any] | None) -> AddressFacts | None:
    """Return a recorded address, ``None`` when the snapshot has none."""
    return None if recorded is None else AddressFacts(**recorded)


def _line(recorded: Mapping[str, Any]) -> LineFacts:
    """Return a recorded line (its total is derived again, from its quantity and price)."""
    return LineFacts(
        sku=recorded["sku"],
        category=recorded["category"],
        quantity=recorded["quantity"],
        unit_price=Decimal(recorded["unit_price"]),
        name=recorded.get("name"),
    )


def snapshot_values(recorded: Mapping[str, Any]) -> dict[str, Any]:
    """Return the Python values of a *recorded* snapshot's seed facts, by path."""
    return {fact.path: fact.from_json(recorded.get(fact.path)) for fact in SEED_FACTS}


def snapshot_aliases(column: str) -> dict[str, Expression]:
    """Return each seed fact read from the JSON *column* of snapshots, under the fact's path."""
    return {fact.path: fact.snapshot_sql(column) for fact in SEED_FACTS}


def lines_facts(lines: Iterable[Any]) -> tuple[LineFacts, ...]:
    """Return stored *lines* (``OrderLine`` rows, in their order) as rules see them."""
    return tuple(
        LineFacts(
            sku=line.sku,
            category=line.category,
            quantity=line.quantity,
            unit_price=line.unit_price,
            name=line.name or None,
        )
        for line in lines
    )
