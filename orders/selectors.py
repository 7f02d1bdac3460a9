"""Reading orders on the hot path of every check."""

import functools
from collections.abc import Callable, Sequence
from typing import Any

from django.db import connections
from django.http import Http404

from orders.models import Order

# A column's converters (each called with the value, the column and the
# connection) and the column, by the column's position in a row.
Converters = list[tuple[int, tuple[Sequence[Callable[..., Any]], Any]]]


def order_get(pk: int) -> Order:
    """Return the stored order with id *pk*; raise ``Http404`` if there is none.

    One ``SELECT``, compiled once per database: building it on every call,
    as the ORM or a raw query does (the model's columns, their converters),
    costs twice the query itself. The ORM's converters still apply, so the
    order is exactly what ``get`` returns.
    """
    connection = connections[Order.objects.db]
    sql, names, converters = _order_read(connection.alias, connection.vendor)
    with connection.cursor() as cursor:
        cursor.execute(sql, [pk])
        row = cursor.fetchone()
    if row is None:
        raise Http404(f"Order with id {pk} does not exist.")
    values = list(row)
    for position, (functions, column) in converters:
        value = values[position]
        for function in functions:
            value = function(value, column, connection)
        values[position] = value
    return Order.from_db(connection.alias, names, values)


@functools.cache
def _order_read(alias: str, vendor: str) -> tuple[str, list[str], Converters]:
    """Return, for the database *alias* (of *vendor*), the SELECT of one order by id.

    With it, the model's field names in the order of its columns, and the
    converters the ORM applies to them.
    """
    query = Order.objects.using(alias).filter(pk=0).order_by().query
    compiler = query.get_compiler(alias)
    sql, _ = compiler.as_sql()
    columns = [column for column, _, _ in compiler.select]
    names = [column.target.attname for column in columns]
    return sql, names, list(compiler.get_converters(columns).items())
