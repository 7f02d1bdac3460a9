"""Reading orders as rules see them (``orders.facts.OrderFacts``), on every check's hot path."""

import functools
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model, Prefetch, QuerySet, prefetch_related_objects
from django.db.models.expressions import Col
from django.http import Http404
from django.utils import timezone

from orders.facts import OWN_FACTS, AddressFacts, CustomerFacts, OrderFacts, age_days, lines_facts
from orders.models import Customer, Order, OrderLine


def order_get(pk: int) -> Order:
    """Return the stored order with id *pk*, its customer read with it; raise ``Http404`` if none.

    One ``SELECT`` joining the customer, written once per connection: the ORM
    spends about 85 us building such a query on every call, which is most of
    a rule check's own cost. Each column gets the converters the ORM applies
    to it, so the order and its customer are exactly what ``select_related``
    returns.
    """
    alias = Order.objects.db
    connection = connections[alias]
    plan = _read_plan(connection)
    with connection.cursor() as cursor:
        cursor.execute(plan.sql, [pk])
        row = cursor.fetchone()
    if row is None:
        raise Http404(f"Order with id {pk} does not exist.")
    split = len(plan.order)
    order = Order.from_db(alias, plan.order_names, plan.values(row[:split], plan.order))
    # The join's customer columns are all NULL for an order without one.
    order.customer = (
        None
        if order.customer_id is None
        else Customer.from_db(alias, plan.customer_names, plan.values(row[split:], plan.customer))
    )
    return order


# A column as ``order_get`` reads it: its expression and the converters of its values.
_Column = tuple[Col, tuple[Callable[[Any, Any, Any], Any], ...]]


@dataclass(frozen=True)
class _ReadPlan:
    """How ``order_get`` reads an order and its customer on one connection."""

    sql: str
    order: tuple[_Column, ...]
    customer: tuple[_Column, ...]
    connection: BaseDatabaseWrapper
    order_names: list[str]
    customer_names: list[str]

    def values(self, row: Sequence[Any], columns: Sequence[_Column]) -> list[Any]:
        """Return the Python values of *row*'s *columns*, converted as the ORM converts them."""
        values = []
        for value, (column, converters) in zip(row, columns, strict=True):
            for convert in converters:
                value = convert(value, column, self.connection)
            values.append(value)
        return values


@functools.lru_cache(maxsize=16)
def _read_plan(connection: BaseDatabaseWrapper) -> _ReadPlan:
    """Return how ``order_get`` reads on *connection*: its SQL and each column's converters."""
    quote = connection.ops.quote_name

    def columns(model: type[Model], alias: str) -> tuple[_Column, ...]:
        read = []
        for field in model._meta.concrete_fields:
            column = field.get_col(alias)
            converters = (
                *connection.ops.get_db_converters(column),
                *column.get_db_converters(connection),
            )
            read.append((column, converters))
        return tuple(read)

    order, customer = columns(Order, "o"), columns(Customer, "c")
    selected = ", ".join(
        f"{table}.{quote(column.target.column)}"
        for table, read in (("o", order), ("c", customer))
        for column, _ in read
    )
    customer_id = quote(Order._meta.get_field("customer").column)
    # Only the models' own names are formatted in; the id is a bound parameter.
    sql = (
        f"SELECT {selected} FROM {quote(Order._meta.db_table)} o"  # noqa: S608  # nosec B608
        f" LEFT OUTER JOIN {quote(Customer._meta.db_table)} c"
        f" ON c.{quote(Customer._meta.pk.column)} = o.{customer_id}"
        f" WHERE o.{quote(Order._meta.pk.column)} = %s"
    )
    return _ReadPlan(
        sql,
        order,
        customer,
        connection,
        order_names=[column.target.attname for column, _ in order],
        customer_names=[column.target.attname for column, _ in customer],
    )


def order_facts_get(pk: int, *, now: datetime | None = None) -> OrderFacts:
    """Return the stored order with id *pk* as rules see it; raise ``Http404`` if there is none.

    At most two queries: the order with its customer, then its lines if it
    has any. ``customer.age_days`` is counted up to *now* (the time of the
    check).
    """
    order = order_get(pk)
    lines = OrderLine.objects.filter(order_id=pk).order_by("position") if order.lines_count else ()
    return order_facts(order, lines=lines, customer=order.customer, now=now or timezone.now())


def orders_facts_in_bulk(ids: Sequence[int], *, now: datetime) -> dict[int, OrderFacts]:
    """Return the stored orders among *ids* as rules see them, by id.

    One query for the orders and their customers, and one for the lines of
    those that have lines.
    """
    orders = Order.objects.select_related("customer").in_bulk(ids)
    lines: dict[int, list[OrderLine]] = defaultdict(list)
    having = [pk for pk, order in orders.items() if order.lines_count]
    if having:
        for line in OrderLine.objects.filter(order_id__in=having).order_by("order_id", "position"):
            lines[line.order_id].append(line)
    return {
        pk: order_facts(order, lines=lines.get(pk, ()), customer=order.customer, now=now)
        for pk, order in orders.items()
    }


def with_lines(orders: QuerySet[Order]) -> QuerySet[Order]:
    """Return *orders* read with their customer and their lines, for ``order_facts_prefetched``."""
    return orders.select_related("customer").prefetch_related(_lines())


def with_lines_and_customer(orders: Sequence[Order]) -> None:
    """Read the customers and lines of *orders* (already read) in one query each, if not yet."""
    prefetch_related_objects(orders, "customer", _lines())


def _lines() -> Prefetch:
    """Return the prefetch of orders' lines, in their order."""
    return Prefetch("lines", queryset=OrderLine.objects.order_by("position"))


def order_facts_prefetched(order: Order, *, now: datetime) -> OrderFacts:
    """Return *order*, read by ``with_lines``, as rules see it."""
    return order_facts(order, lines=order.lines.all(), customer=order.customer, now=now)


def iter_orders_facts(orders: QuerySet[Order], *, chunk: int) -> Iterator[OrderFacts]:
    """Yield *orders* as rules see them, read *chunk* at a time with their lines and customer."""
    now = timezone.now()
    for order in with_lines(orders).iterator(chunk_size=chunk):
        yield order_facts_prefetched(order, now=now)


def as_order_facts(order: Order) -> OrderFacts:
    """Return a stored *order* as rules see it now: its lines and customer prefetched, or read."""
    lines: Iterable[OrderLine] = ()
    if order.lines_count:
        with_lines_and_customer([order])
        lines = order.lines.all()
    return order_facts(order, lines=lines, customer=order.customer, now=timezone.now())


def order_facts(
    order: Order, *, lines: Iterable[OrderLine], customer: Customer | None, now: datetime
) -> OrderFacts:
    """Return the stored *order*, with its *lines* and *customer*, as rules see it at *now*."""
    own = {fact.path: getattr(order, fact.path) for fact in OWN_FACTS}
    return OrderFacts(
        pk=order.pk,
        **{path: None if value == "" else value for path, value in own.items()},
        customer=None if customer is None else customer_facts(customer, now=now),
        shipping=_address(
            order.shipping_country, order.shipping_region, order.shipping_postal_code
        ),
        billing=_address(order.billing_country),
        coupons=tuple(order.coupons),
        lines=lines_facts(lines),
        attributes=order.attributes,
    )


def customer_facts(customer: Customer, *, now: datetime) -> CustomerFacts:
    """Return a stored *customer* as rules see it at *now*."""
    return CustomerFacts(
        id=customer.external_id,
        segment=customer.segment or None,
        country=customer.country or None,
        age_days=age_days(customer.created_at, now),
    )


def _address(country: str, region: str = "", postal_code: str = "") -> AddressFacts | None:
    """Return an address from its stored columns, ``None`` when all are blank."""
    if not (country or region or postal_code):
        return None
    return AddressFacts(country or None, region or None, postal_code or None)
