"""The SQL a condition compiles to beyond plain lookups, the same on SQLite and PostgreSQL.

An attribute's value, a code listed in ``coupons``, the number of coupons,
the moment ``customer.age_days`` is counted from, and the orders having a
line that matches (``some``, ``all``, ``none``). Each is written for
both databases here, so ``rules.conditions`` compiles a condition without
knowing which one runs it (``docs/conditions.md`` says why each is exact).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django.core.exceptions import FieldError
from django.db.models import (
    BooleanField,
    CharField,
    DateTimeField,
    F,
    IntegerField,
    QuerySet,
    Value,
)
from django.db.models.expressions import Expression, Func
from django.db.models.lookups import In
from django.utils import timezone

from orders.models import Order, OrderLine

# How SQL writes an attribute's value: its JSON type and its text, so that the
# string "true" and the boolean true differ, as they do in Python.
STRING_TAG = "s:"
TRUE_TAG, FALSE_TAG = "b:true", "b:false"


def attribute_tag(value: str | bool) -> str:
    """Return an attribute's value (a string or a boolean) as SQL writes it."""
    if isinstance(value, bool):
        return TRUE_TAG if value else FALSE_TAG
    return STRING_TAG + value


class AttributeValue(Func):
    """``attributes.<key>`` of an order, tagged (``attribute_tag``); NULL when it has none.

    A key that is absent, or whose value is not a string or a boolean (JSON
    null, a number or a nested value, which the API refuses), has no value,
    as in Python.
    """

    output_field = CharField()

    def __init__(self, key: str) -> None:
        """Read the attribute *key* (a slug) of the order's ``attributes``."""
        super().__init__(F("attributes"))
        self.key = key

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        """Return the value from SQLite's JSON: ``json_type`` tells a string from a boolean."""
        column, params = compiler.compile(self.source_expressions[0])
        path = f'$."{self.key}"'
        sql = (
            f"(CASE json_type({column}, %s) WHEN 'text' THEN %s || json_extract({column}, %s)"
            f" WHEN 'true' THEN %s WHEN 'false' THEN %s END)"
        )
        return sql, [*params, path, STRING_TAG, *params, path, TRUE_TAG, FALSE_TAG]

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        """Return the value from PostgreSQL's jsonb: ``jsonb_typeof`` tells the types apart."""
        column, params = compiler.compile(self.source_expressions[0])
        sql = (
            f"(CASE jsonb_typeof({column} -> %s) WHEN 'string' THEN %s || ({column} ->> %s)"
            f" WHEN 'boolean' THEN 'b:' || ({column} ->> %s) END)"
        )
        return sql, [*params, self.key, STRING_TAG, *params, self.key, *params, self.key]


class CodeListed(Func):
    """Whether a code is in an order's JSON list of codes (``coupons``)."""

    output_field = BooleanField()
    conditional = True

    def __init__(self, column: str, code: str) -> None:
        """Look for *code* in the JSON list *column*."""
        super().__init__(F(column), Value(code))

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        """Return an ``EXISTS`` over SQLite's ``json_each`` of the list."""
        column, column_params = compiler.compile(self.source_expressions[0])
        code, code_params = compiler.compile(self.source_expressions[1])
        # Only compiled expressions are formatted in; values are bound parameters.
        sql = f"EXISTS (SELECT 1 FROM json_each({column}) WHERE json_each.value = {code})"  # noqa: S608  # nosec B608
        return sql, [*column_params, *code_params]

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        """Return PostgreSQL's jsonb containment: the list holds the code."""
        column, column_params = compiler.compile(self.source_expressions[0])
        code, code_params = compiler.compile(self.source_expressions[1])
        return f"({column} @> jsonb_build_array(({code})::text))", [
            *column_params,
            *code_params,
        ]


class ListLength(Func):
    """The number of items of an order's JSON list (``coupons``)."""

    output_field = IntegerField()

    def __init__(self, column: str) -> None:
        """Count the items of the JSON list *column*."""
        super().__init__(F(column))

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        """Return SQLite's ``json_array_length``."""
        return self.as_sql(compiler, connection, function="json_array_length", **extra)

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        """Return PostgreSQL's ``jsonb_array_length``."""
        return self.as_sql(compiler, connection, function="jsonb_array_length", **extra)


class SignedUpBefore(Expression):
    """The moment a customer must have signed up before to be at least *days* old.

    ``customer.age_days`` is the whole days from sign-up to the check: at
    least *days* exactly when sign-up is at or before the check's moment
    less *days* days, that is strictly before it plus a microsecond. The
    moment is read when the query is built (``resolve_expression``), not
    when the condition is compiled: a compiled condition is kept per
    process. A moment before year 1 is year 1, before which nobody signed up.
    """

    output_field = DateTimeField()

    def __init__(self, days: int) -> None:
        """Stand for the check's moment less *days* days, plus a microsecond."""
        super().__init__()
        self.days = days

    def resolve_expression(
        self,
        query: Any = None,
        allow_joins: bool = True,
        reuse: Any = None,
        summarize: bool = False,
        for_save: bool = False,
    ) -> Expression:
        """Return the moment as a value, read from the clock now."""
        try:
            moment = timezone.now() - timedelta(days=self.days) + timedelta(microseconds=1)
        except OverflowError:
            moment = datetime.min.replace(tzinfo=UTC)
        return Value(moment, output_field=DateTimeField()).resolve_expression(
            query, allow_joins, reuse, summarize, for_save
        )


class LineOrders(In):
    """Whether an order has one of some lines: its id among the lines' ``order_id``.

    An ``IN`` over the lines, not a correlated ``EXISTS``: SQLite runs an
    ``EXISTS`` once per order (21 times the hand-written query over a
    million orders), an ``IN`` reads the matching lines once, from the
    index on (category, quantity, order) when it serves; PostgreSQL plans
    both alike. The orders that have one of *lines* are exactly the distinct
    orders the lines name, so a count over every order may read the lines
    alone (``rules.analysis``). Built over anything but orders (recorded
    decisions, whose ids are not orders') it is a ``FieldError``, never a
    wrong answer.
    """

    def __init__(self, lines: QuerySet[OrderLine]) -> None:
        """Stand for the orders having one of *lines*."""
        self.lines = lines
        super().__init__(F("pk"), lines.order_by().values("order_id"))

    def resolve_expression(
        self,
        query: Any = None,
        allow_joins: bool = True,
        reuse: Any = None,
        summarize: bool = False,
        for_save: bool = False,
    ) -> Any:
        """Resolve over orders; raise ``FieldError`` over any other model."""
        model = getattr(query, "model", None)
        if model is not Order:
            name = getattr(model, "__name__", model)
            raise FieldError(f"Whether an order has a line filters orders, not {name}.")
        return super().resolve_expression(query, allow_joins, reuse, summarize, for_save)
