"""Writing orders: the one place orders are created, changed, deleted and seeded."""

import json
import random
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from decimal import Decimal
from itertools import islice
from typing import Any

from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper
from django.db.models import DateTimeField, Field, JSONField
from django.utils import timezone

from orders.facts import CREATED_AT, SEED_FACTS, UPDATED_AT
from orders.models import Order

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


def order_create(*, total: Decimal, items_count: int) -> Order:
    """Validate and store a new order.

    Raises ``django.core.exceptions.ValidationError`` for a negative total or
    an item count below one; nothing is written then.
    """
    order = Order(total=total, items_count=items_count)
    _validate_and_save(order)
    return order


def order_update(
    *, order: Order, total: Decimal | None = None, items_count: int | None = None
) -> Order:
    """Validate and store new values for *order*; ``None`` leaves a field as it is.

    Raises ``django.core.exceptions.ValidationError`` like ``order_create``;
    the stored order is unchanged then.
    """
    if total is not None:
        order.total = total
    if items_count is not None:
        order.items_count = items_count
    _validate_and_save(order)
    return order


def order_delete(*, order: Order) -> None:
    """Delete *order*."""
    order.delete()


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
