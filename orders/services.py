"""Writing orders: the one place orders are created, changed, deleted and seeded."""

import json
import random
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from decimal import Decimal
from itertools import islice
from typing import Any, Required, TypedDict, Unpack

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper
from django.db.models import DateTimeField, Field, JSONField, Sum
from django.utils import timezone

from orders.errors import InconsistentOrderError
from orders.facts import (
    CREATED_AT,
    ORDER_FACTS,
    OWN_FACTS,
    SEED_FACTS,
    UPDATED_AT,
    FactType,
    default_currency,
)
from orders.models import Customer, Order, OrderLine

SEED_ORDERS: tuple[tuple[Decimal, int], ...] = (
    (Decimal("150.00"), 3),
    (Decimal("75.50"), 1),
    (Decimal("200.00"), 5),
)

# Rows stream into the database, so a batch's size costs no memory. Each
# commit rewrites index pages all over the table (totals and times are random),
# so bigger batches are much faster on SQLite; 100,000 orders hold SQLite's
# write lock for about 1.5 s.
SEED_BATCH_SIZE = 100_000

_COPY_LINES_PER_READ = 2000


class CustomerGiven(TypedDict, total=False):
    """A customer as an order names it: its id in the shop, and any of its facts."""

    id: Required[str]
    segment: str | None
    country: str | None
    created_at: datetime


class AddressGiven(TypedDict, total=False):
    """An address as an order gives it (billing has a country only)."""

    country: str | None
    region: str | None
    postal_code: str | None


class LineGiven(TypedDict, total=False):
    """A line as an order gives it."""

    sku: Required[str]
    name: str | None
    category: Required[str]
    quantity: Required[int]
    unit_price: Required[Decimal]


class OrderGiven(TypedDict, total=False):
    """What a client gives of an order: each part it gives, by name; ``None``, none."""

    total: Decimal
    items_count: int
    currency: str
    customer: CustomerGiven | None
    shipping: AddressGiven | None
    billing: AddressGiven | None
    payment_method: str | None
    channel: str | None
    coupons: list[str]
    lines: list[LineGiven]
    attributes: dict[str, Any]


# The columns each address of an order is kept in, by the address's field
# (``shipping.country`` in ``shipping_country``), as its facts declare them.
_ADDRESS_COLUMNS = {
    part: {
        fact.path.partition(".")[2]: str(fact.column)
        for fact in ORDER_FACTS
        if fact.path.startswith(f"{part}.")
    }
    for part in ("shipping", "billing")
}
# The facts an order keeps in a column of its own that a client gives: all but its times.
_GIVEN_COLUMNS = tuple(
    fact.path for fact in OWN_FACTS if fact.given and fact.type is not FactType.DATETIME
)


def order_create(**given: Unpack[OrderGiven]) -> Order:
    """Validate and store a new order with its lines and customer, all or nothing.

    ``total`` is required, and ``items_count`` without lines: with lines it
    is the sum of their quantities. Raises
    ``django.core.exceptions.ValidationError`` for an invalid value, and
    ``InconsistentOrderError`` when ``items_count`` is not that sum; nothing
    is written then.
    """
    return _order_write(Order(), {**_absent(), **given})


def order_update(*, order: Order, **changes: Unpack[OrderGiven]) -> Order:
    """Validate and store *changes* to *order*; a part not given is left as it is.

    Lines given replace the order's lines as a whole; ``None`` for a
    customer, an address or a payment method removes it. Raises like
    ``order_create``; the stored order is unchanged then. With its lines
    kept, ``items_count`` must still be the sum of their quantities.
    """
    return _order_write(order, dict(changes))


def order_replace(*, order: Order, **given: Unpack[OrderGiven]) -> Order:
    """Replace every part of *order* by *given*: a part it leaves out, the order no longer has.

    Raises like ``order_create``; the stored order is unchanged then.
    """
    return _order_write(order, {**_absent(), **given})


def order_delete(*, order: Order) -> None:
    """Delete *order* and its lines."""
    order.delete()


def order_lines_sync(*, order: Order) -> Order:
    """Derive *order*'s ``subtotal``, ``lines_count`` and ``items_count`` from its stored lines.

    For writers that store lines themselves (the admin's inline): the lines
    are numbered from 1 in their order, and an order with lines gets the sum
    of their quantities as its ``items_count``.
    """
    with transaction.atomic():
        lines = list(order.lines.order_by("position"))
        for position, line in enumerate(lines, start=1):
            # Ascending, a line only moves down into a place already freed.
            if line.position != position:
                line.position = position
                line.save(update_fields=["position"])
        _set_lines_totals(order, lines)
        if lines:
            order.items_count = sum(line.quantity for line in lines)
        _validate_and_save(order)
    return order


def _absent() -> OrderGiven:
    """Return what an order that lacks every optional part has."""
    return {
        "currency": default_currency(),
        "customer": None,
        "shipping": None,
        "billing": None,
        "payment_method": None,
        "channel": None,
        "coupons": [],
        "lines": [],
        "attributes": {},
    }


def _order_write(order: Order, given: OrderGiven) -> Order:
    """Set on *order* the parts *given* gives, store it and its lines, all in one transaction."""
    with transaction.atomic():
        lines = None if "lines" not in given else _lines(given["lines"])
        for path in _GIVEN_COLUMNS:
            if path in given:
                value = given[path]  # type: ignore[literal-required]
                setattr(order, path, "" if value is None else value)
        for part, columns in _ADDRESS_COLUMNS.items():
            if part in given:
                address = given[part] or {}  # type: ignore[literal-required]
                for name, column in columns.items():
                    setattr(order, column, address.get(name) or "")
        if "coupons" in given:
            order.coupons = list(given["coupons"])
        if "attributes" in given:
            order.attributes = dict(given["attributes"])
        if "customer" in given:
            customer = given["customer"]
            order.customer = None if customer is None else customer_upsert(**customer)
        if lines is not None:
            _set_lines_totals(order, lines)
            if lines:
                order.items_count = _items_count(given.get("items_count"), lines)
        elif order.lines_count and "items_count" in given:
            stored = order.lines.aggregate(quantities=Sum("quantity"))["quantities"]
            _items_count(given["items_count"], quantities=stored)
        _validate_and_save(order)
        if lines is not None:
            order.lines.all().delete()
            for position, line in enumerate(lines, start=1):
                line.order, line.position = order, position
            OrderLine.objects.bulk_create(lines)
    return order


def _lines(given: list[LineGiven]) -> list[OrderLine]:
    """Return the lines *given*, validated; raise ``ValidationError`` naming bad ones' paths."""
    lines, errors = [], {}
    for index, values in enumerate(given):
        line = OrderLine(**{**values, "name": values.get("name") or ""})
        try:
            # Their order and place are set when stored; each line is checked on its own.
            line.full_clean(exclude=["order", "position"], validate_constraints=False)
        except ValidationError as exc:
            errors.update(
                {f"lines[{index}].{name}": messages for name, messages in exc.message_dict.items()}
            )
        lines.append(line)
    if errors:
        raise ValidationError(errors)
    return lines


def _set_lines_totals(order: Order, lines: list[OrderLine]) -> None:
    """Set *order*'s ``subtotal`` and ``lines_count`` from its *lines*."""
    order.lines_count = len(lines)
    order.subtotal = (
        sum((line.quantity * line.unit_price for line in lines), Decimal("0.00"))
        if lines
        else None
    )


def _items_count(
    given: int | None, lines: list[OrderLine] | None = None, *, quantities: int | None = None
) -> int:
    """Return the items of an order with lines: the sum of their *quantities*.

    Raises ``InconsistentOrderError`` when an ``items_count`` was *given*
    and is another number.
    """
    if quantities is None:
        quantities = sum(line.quantity for line in lines or ())
    if given is not None and given != quantities:
        raise InconsistentOrderError(given, quantities)
    return quantities


def customer_upsert(*, id: str, **facts: Any) -> Customer:
    """Return the customer whose id in the shop is *id*, created if new; *facts* update it.

    ``None`` for a segment or a country removes it. Raises
    ``django.core.exceptions.ValidationError`` for an invalid value.
    """
    values = {name: "" if value is None else value for name, value in facts.items()}
    Customer(external_id=id, **values).full_clean(validate_unique=False)
    # A customer created meanwhile by another request is found, not made twice.
    customer, _ = Customer.objects.get_or_create(external_id=id, defaults=values)
    changed = [name for name, value in values.items() if getattr(customer, name) != value]
    if changed:
        for name in changed:
            setattr(customer, name, values[name])
        customer.save(update_fields=changed)
    return customer


def _validate_and_save(order: Order) -> None:
    """Validate *order*, its database constraints included, and save it.

    ``full_clean`` checks the same constraints the database enforces, on the
    values being saved, so no request can reach a row the database refuses;
    the constraints stay the last line for any other writer.
    """
    order.full_clean()
    order.save()


@transaction.atomic
def orders_seed() -> list[Order]:
    """Create the three sample orders on an empty table; return those created.

    Returns an empty list when any order exists. Concurrent callers are
    serialised by a table lock (PostgreSQL) or an immediate transaction
    (SQLite), so the table never holds the samples twice.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {Order._meta.db_table} IN SHARE ROW EXCLUSIVE MODE")
    if Order.objects.exists():
        return []
    return [order_create(total=total, items_count=count) for total, count in SEED_ORDERS]


def random_orders(*, count: int, seed: int | None, until: datetime) -> Iterator[dict[str, Any]]:
    """Yield *count* random valid orders placed in the year before *until*, lazily.

    Each is its facts by path, every one drawn as its declaration says
    (``orders.facts``), but ``updated_at``: a seeded order was last changed
    when it was placed. The same *seed* and *until* always give the same
    orders; ``None`` seeds from the operating system.
    """
    rng = random.Random(seed)  # noqa: S311 - sample data, not a secret
    draws = [(fact.path, fact.sampler(rng, until=until)) for fact in SEED_FACTS if fact.given]
    for _ in range(count):
        order = {path: draw() for path, draw in draws}
        order[UPDATED_AT.path] = order[CREATED_AT.path]
        yield order


def orders_seed_random(
    *,
    count: int,
    seed: int | None = None,
    until: datetime | None = None,
    batch_size: int = SEED_BATCH_SIZE,
    progress: Callable[[int], object] | None = None,
) -> int:
    """Add *count* random orders (see ``random_orders``); return how many were added.

    Orders are generated while they are written, one batch per transaction,
    so memory stays flat whatever *count* is; an interrupted run keeps the
    batches already committed. *until* defaults to now. *progress* is called
    with the size of each committed batch. PostgreSQL loads each batch with a
    streamed ``COPY``, other databases with one ``executemany``.
    ``updated_at`` equals ``created_at``.
    """
    rows = random_orders(count=count, seed=seed, until=until or timezone.now())
    write = _copy_rows if connection.vendor == "postgresql" else _insert_rows
    written = 0
    while written < count:
        size = min(batch_size, count - written)
        with transaction.atomic(), connection.cursor() as cursor:
            write(cursor, islice(rows, size))
        written += size
        if progress is not None:
            progress(size)
    return written


def _seed_fields() -> list[Field]:
    """Return the order's columns that seeding writes: all but the id."""
    return [field for field in Order._meta.concrete_fields if not field.primary_key]


def _columns() -> str:
    """Return the quoted table and the columns that seeding writes."""
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in _seed_fields())
    return f"{quote(Order._meta.db_table)} ({columns})"


def _row_values(
    fields: list[Field], shown: dict[type[Field], Callable[[Any], Any]]
) -> Callable[[dict[str, Any]], list[Any]]:
    """Return what turns a random order into its row: each field's value, or its default.

    A value is written as *shown* says for its field's class (JSON as text,
    a date-time as the database takes it), any other as its text; ``None``
    stays ``NULL``.
    """
    defaults = {field.name: field.get_default() for field in fields}
    converters = [(field.name, shown.get(type(field), str)) for field in fields]

    def values(row: dict[str, Any]) -> list[Any]:
        given = [(row.get(name, defaults[name]), convert) for name, convert in converters]
        return [None if value is None else convert(value) for value, convert in given]

    return values


def _insert_rows(cursor: CursorWrapper, rows: Iterable[dict[str, Any]]) -> None:
    """Insert *rows* with one ``executemany`` of a parameterised ``INSERT``.

    Only the model's own names are formatted in; every value is a parameter.
    Date-times are adapted by the database's own operations, as the ORM
    adapts them.
    """
    fields = _seed_fields()
    shown = {DateTimeField: connection.ops.adapt_datetimefield_value, JSONField: json.dumps}
    values = _row_values(fields, shown)
    placeholders = ", ".join(["%s"] * len(fields))
    insert = f"INSERT INTO {_columns()} VALUES ({placeholders})"  # noqa: S608  # nosec B608
    cursor.executemany(insert, (values(row) for row in rows))


def _copy_rows(cursor: CursorWrapper, rows: Iterable[dict[str, Any]]) -> None:
    r"""Load *rows* with PostgreSQL's ``COPY ... FROM STDIN`` (psycopg2), as text.

    ``\\N`` is ``COPY``'s ``NULL``; no seeded text holds a tab, a newline or a
    backslash, which ``COPY`` would read as its own.
    """
    shown = {DateTimeField: datetime.isoformat, JSONField: json.dumps}
    values = _row_values(_seed_fields(), shown)
    lines = (
        "\t".join(["\\N" if value is None else value for value in values(row)]) + "\n"
        for row in rows
    )
    cursor.copy_expert(f"COPY {_columns()} FROM STDIN", _LineReader(lines))


class _LineReader:
    """A file-like ``read`` over lines, so ``COPY`` gets rows as they are made.

    The server stores one chunk while the next one is generated.
    """

    def __init__(self, lines: Iterator[str]) -> None:
        """Read from *lines*."""
        self._lines = lines

    def read(self, size: int = -1) -> str:
        """Return the next lines joined, or ``""`` at the end."""
        return "".join(islice(self._lines, _COPY_LINES_PER_READ))
