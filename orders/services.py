"""Writing orders: the one place orders are created, changed and deleted (seeding: ``seeding``)."""

from datetime import datetime
from decimal import Decimal
from typing import Any, Required, TypedDict, Unpack

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum

from orders.errors import InconsistentOrderError
from orders.facts import (
    ORDER_FACTS,
    OWN_FACTS,
    FactType,
    default_currency,
)
from orders.models import Customer, Order, OrderLine


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
