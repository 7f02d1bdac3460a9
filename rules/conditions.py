"""Conditions in a documented subset of JsonLogic, compiled to Python and to SQL.

A condition is JSON over an order's fields ``total`` (money), ``items_count``
and ``created_at``::

    {"and": [{">": [{"var": "total"}, "100"]}, {"in": [{"var": "items_count"}, [2, 3]]}]}

Operators: ``==`` ``!=`` ``<`` ``<=`` ``>`` ``>=`` (two operands), ``and`` and
``or`` (one or more conditions), ``!`` (one condition), ``in`` (a value and a
list of constants), ``%`` (a value and a positive constant divisor), ``var``
(a field name). Numbers may be JSON numbers or strings; arithmetic is exact
(``Decimal``). ``created_at`` compares with ISO 8601 date-times.

``compile_condition`` validates a condition once and returns a ``Condition``
that evaluates an order in Python and filters orders in the database, the two
agreeing on every order. In SQL an order's value is a whole number (money in
cents) and is compared only with whole numbers: a constant becomes the whole
number that gives the same answer (``items_count > 2.5`` is ``> 2``,
``total >= 99.995`` is ``cents >= 10000``, ``total == 99.995`` matches
nothing), and a comparison of two constants is decided when compiling. So the
answer is exact on SQLite too, which compares decimals as floats and would
round a constant with many digits onto a whole number.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, InvalidOperation
from enum import Enum
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from django.db.models import BigIntegerField, F, Q, Value
from django.db.models.functions import Cast
from django.db.models.lookups import (
    Exact,
    GreaterThan,
    GreaterThanOrEqual,
    In,
    LessThan,
    LessThanOrEqual,
)
from django.utils.dateparse import parse_datetime

from rules.engine import Reason, Severity, cents, modulo
from rules.engine.base import restate

if TYPE_CHECKING:
    from orders.models import Order

CENTS = Decimal(100)
COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
LOOKUPS: dict[str, Callable[..., Any]] = {
    "==": Exact,
    "<": LessThan,
    "<=": LessThanOrEqual,
    ">": GreaterThan,
    ">=": GreaterThanOrEqual,
}
# "c < x" is "x > c": the operator with its operands swapped.
SWAPPED = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
# Against a whole number x, "x > c" is "x > floor(c)", "x < c" is "x < ceil(c)"...
ROUNDING = {"<": ROUND_CEILING, "<=": ROUND_FLOOR, ">": ROUND_FLOOR, ">=": ROUND_CEILING}
ALWAYS = Q(pk__isnull=False)
NEVER = Q(pk__isnull=True)
OPERATORS = sorted([*COMPARISONS, "and", "or", "!", "in", "%", "var"])


class Kind(Enum):
    """What a value is, which decides how it compares and how SQL holds it."""

    MONEY = "money"
    COUNT = "count"
    NUMBER = "number"
    DATETIME = "datetime"


FIELDS = {"total": Kind.MONEY, "items_count": Kind.COUNT, "created_at": Kind.DATETIME}
# An order value's unit in SQL, where it is a whole number: cents, items.
UNITS = {Kind.MONEY: CENTS, Kind.COUNT: Decimal(1)}


class ConditionError(ValueError):
    """A condition is not in the supported subset; the message says where and why."""


@dataclass(frozen=True)
class Condition:
    """A validated condition: a Python predicate and the same test as a ``Q``."""

    source: Any
    predicate: Callable[[Order], bool]
    q: Q

    def evaluate(self, order: Order) -> bool:
        """Return whether *order* satisfies the condition."""
        return self.predicate(order)


@dataclass(frozen=True)
class _Value:
    """A compiled value: how to read it from an order, and from a row in SQL."""

    kind: Kind
    python: Callable[[Order], Any]
    sql: Any
    constant: Any = None
    is_constant: bool = False


def compile_condition(source: Any) -> Condition:
    """Validate *source* and compile it once.

    Raises ``ConditionError`` for an unknown operator or variable, a wrong
    number of operands, or operands that cannot be compared.
    """
    predicate, q = _condition(source, "condition")
    return Condition(source, predicate, q)


def _condition(node: Any, where: str) -> tuple[Callable[[Order], bool], Q]:
    """Compile a node that must be true or false."""
    operator_name, args = _operation(node, where)
    here = f"{where} '{operator_name}'"
    if operator_name in ("and", "or"):
        if not isinstance(args, list) or not args:
            raise ConditionError(f"{here} takes a list of one or more conditions.")
        parts = [_condition(arg, f"{here}[{i}]") for i, arg in enumerate(args)]
        predicates = [predicate for predicate, _ in parts]
        q = parts[0][1]
        if operator_name == "and":
            for _, part in parts[1:]:
                q &= part
            return (lambda order: all(p(order) for p in predicates)), q
        for _, part in parts[1:]:
            q |= part
        return (lambda order: any(p(order) for p in predicates)), q
    if operator_name == "!":
        operands = args if isinstance(args, list) else [args]
        if len(operands) != 1:
            raise ConditionError(f"{here} takes exactly one condition.")
        inner, q = _condition(operands[0], f"{here}[0]")
        return (lambda order: not inner(order)), ~q
    if operator_name == "in":
        return _membership(args, here)
    if operator_name in COMPARISONS:
        return _comparison(operator_name, args, here)
    raise ConditionError(f"{here} is not a condition; use a comparison, 'and', 'or', '!' or 'in'.")


def _operation(node: Any, where: str) -> tuple[str, Any]:
    """Return the operator and operands of a JsonLogic node."""
    if not isinstance(node, dict) or len(node) != 1:
        raise ConditionError(f"{where} must be an object with exactly one operator.")
    [(operator_name, args)] = node.items()
    if operator_name not in OPERATORS:
        raise ConditionError(
            f"{where}: unknown operator {operator_name!r}; supported: {', '.join(OPERATORS)}."
        )
    return operator_name, args


def _pair(args: Any, here: str) -> tuple[Any, Any]:
    """Return the two operands of a binary operator."""
    if not isinstance(args, list) or len(args) != 2:
        raise ConditionError(f"{here} takes exactly two operands.")
    return args[0], args[1]


def _comparison(name: str, args: Any, here: str) -> tuple[Callable[[Order], bool], Q]:
    """Compile ``==``, ``!=``, ``<``, ``<=``, ``>`` or ``>=``."""
    left_node, right_node = _pair(args, here)
    left = _value(left_node, f"{here}[0]")
    right = _value(right_node, f"{here}[1]")
    _comparable(left, right, here)
    compare = COMPARISONS[name]
    read_left, read_right = left.python, right.python
    return (lambda order: compare(read_left(order), read_right(order))), _comparison_q(
        name, left, right
    )


def _comparison_q(name: str, left: _Value, right: _Value) -> Q:
    """Return the SQL form of ``left <name> right``, exact on every database."""
    if left.is_constant and right.is_constant:
        return ALWAYS if COMPARISONS[name](left.constant, right.constant) else NEVER
    if left.is_constant:
        left, name, right = right, SWAPPED[name], left
    if not right.is_constant or right.kind is Kind.DATETIME:
        return _lookup(name, left.sql, right.sql)
    units = right.constant * UNITS[left.kind]
    if name in ("==", "!="):
        if units != units.to_integral_value():
            return NEVER if name == "==" else ALWAYS
        whole = units
    else:
        whole = units.to_integral_value(ROUNDING[name])
    return _lookup(name, left.sql, Value(int(whole), output_field=BigIntegerField()))


def _lookup(name: str, left: Any, right: Any) -> Q:
    """Return the SQL comparison of two expressions."""
    if name == "!=":
        return ~Q(Exact(left, right))
    return Q(LOOKUPS[name](left, right))


def _membership(args: Any, here: str) -> tuple[Callable[[Order], bool], Q]:
    """Compile ``in``: a value and a list of constants."""
    value_node, options = _pair(args, here)
    if not isinstance(options, list) or not options:
        raise ConditionError(f"{here} takes a value and a non-empty list of constants.")
    value = _value(value_node, f"{here}[0]")
    constants = [_value(option, f"{here}[1][{i}]") for i, option in enumerate(options)]
    for constant in constants:
        _comparable(value, constant, here)
    if not all(constant.is_constant for constant in constants):
        raise ConditionError(f"{here} takes a list of constants, not variables.")
    members = frozenset(constant.constant for constant in constants)
    read = value.python
    return (lambda order: read(order) in members), _membership_q(value, members)


def _membership_q(value: _Value, members: frozenset[Any]) -> Q:
    """Return the SQL form of ``value in members``, exact on every database."""
    if value.is_constant:
        return ALWAYS if value.constant in members else NEVER
    if value.kind is Kind.DATETIME:
        return Q(In(value.sql, list(members)))
    # In SQL an order's value is a whole number, which a fraction never equals.
    units = (member * UNITS[value.kind] for member in members)
    wholes = sorted(int(unit) for unit in units if unit == unit.to_integral_value())
    return Q(In(value.sql, wholes)) if wholes else NEVER


def _value(node: Any, where: str) -> _Value:
    """Compile a node that is a value: a constant, a ``var`` or a ``%``."""
    if isinstance(node, bool) or node is None:
        raise ConditionError(f"{where}: true, false and null are not values here.")
    if isinstance(node, int | float | str):
        return _constant(node, where)
    operator_name, args = _operation(node, where)
    here = f"{where} '{operator_name}'"
    if operator_name == "var":
        name = args[0] if isinstance(args, list) and len(args) == 1 else args
        if name not in FIELDS:
            raise ConditionError(
                f"{here}: unknown variable {name!r}; use one of {', '.join(FIELDS)}."
            )
        kind = FIELDS[name]
        sql = cents(name) if kind is Kind.MONEY else F(name)
        return _Value(kind, operator.attrgetter(name), sql)
    if operator_name == "%":
        return _remainder(args, here)
    raise ConditionError(f"{here} is a condition, not a value.")


def _remainder(args: Any, here: str) -> _Value:
    """Compile ``%``: a field's value modulo a positive constant."""
    dividend_node, divisor_node = _pair(args, here)
    dividend = _value(dividend_node, f"{here}[0]")
    divisor = _value(divisor_node, f"{here}[1]")
    if dividend.kind not in (Kind.MONEY, Kind.COUNT) or dividend.is_constant:
        raise ConditionError(f"{here}: the dividend must be total or items_count.")
    if not divisor.is_constant or divisor.kind is not Kind.NUMBER or divisor.constant <= 0:
        raise ConditionError(f"{here}: the divisor must be a positive number.")
    modulus = divisor.constant
    read = dividend.python
    if dividend.kind is Kind.MONEY:
        cents = modulus * CENTS
        if cents != cents.to_integral_value():
            raise ConditionError(f"{here}: a divisor of total must be a whole number of cents.")
        sql = modulo(dividend.sql, int(cents))
    else:
        if modulus != modulus.to_integral_value():
            raise ConditionError(f"{here}: a divisor of items_count must be a whole number.")
        sql = modulo(Cast(dividend.sql, BigIntegerField()), int(modulus))
    return _Value(dividend.kind, lambda order: Decimal(read(order)) % modulus, sql)


def _constant(node: int | float | str, where: str) -> _Value:
    """Compile a number (JSON number or string) or an ISO 8601 date-time string."""
    if isinstance(node, str):
        moment = parse_datetime(node)
        if moment is not None:
            if moment.tzinfo is None:
                raise ConditionError(f"{where}: the date-time {node!r} needs a time zone.")
            return _Value(Kind.DATETIME, lambda order: moment, Value(moment), moment, True)
    try:
        number = Decimal(str(node))
    except InvalidOperation:
        raise ConditionError(f"{where}: {node!r} is not a number or a date-time.") from None
    if not number.is_finite():
        raise ConditionError(f"{where}: {node!r} is not a finite number.")
    return _Value(Kind.NUMBER, lambda order: number, None, number, True)


def _comparable(left: _Value, right: _Value, here: str) -> None:
    """Raise ``ConditionError`` if *left* and *right* cannot be compared."""
    kinds = {left.kind, right.kind}
    if Kind.DATETIME in kinds and kinds != {Kind.DATETIME}:
        raise ConditionError(f"{here}: created_at compares only with date-times.")
    if Kind.MONEY in kinds and Kind.COUNT in kinds:
        raise ConditionError(f"{here}: total and items_count cannot be compared.")


class StoredRule:
    """A condition rule from the database, compiled, run by the engine like a code rule."""

    params: Mapping[str, Any] = MappingProxyType({})
    shown_params: Mapping[str, Any] = MappingProxyType({})

    def __init__(
        self, name: str, description: str, severity: Severity, condition: Condition
    ) -> None:
        """Wrap a compiled *condition* under *name*."""
        self.name = name
        self.description = description
        self.severity = severity
        self.condition = condition

    def evaluate(self, order: Order) -> bool:
        """Return whether *order* satisfies the condition."""
        return self.condition.predicate(order)

    def explain(self, order: Order, passed: bool) -> Reason:
        """Repeat the description, saying whether the order met it."""
        return restate(self.description, passed)

    def as_q(self) -> Q:
        """Return the condition as a database filter."""
        return self.condition.q
