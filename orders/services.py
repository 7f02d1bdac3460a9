"""Writing orders: the one place orders are created, changed, deleted and seeded."""

import random
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import islice
from typing import NamedTuple

from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper
from django.utils import timezone

from orders.models import Order

SEED_ORDERS: tuple[tuple[Decimal, int], ...] = (
    (Decimal("150.00"), 3),
    (Decimal("75.50"), 1),
    (Decimal("200.00"), 5),
)

# Random orders: totals of 1 to 10 digits of cents (0.00 ... 99999999.99, so
# small and huge orders alike), 1 to 20 items, placed over the year before `until`.
RANDOM_TOTAL_DIGITS = 10
RANDOM_MAX_ITEMS = 20
RANDOM_SPAN = timedelta(days=365)
# Rows stream into the database, so a batch's size costs no memory. Each
# commit rewrites index pages all over the table (totals and times are random),
# so bigger batches are much faster on SQLite; 100,000 orders hold SQLite's
# write lock for about 1.5 s.
SEED_BATCH_SIZE = 100_000

# Only names from the model are formatted into these; every value is a parameter.
_INSERT = "INSERT INTO {target} VALUES (%s, %s, %s, %s)"
_COPY = "COPY {target} FROM STDIN"
_COPY_LINES_PER_READ = 2000


class RandomOrder(NamedTuple):
    """One generated order: its total as text with two decimals, items and time."""

    total: str
    items_count: int
    created_at: datetime


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


def random_orders(*, count: int, seed: int | None, until: datetime) -> Iterator[RandomOrder]:
    """Yield *count* random valid orders placed in the year before *until*, lazily.

    The same *seed* and *until* always give the same orders; ``None`` seeds
    from the operating system.
    """
    rng = random.Random(seed)  # noqa: S311 - sample data, not a secret
    span = RANDOM_SPAN // timedelta(microseconds=1)
    for _ in range(count):
        digits = rng.randint(1, RANDOM_TOTAL_DIGITS)
        cents = rng.randrange(10 ** (digits - 1) if digits > 1 else 0, 10**digits)
        yield RandomOrder(
            total=f"{cents // 100}.{cents % 100:02d}",
            items_count=rng.randint(1, RANDOM_MAX_ITEMS),
            created_at=until - timedelta(microseconds=rng.randrange(span)),
        )


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


def _columns() -> str:
    """Return the quoted table and column names that seeding writes."""
    quote = connection.ops.quote_name
    names = ("total", "items_count", "created_at", "updated_at")
    columns = ", ".join(quote(Order._meta.get_field(name).column) for name in names)
    return f"{quote(Order._meta.db_table)} ({columns})"


def _insert_rows(cursor: CursorWrapper, rows: Iterable[RandomOrder]) -> None:
    """Insert *rows* with one ``executemany`` of a parameterised ``INSERT``."""
    adapt = connection.ops.adapt_datetimefield_value
    params = (
        (row.total, row.items_count, (created_at := adapt(row.created_at)), created_at)
        for row in rows
    )
    cursor.executemany(_INSERT.format(target=_columns()), params)


def _copy_rows(cursor: CursorWrapper, rows: Iterable[RandomOrder]) -> None:
    """Load *rows* with PostgreSQL's ``COPY ... FROM STDIN`` (psycopg2)."""
    lines = (
        f"{row.total}\t{row.items_count}\t{(created_at := row.created_at.isoformat())}"
        f"\t{created_at}\n"
        for row in rows
    )
    cursor.copy_expert(_COPY.format(target=_columns()), _LineReader(lines))


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
