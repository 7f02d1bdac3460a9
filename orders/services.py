"""Writing orders: the one place orders are created."""

from decimal import Decimal

from django.db import connection, transaction

from orders.models import Order

SEED_ORDERS: tuple[tuple[Decimal, int], ...] = (
    (Decimal("150.00"), 3),
    (Decimal("75.50"), 1),
    (Decimal("200.00"), 5),
)


def order_create(*, total: Decimal, items_count: int) -> Order:
    """Validate and store a new order.

    Raises ``django.core.exceptions.ValidationError`` for a negative total or
    an item count below one; nothing is written then.
    """
    order = Order(total=total, items_count=items_count)
    order.full_clean()
    order.save()
    return order


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
