"""Writing orders: the one place orders are created, changed and deleted."""

from decimal import Decimal

from orders.models import Order


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
