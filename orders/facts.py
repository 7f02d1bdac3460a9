"""The order as rules see it, declared once: its facts.

A *fact* is one value a rule reads from an order (``total``, ``items_count``,
``created_at``). Each is declared here once: its path, type, limits,
description and an example. Everything else derives from the declaration:
the Order model's field limits, the fields of an ad-hoc order and of a
decision's snapshot in the API, the snapshot a decision keeps (written and
read), the variables of stored conditions, the values threshold rules
compare, the SQL that reads a fact from stored orders and from recorded
snapshots, and the rows of the seed's bulk path.

A fact's *type* decides how its values behave: money is a ``Decimal`` of
whole cents, written as a string (``"75.50"``); a count is a whole number; a
date-time is aware, written in ISO 8601. Adding a fact of a known type is
this declaration, the model's field and a migration.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import BigIntegerField, DateTimeField, DecimalField, F, Func
from django.db.models.expressions import Expression
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast
from django.utils.dateparse import parse_datetime

CENT = Decimal("0.01")
# The seed's random orders: placed over the year before a moment, with up to
# this many items.
SEED_SPAN = timedelta(days=365)
SEED_MAX_COUNT = 20


class FactType(StrEnum):
    """What kind of value a fact holds; it decides how the value compares, reads and prints."""

    MONEY = "money"
    COUNT = "count"
    DATETIME = "datetime"


def _datetime_json(value: datetime) -> str:
    """Return an aware date-time as JSON carries it: ISO 8601, in UTC."""
    return value.astimezone(UTC).isoformat()


# How each type of value is written as JSON: run for every value of every
# check and snapshot, so a fact holds its own from the start.
_JSON = {FactType.MONEY: str, FactType.COUNT: int, FactType.DATETIME: _datetime_json}


@dataclass(frozen=True, slots=True)
class Fact:
    """One value a rule can read from an order, and everything needed to read it anywhere.

    ``minimum`` and ``maximum`` bound a money or count fact (the database
    column's range); ``given`` says whether an ad-hoc order may give it (the
    service sets ``updated_at``); ``nullable``, whether an order may lack it
    (an ad-hoc order has no ``updated_at``). ``units`` names a count's unit,
    singular and plural, for messages ("3 items"). A fact with a ``default``
    may be left out of an order, which then has that value: a fact added to
    orders that exist already.
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
    json: Callable[[Any], Any] = field(init=False, repr=False, compare=False)
    words: Callable[[Any], str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Choose, once, how this fact's values are written as JSON and in words."""
        # A frozen dataclass sets its derived fields through object's own setter.
        object.__setattr__(self, "json", _JSON[self.type])
        object.__setattr__(self, "words", self._words())

    def _words(self) -> Callable[[Any], str]:
        """Return how a message says a value: with the fact's unit, or as JSON has it."""
        if self.units is not None:
            singular, plural = self.units
            return lambda value: f"{value} {singular if value == 1 else plural}"
        return _datetime_json if self.type is FactType.DATETIME else str

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

    def read(self, order: Any) -> Any:
        """Return this fact's value on *order*."""
        return getattr(order, self.path)

    def to_json(self, value: Any) -> Any:
        """Return *value* as JSON carries it: money as a string, a date-time in ISO 8601 (UTC)."""
        return None if value is None else self.json(value)

    def from_json(self, value: Any) -> Any:
        """Return the Python value of what ``to_json`` wrote."""
        if value is None or self.type is FactType.COUNT:
            return value
        if self.type is FactType.MONEY:
            return Decimal(value)
        return parse_datetime(value)

    def phrase(self, value: Any) -> str:
        """Return *value* as a message says it: "75.50", "1 item", "3 items"."""
        return self.words(value)

    def sql(self) -> F:
        """Return this fact as a column of the orders table."""
        return F(self.path)

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
        """Return the Order model's field for a money or count fact, with its limits.

        *options* (``help_text``, ...) go to the field as they are.
        """
        validators = [MinValueValidator(self.minimum)] if self.minimum is not None else []
        if self.default is not None:
            options.setdefault("default", self.default)
        if self.type is FactType.MONEY:
            return models.DecimalField(
                max_digits=self.digits,
                decimal_places=self.places,
                validators=validators,
                **options,
            )
        if self.type is FactType.COUNT:
            return models.PositiveIntegerField(validators=validators, **options)
        raise TypeError(f"{self.path}: a {self.type} field is declared by the model itself")

    def sampler(self, rng: random.Random, *, until: datetime) -> Callable[[], Any]:
        """Return a function drawing random valid values of this fact from *rng*, for the seed.

        Money spreads over every length of its digits, so small and huge
        amounts come alike; a count lies between its minimum and
        ``SEED_MAX_COUNT``; a date-time in the ``SEED_SPAN`` before *until*.
        """
        if self.type is FactType.MONEY:
            most = self.digits

            def money() -> Decimal:
                digits = rng.randint(1, most)
                cents = rng.randrange(10 ** (digits - 1) if digits > 1 else 0, 10**digits)
                return Decimal(cents) * CENT

            return money
        if self.type is FactType.COUNT:
            least = int(self.minimum or 0)
            return lambda: rng.randint(least, SEED_MAX_COUNT)
        span = SEED_SPAN // timedelta(microseconds=1)
        return lambda: until - timedelta(microseconds=rng.randrange(span))


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


TOTAL = Fact(
    "total",
    FactType.MONEY,
    "Order total in the shop's currency, at least 0.00.",
    "150.00",
    minimum=Decimal("0.00"),
    maximum=Decimal("99999999.99"),
)
ITEMS_COUNT = Fact(
    "items_count",
    FactType.COUNT,
    "Number of items in the order, at least 1.",
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

# Every fact of an order, in the order the API lists them.
ORDER_FACTS: tuple[Fact, ...] = (TOTAL, ITEMS_COUNT, CREATED_AT, UPDATED_AT)
FACTS_BY_PATH: Mapping[str, Fact] = {fact.path: fact for fact in ORDER_FACTS}


def snapshot(order: Any) -> dict[str, Any]:
    """Return *order*'s facts as a decision keeps them: JSON values by path."""
    return {fact.path: fact.to_json(fact.read(order)) for fact in ORDER_FACTS}


def snapshot_values(recorded: Mapping[str, Any]) -> dict[str, Any]:
    """Return the Python values of a *recorded* snapshot, by path: an order's fields."""
    return {fact.path: fact.from_json(recorded.get(fact.path)) for fact in ORDER_FACTS}


def snapshot_aliases(column: str) -> dict[str, Expression]:
    """Return each fact read from the JSON *column* of snapshots, under the fact's path."""
    return {fact.path: fact.snapshot_sql(column) for fact in ORDER_FACTS}
