"""Seeding orders: the three sample orders, and realistic random orders in bulk.

Realistic orders are drawn from ``orders.sample_data``: 1 to 8 lines of the
catalogue's articles, a customer (one in four orders brings a new one, the
others come from customers already seen), where it ships, how it is paid,
coupons on about one order in ten, and a total of the lines plus shipping and
tax, less the coupons' discounts. The same seed gives the same orders.

They are written in batches, one transaction each, in flat memory: each
batch reserves ids for its new customers and its orders, then writes the
customers, the orders and their lines, a chunk at a time (one
``executemany`` per table and chunk; a ``COPY`` on PostgreSQL).
"""

from __future__ import annotations

import io
import json
import random
import secrets
from bisect import bisect, bisect_right
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from itertools import accumulate, islice
from typing import Any

from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper
from django.db.models import Model
from django.utils import timezone

from orders import sample_data
from orders.facts import SEED_SPAN, default_currency
from orders.models import Customer, Order, OrderLine
from orders.services import order_create

SEED_ORDERS: tuple[tuple[Decimal, int], ...] = (
    (Decimal("150.00"), 3),
    (Decimal("75.50"), 1),
    (Decimal("200.00"), 5),
)
# What ``make run`` adds once to the three sample orders (``seed_orders --demo``).
DEMO_COUNT = 500
DEMO_SEED = 1

# Orders per transaction. Each commit rewrites index pages all over the
# tables (totals, times and categories are random), so bigger batches are
# faster on SQLite; a batch holds SQLite's write lock for a few seconds.
SEED_BATCH_SIZE = 50_000
# Orders generated at a time: what memory holds, whatever the count.
SEED_CHUNK_SIZE = 2000
# Rows of each index SQLite reads to refresh its statistics after a seed.
SQLITE_ANALYSIS_LIMIT = 1000
# Order number i brings a new customer when i is a multiple of this.
ORDERS_PER_NEW_CUSTOMER = 4
# Customers signed up within this time before the last order.
SIGN_UP_SPAN = timedelta(days=3 * 365)

CUSTOMER_COLUMNS = ("id", "external_id", "segment", "country", "created_at")
ORDER_COLUMNS = (
    "id",
    "total",
    "items_count",
    "created_at",
    "updated_at",
    "currency",
    "customer_id",
    "shipping_country",
    "shipping_region",
    "shipping_postal_code",
    "billing_country",
    "payment_method",
    "channel",
    "coupons",
    "attributes",
    "subtotal",
    "lines_count",
)
LINE_COLUMNS = ("order_id", "position", "sku", "name", "category", "quantity", "unit_price")

_MASK64 = 2**64 - 1


@transaction.atomic
def orders_seed() -> list[Order]:
    """Create the three sample orders on an empty table; return those created.

    Returns an empty list when any order exists. Concurrent callers are
    serialised by a table lock (PostgreSQL) or an immediate transaction
    (SQLite), so the table never holds the samples twice.
    """
    _lock_orders()
    if Order.objects.exists():
        return []
    return [order_create(total=total, items_count=count) for total, count in SEED_ORDERS]


@transaction.atomic
def orders_seed_demo(*, count: int = DEMO_COUNT, seed: int = DEMO_SEED) -> int:
    """Add *count* realistic orders when the table holds just the sample orders; return how many.

    Returns 0 when it holds anything else (the demo orders already, or real
    ones), so a release step can run it every time. Serialised like
    ``orders_seed``.
    """
    _lock_orders()
    held = sorted(Order.objects.filter(lines_count=0).values_list("total", "items_count"))
    if Order.objects.count() != len(SEED_ORDERS) or held != sorted(SEED_ORDERS):
        return 0
    return orders_seed_random(count=count, seed=seed)


def _lock_orders() -> None:
    """Lock the orders table against other writers until the transaction ends (PostgreSQL).

    SQLite's transactions are immediate: they hold its one write lock already.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {Order._meta.db_table} IN SHARE ROW EXCLUSIVE MODE")


@dataclass(frozen=True, slots=True)
class SeededCustomer:
    """A customer of seeded orders: its *number* among them, in order of first order."""

    number: int
    segment: str
    country: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class SeededLine:
    """A line of a seeded order: an article, how many, at its price in the order's currency."""

    article: sample_data.Article
    quantity: int
    unit_price: Decimal


@dataclass(frozen=True, slots=True)
class SeededOrder:
    """A seeded order with its lines and customer; ``updated_at`` is its ``created_at``."""

    customer: SeededCustomer
    created_at: datetime
    currency: str
    shipping_country: str
    shipping_region: str
    shipping_postal_code: str
    billing_country: str
    payment_method: str
    channel: str
    coupons: tuple[str, ...]
    attributes: dict[str, Any]
    lines: tuple[SeededLine, ...]
    subtotal: Decimal
    total: Decimal
    items_count: int = field(init=False)

    def __post_init__(self) -> None:
        """Count the items: the sum of the lines' quantities."""
        object.__setattr__(self, "items_count", sum(line.quantity for line in self.lines))


def seeded_customer(*, seed: int, number: int, until: datetime) -> SeededCustomer:
    """Return the customer *number* of the orders *seed* gives, signed up before *until*.

    A customer is a function of the seed and its number alone (a hash, not
    a stream of draws), so an order of any batch finds its customer again
    without keeping every customer in memory.
    """
    bits = _mix(_mix(seed & _MASK64) ^ number)
    country = _weighted(sample_data.COUNTRIES, _COUNTRY_WEIGHTS, _unit(bits, 0))
    segment = _weighted(_SEGMENTS, _SEGMENT_WEIGHTS, _unit(bits, 21))
    before = timedelta(hours=1) + SIGN_UP_SPAN * _unit(bits, 42)
    return SeededCustomer(number, segment, country.code, until - before)


def _mix(value: int) -> int:
    """Return a 64-bit hash of *value* (SplitMix64's finaliser): every bit stirs every other."""
    value = (value + 0x9E3779B97F4A7C15) & _MASK64
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & _MASK64
    return value ^ (value >> 31)


def _unit(bits: int, shift: int) -> float:
    """Return 21 of *bits*, from *shift*, as a number in [0, 1)."""
    return ((bits >> shift) & 0x1FFFFF) / 0x200000


def _weighted(items: tuple[Any, ...], cumulative: tuple[float, ...], unit: float) -> Any:
    """Return the item of *items* that *unit*, in [0, 1), falls on by their weights."""
    return items[min(bisect_right(cumulative, unit * cumulative[-1]), len(items) - 1)]


_COUNTRY_WEIGHTS = sample_data.COUNTRY_WEIGHTS
_SEGMENTS = tuple(slug for slug, _ in sample_data.SEGMENTS)
_SEGMENT_WEIGHTS = tuple(accumulate(weight for _, weight in sample_data.SEGMENTS))
_COUNTRIES_BY_CODE = {country.code: country for country in sample_data.COUNTRIES}
_ARTICLE_INDEXES = range(len(sample_data.ARTICLES))
_QUANTITIES = tuple(quantity for quantity, _ in sample_data.QUANTITIES)
_QUANTITY_WEIGHTS = tuple(accumulate(weight for _, weight in sample_data.QUANTITIES))
_PAYMENT_METHODS = tuple(slug for slug, _ in sample_data.PAYMENT_METHODS)
_PAYMENT_WEIGHTS = tuple(accumulate(weight for _, weight in sample_data.PAYMENT_METHODS))
_CHANNELS = tuple(slug for slug, _ in sample_data.CHANNELS)
_CHANNEL_WEIGHTS = tuple(accumulate(weight for _, weight in sample_data.CHANNELS))
_SPARE_DRAWS = 2
_GIFT_WRAP: dict[str, Any] = {"gift_wrap": True}
_NO_ATTRIBUTES: dict[str, Any] = {}


@dataclass(frozen=True, slots=True)
class _Prices:
    """The catalogue's prices and the shop's fees in one currency."""

    units: tuple[Decimal, ...]
    shipping_fee: Decimal
    free_shipping: Decimal
    coupon_amounts: dict[str, Decimal]

    @classmethod
    def of(cls, rate: Decimal) -> _Prices:
        """Return the prices at *rate* units of the currency per euro."""

        def converted(amount: Decimal) -> Decimal:
            return (amount * rate).quantize(sample_data.CENT, rounding=ROUND_HALF_UP)

        return cls(
            units=tuple(converted(article.unit_price) for article in sample_data.ARTICLES),
            shipping_fee=converted(sample_data.SHIPPING_FEE),
            free_shipping=converted(sample_data.FREE_SHIPPING),
            coupon_amounts={c.code: converted(c.amount) for c in sample_data.COUPONS},
        )


def random_orders(*, count: int, seed: int, until: datetime) -> Iterator[SeededOrder]:
    """Yield *count* realistic orders placed in the year before *until*, lazily.

    The same *seed* and *until* always give the same orders. Order number i
    brings customer number i / 4 when i is a multiple of 4; any other order
    comes from a customer already seen, and is placed after it signed up.
    """
    rng = random.Random(seed)  # noqa: S311 - sample data, not a secret
    until = until.astimezone(UTC)
    start = until - SEED_SPAN
    home = default_currency()
    prices: dict[str, _Prices] = {}
    for index in range(count):
        known = index // ORDERS_PER_NEW_CUSTOMER + 1
        number = known - 1 if index % ORDERS_PER_NEW_CUSTOMER == 0 else rng.randrange(known)
        customer = seeded_customer(seed=seed, number=number, until=until)
        earliest = max(customer.created_at, start)
        microseconds = (until - earliest) // timedelta(microseconds=1)
        created_at = earliest + timedelta(microseconds=1 + rng.randrange(microseconds))
        shipping = _COUNTRIES_BY_CODE[customer.country]
        if rng.random() >= sample_data.HOME_SHIPPING_SHARE:
            shipping = _weighted(sample_data.COUNTRIES, _COUNTRY_WEIGHTS, rng.random())
        billing = shipping.code
        if rng.random() >= sample_data.BILLING_IS_SHIPPING_SHARE:
            billing = customer.country
        currency = shipping.currency or home
        price = prices.get(currency)
        if price is None:
            price = prices[currency] = _Prices.of(sample_data.RATES.get(currency, Decimal(1)))
        lines = _lines(rng, price.units)
        subtotal = sum((line.quantity * line.unit_price for line in lines), Decimal("0.00"))
        coupons = _coupons(rng)
        shipping_fee = Decimal("0.00") if subtotal >= price.free_shipping else price.shipping_fee
        tax = subtotal * shipping.tax / 100
        discount = sum(
            (_discount(code, subtotal, shipping_fee, price) for code in coupons), Decimal(0)
        )
        total = max(subtotal + shipping_fee + tax - discount, Decimal(0))
        yield SeededOrder(
            customer=customer,
            created_at=created_at,
            currency=currency,
            shipping_country=shipping.code,
            shipping_region=rng.choice(shipping.regions) if shipping.regions else "",
            shipping_postal_code=_postal_code(rng, shipping.postal_code),
            billing_country=billing,
            payment_method=_weighted(_PAYMENT_METHODS, _PAYMENT_WEIGHTS, rng.random()),
            channel=_weighted(_CHANNELS, _CHANNEL_WEIGHTS, rng.random()),
            coupons=coupons,
            attributes=_GIFT_WRAP
            if rng.random() < sample_data.GIFT_WRAP_SHARE
            else _NO_ATTRIBUTES,
            lines=lines,
            subtotal=subtotal,
            total=total.quantize(sample_data.CENT, rounding=ROUND_HALF_UP),
        )


def _lines(rng: random.Random, units: tuple[Decimal, ...]) -> tuple[SeededLine, ...]:
    """Draw 1 to 8 lines of distinct articles, popular ones most often.

    A few spare draws make up for articles drawn twice, so that orders have
    about as many lines as drawn.
    """
    size = rng.choice(sample_data.LINES_PER_ORDER)
    drawn = rng.choices(
        _ARTICLE_INDEXES, cum_weights=sample_data.ARTICLE_WEIGHTS, k=size + _SPARE_DRAWS
    )
    picked = list(dict.fromkeys(drawn))[:size]
    quantities = rng.choices(_QUANTITIES, cum_weights=_QUANTITY_WEIGHTS, k=len(picked))
    articles = sample_data.ARTICLES
    return tuple(
        SeededLine(articles[index], quantity, units[index])
        for index, quantity in zip(picked, quantities, strict=True)
    )


def _coupons(rng: random.Random) -> tuple[str, ...]:
    """Draw the coupons of an order: none mostly, one in about a tenth, rarely two."""
    if rng.random() >= sample_data.COUPON_SHARE:
        return ()
    if rng.random() >= sample_data.SECOND_COUPON_SHARE:
        return (rng.choice(sample_data.COUPONS).code,)
    return tuple(coupon.code for coupon in rng.sample(sample_data.COUPONS, 2))


_COUPONS_BY_CODE = {coupon.code: coupon for coupon in sample_data.COUPONS}


def _discount(code: str, subtotal: Decimal, shipping_fee: Decimal, price: _Prices) -> Decimal:
    """Return what the coupon *code* takes off an order."""
    coupon = _COUPONS_BY_CODE[code]
    if coupon.free_shipping:
        return shipping_fee
    return subtotal * coupon.percent / 100 + price.coupon_amounts[code]


_DIGITS = "0123456789"
_LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"


def _postal_code(rng: random.Random, pattern: str) -> str:
    """Fill *pattern*: ``9`` a digit, ``A`` a capital letter, anything else as it is."""
    return "".join(
        rng.choice(_DIGITS) if char == "9" else rng.choice(_LETTERS) if char == "A" else char
        for char in pattern
    )


def orders_seed_random(
    *,
    count: int,
    seed: int | None = None,
    until: datetime | None = None,
    batch_size: int = SEED_BATCH_SIZE,
    progress: Callable[[int], object] | None = None,
) -> int:
    """Add *count* realistic orders (see ``random_orders``); return how many were added.

    Each batch of *batch_size* orders is one transaction: it reserves ids
    for its new customers and its orders, then writes the customers, the
    orders and their lines, ``SEED_CHUNK_SIZE`` orders at a time, so memory
    stays flat whatever *count* is; an interrupted run keeps the batches
    already committed. *until* defaults to now; ``None`` seeds from the
    operating system. *progress* is called with the size of each committed
    batch. A customer's external id is ``seed-<its id>``.
    """
    seed = secrets.randbits(64) if seed is None else seed
    until = (until or timezone.now()).astimezone(UTC)
    orders = random_orders(count=count, seed=seed, until=until)
    writer = _CopyWriter() if connection.vendor == "postgresql" else _InsertWriter()
    customer_ids = _CustomerIds()
    written = 0
    while written < count:
        size = min(batch_size, count - written)
        first_number, end_number = _new_customers(written, written + size)
        with transaction.atomic(), connection.cursor() as cursor:
            if end_number > first_number:
                first_customer_id = _reserve_ids(cursor, Customer, end_number - first_number)
                customer_ids.add(first_number, first_customer_id)
            for numbers in _chunks(range(first_number, end_number), SEED_CHUNK_SIZE):
                customers = [
                    seeded_customer(seed=seed, number=number, until=until) for number in numbers
                ]
                writer.customers(cursor, customers, customer_ids)
            first_id = _reserve_ids(cursor, Order, size)
            for chunk in _chunks(islice(orders, size), SEED_CHUNK_SIZE):
                writer.orders(cursor, chunk, first_id, customer_ids)
                first_id += len(chunk)
        written += size
        if progress is not None:
            progress(size)
    _analyze()
    return written


def _analyze() -> None:
    """Refresh the planner's statistics of the tables a seed has just filled.

    Without them SQLite probes a line condition's ``EXISTS`` through the
    lines' category index, once per order, instead of the order's own lines:
    minutes instead of a second over a million orders. SQLite samples at
    most ``SQLITE_ANALYSIS_LIMIT`` rows of each index, so this takes
    moments; PostgreSQL samples on its own.
    """
    tables = [model._meta.db_table for model in (Customer, Order, OrderLine)]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"ANALYZE {', '.join(tables)}")
            return
        cursor.execute(f"PRAGMA analysis_limit = {SQLITE_ANALYSIS_LIMIT}")
        for table in tables:
            cursor.execute(f"ANALYZE {table}")


def _new_customers(first: int, end: int) -> tuple[int, int]:
    """Return the numbers ``[first, end)`` of the customers that orders ``[first, end)`` bring."""
    every = ORDERS_PER_NEW_CUSTOMER
    return -(-first // every), -(-end // every)


def _chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    """Yield *items* in lists of *size* (the last one shorter)."""
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


class _CustomerIds:
    """The database id of each seeded customer, from the first of each batch's range."""

    def __init__(self) -> None:
        """Start with no customers."""
        self._numbers: list[int] = []
        self._ids: list[int] = []

    def add(self, first_number: int, first_id: int) -> None:
        """Record that customers from *first_number* on have ids from *first_id* on."""
        self._numbers.append(first_number)
        self._ids.append(first_id)

    def __getitem__(self, number: int) -> int:
        """Return the id of customer *number*."""
        at = bisect(self._numbers, number) - 1
        return self._ids[at] + number - self._numbers[at]


def _reserve_ids(cursor: CursorWrapper, model: type[Model], count: int) -> int:
    """Reserve *count* consecutive ids of *model* for this transaction; return the first.

    SQLite: the transaction holds the database's write lock, so the next
    ids are the table's ``AUTOINCREMENT`` counter's, which writing them
    moves on. PostgreSQL: the table is locked against other writers until
    the transaction ends, and its sequence moved past the range.
    """
    table = model._meta.db_table
    if connection.vendor == "postgresql":
        cursor.execute(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
        [sequence] = cursor.fetchone()
        cursor.execute("SELECT nextval(%s)", [sequence])
        [first] = cursor.fetchone()
        if count > 1:
            cursor.execute("SELECT setval(%s, %s)", [sequence, first + count - 1])
        return int(first)
    cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
    found = cursor.fetchone()
    return (found[0] if found else 0) + 1


class _InsertWriter:
    """Writes seeded rows with one parameterised ``executemany`` per table and chunk."""

    def __init__(self) -> None:
        """Prepare the statements: only the model's own names are formatted in."""
        self._customers = _insert(Customer, CUSTOMER_COLUMNS)
        self._orders = _insert(Order, ORDER_COLUMNS)
        self._lines = _insert(OrderLine, LINE_COLUMNS)

    def customers(
        self, cursor: CursorWrapper, customers: list[SeededCustomer], ids: _CustomerIds
    ) -> None:
        """Insert *customers*."""
        cursor.executemany(self._customers, _customer_rows(customers, ids, _sqlite_datetime))

    def orders(
        self, cursor: CursorWrapper, orders: list[SeededOrder], first_id: int, ids: _CustomerIds
    ) -> None:
        """Insert *orders*, with ids from *first_id* on, then their lines."""
        cursor.executemany(self._orders, _order_rows(orders, first_id, ids, _sqlite_datetime))
        cursor.executemany(self._lines, _line_rows(orders, first_id))


class _CopyWriter:
    r"""Writes seeded rows with PostgreSQL's ``COPY ... FROM STDIN`` (psycopg2), as text.

    No seeded text holds a tab, a newline or a backslash, which ``COPY``
    would read as its own, and no seeded value is ``NULL``.
    """

    def __init__(self) -> None:
        """Prepare the statements: only the model's own names are formatted in."""
        self._customers = _copy(Customer, CUSTOMER_COLUMNS)
        self._orders = _copy(Order, ORDER_COLUMNS)
        self._lines = _copy(OrderLine, LINE_COLUMNS)

    def customers(
        self, cursor: CursorWrapper, customers: list[SeededCustomer], ids: _CustomerIds
    ) -> None:
        """Copy *customers*."""
        _copy_rows(cursor, self._customers, _customer_rows(customers, ids, datetime.isoformat))

    def orders(
        self, cursor: CursorWrapper, orders: list[SeededOrder], first_id: int, ids: _CustomerIds
    ) -> None:
        """Copy *orders*, with ids from *first_id* on, then their lines."""
        rows = _order_rows(orders, first_id, ids, datetime.isoformat)
        _copy_rows(cursor, self._orders, rows)
        _copy_rows(cursor, self._lines, _line_rows(orders, first_id))


def _insert(model: type[Model], columns: tuple[str, ...]) -> str:
    """Return the parameterised ``INSERT`` of *columns* into *model*'s table."""
    quote = connection.ops.quote_name
    names = ", ".join(quote(column) for column in columns)
    placeholders = ", ".join(["%s"] * len(columns))
    table = quote(model._meta.db_table)
    return f"INSERT INTO {table} ({names}) VALUES ({placeholders})"  # noqa: S608  # nosec B608


def _copy(model: type[Model], columns: tuple[str, ...]) -> str:
    """Return the ``COPY`` of *columns* into *model*'s table from the client."""
    quote = connection.ops.quote_name
    names = ", ".join(quote(column) for column in columns)
    return f"COPY {quote(model._meta.db_table)} ({names}) FROM STDIN"


def _copy_rows(cursor: CursorWrapper, statement: str, rows: Iterable[tuple[Any, ...]]) -> None:
    """Send *rows* to a ``COPY``: one line each, tab-separated text."""
    text = "".join("\t".join(map(str, row)) + "\n" for row in rows)
    # The driver's own call: its errors become Django's, as for every other query.
    with connection.wrap_database_errors:
        cursor.copy_expert(statement, io.StringIO(text))


def _sqlite_datetime(value: datetime) -> str:
    """Return a UTC date-time as Django keeps it in SQLite: naive ISO text with a space."""
    return str(value.replace(tzinfo=None))


def _json(value: Any, empty: str) -> str:
    """Return *value* as JSON text; *empty* for an empty one (most orders), without encoding."""
    return json.dumps(value) if value else empty


def _customer_rows(
    customers: list[SeededCustomer], ids: _CustomerIds, when: Callable[[datetime], str]
) -> Iterator[tuple[Any, ...]]:
    """Return the rows of *customers*, in ``CUSTOMER_COLUMNS``."""
    for customer in customers:
        pk = ids[customer.number]
        yield (pk, f"seed-{pk}", customer.segment, customer.country, when(customer.created_at))


def _order_rows(
    orders: list[SeededOrder], first_id: int, ids: _CustomerIds, when: Callable[[datetime], str]
) -> Iterator[tuple[Any, ...]]:
    """Return the rows of *orders*, with ids from *first_id* on, in ``ORDER_COLUMNS``."""
    for pk, order in enumerate(orders, first_id):
        created_at = when(order.created_at)
        yield (
            pk,
            str(order.total),
            order.items_count,
            created_at,
            created_at,
            order.currency,
            ids[order.customer.number],
            order.shipping_country,
            order.shipping_region,
            order.shipping_postal_code,
            order.billing_country,
            order.payment_method,
            order.channel,
            _json(list(order.coupons), "[]"),
            _json(order.attributes, "{}"),
            str(order.subtotal),
            len(order.lines),
        )


def _line_rows(orders: list[SeededOrder], first_id: int) -> Iterator[tuple[Any, ...]]:
    """Return the rows of the lines of *orders*, in ``LINE_COLUMNS``."""
    for pk, order in enumerate(orders, first_id):
        for position, line in enumerate(order.lines, 1):
            article = line.article
            yield (
                pk,
                position,
                article.sku,
                article.name,
                article.category,
                line.quantity,
                str(line.unit_price),
            )
