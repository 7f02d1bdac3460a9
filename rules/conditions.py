"""Conditions in a documented subset of JsonLogic, compiled to Python and to SQL, and their rules.

The language, its variables (the facts every order has, ``orders.facts``),
operators and limits, and why its SQL is exact, are specified in
``docs/conditions.md``. ``compile_condition`` validates a condition once and
returns a ``Condition`` that evaluates an order in Python and filters orders
in the database, the two agreeing on every order. A condition rule's content
(description, severity, condition), as its row, a rule set version or a
decision holds it, becomes a rule the engine runs here
(``ConditionRuleContent.bind``: a ``CompiledConditionRule``).
"""

from __future__ import annotations

import json
import logging
import operator
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, InvalidOperation
from enum import Enum
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from django.db.models import BigIntegerField, Q, Value
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

from orders.facts import SEED_FACTS, Fact, FactType
from rules.engine import InvalidRuleParamsError, Reason, RuleInfo, Severity, cents, modulo
from rules.engine.base import restate

if TYPE_CHECKING:
    from orders.facts import OrderFacts

logger = logging.getLogger(__name__)

MAX_DEPTH = 20
MAX_NODES = 200
MAX_IN_ITEMS = 100
MAX_PLACES = 12
# A number in a condition lies within plus or minus the largest value an
# order's fact can hold.
MAX_NUMBER = Decimal(max(fact.maximum for fact in SEED_FACTS if fact.maximum is not None))

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


# The facts a condition reads: those every order has.
VARIABLES = {fact.path: fact for fact in SEED_FACTS if not fact.nullable}
KINDS = {FactType.MONEY: Kind.MONEY, FactType.COUNT: Kind.COUNT, FactType.DATETIME: Kind.DATETIME}
# An order value's unit in SQL, where it is a whole number: cents, items.
UNITS = {Kind.MONEY: CENTS, Kind.COUNT: Decimal(1)}
# The field whose column a money or count value (or its remainder) fits, and
# the column's largest value; the smallest is 0 for both.
WHOLE = {Kind.MONEY: "a whole number of cents", Kind.COUNT: "a whole number"}


class ConditionError(ValueError):
    """A condition is not in the supported subset; the message says where and why."""


class ConditionDecoder(json.JSONDecoder):
    """Decode JSON text, refusing what Python decodes but cannot safely use.

    Text nested deeper than the interpreter's recursion allows, an integer of
    over 4,300 digits and a lone surrogate (an escaped U+D800 to U+DFFF, which
    no page or UTF-8 body can carry) raise ``JSONDecodeError``, the one error
    Django's JSON fields expect: a form error in the admin, and the raw text
    for a row read from the database, which then fails to compile like any
    bad condition.
    """

    def decode(self, s: str, *args: Any, **kwargs: Any) -> Any:
        """Return the value of the JSON text *s*."""
        try:
            value = super().decode(s, *args, **kwargs)
            json.dumps(value, ensure_ascii=False).encode()
        except json.JSONDecodeError:
            raise
        except (RecursionError, ValueError) as exc:  # UnicodeEncodeError is a ValueError
            raise json.JSONDecodeError(f"Unusable JSON: {exc}", s, 0) from None
        return value


@dataclass(frozen=True)
class Condition:
    """A validated condition: a Python predicate and the same test as a ``Q``."""

    source: Any
    predicate: Callable[[OrderFacts], bool]
    q: Q

    def evaluate(self, order: OrderFacts) -> bool:
        """Return whether *order* satisfies the condition."""
        return self.predicate(order)

    @classmethod
    def refused(cls, source: Any, error: ConditionError) -> Condition:
        """Return a stand-in for a stored *source* that does not compile.

        Evaluating it raises ``ConditionError`` with *error*'s message, which
        the engine reports as the rule's ``error`` outcome, logged with a
        reference id, while the other rules of a check still run. Its filter
        matches no order, as an error counts as not passed.
        """
        message = str(error)

        def refuse(order: OrderFacts) -> bool:
            raise ConditionError(message)

        return cls(source, refuse, NEVER)


@dataclass(frozen=True)
class _Value:
    """A compiled value: how to read it from an order, and from a row in SQL."""

    kind: Kind
    python: Callable[[OrderFacts], Any]
    sql: Any
    constant: Any = None
    is_constant: bool = False
    where: str = ""
    fact: Fact | None = None


def compile_condition(source: Any) -> Condition:
    """Validate *source* and compile it once.

    Raises ``ConditionError``, and nothing else, for any JSON outside the
    subset or its limits: an unknown operator or variable, a wrong number
    or shape of operands, operands that cannot be compared, a condition too
    deep or too large, a number too long or out of range.
    """
    _check_size(source)
    predicate, q = _condition(source, "condition")
    return Condition(source, predicate, q)


def _check_size(source: Any) -> None:
    """Refuse JSON whose objects nest deeper than ``MAX_DEPTH`` or with over ``MAX_NODES`` nodes.

    Walks with a stack of its own, not recursion, and counts a container's
    children before visiting them, so it stops at the first limit passed
    having looked at no more than ``MAX_NODES`` nodes, however large *source*.
    """
    nodes = 1
    stack: list[tuple[Any, str, int]] = [(source, "condition", 0)]
    while stack:
        node, where, depth = stack.pop()
        if not isinstance(node, dict | list):
            continue
        nodes += len(node)
        if nodes > MAX_NODES:
            raise ConditionError(
                f"condition: more than {MAX_NODES} nodes (objects, lists and values)."
            )
        if isinstance(node, list):
            children = [(value, f"{where}[{index}]") for index, value in enumerate(node)]
        else:
            depth += 1
            if depth > MAX_DEPTH:
                raise ConditionError(f"{where}: objects nest deeper than {MAX_DEPTH}.")
            children = [(value, f"{where} {key!r}") for key, value in node.items()]
        stack.extend((child, path, depth) for child, path in reversed(children))


def _condition(node: Any, where: str) -> tuple[Callable[[OrderFacts], bool], Q]:
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


def _comparison(name: str, args: Any, here: str) -> tuple[Callable[[OrderFacts], bool], Q]:
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


def _membership(args: Any, here: str) -> tuple[Callable[[OrderFacts], bool], Q]:
    """Compile ``in``: a value and a list of constants."""
    value_node, options = _pair(args, here)
    if not isinstance(options, list) or not options:
        raise ConditionError(f"{here} takes a value and a non-empty list of constants.")
    if len(options) > MAX_IN_ITEMS:
        raise ConditionError(f"{here}[1] lists more than {MAX_IN_ITEMS} constants.")
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
        return _variable(args, here)
    if operator_name == "%":
        return _remainder(args, here)
    raise ConditionError(f"{here} is a condition, not a value.")


def _variable(args: Any, here: str) -> _Value:
    """Compile ``var``: a field name, alone or as a one-item list."""
    name = args
    if isinstance(args, list):
        if len(args) == 2:
            raise ConditionError(
                f"{here}: a default value is not supported; an order's fields always have"
                " a value, so write the name alone."
            )
        if len(args) != 1:
            raise ConditionError(f"{here} takes one field name.")
        [name] = args
    if not isinstance(name, str):
        raise ConditionError(f'{here} takes a field name as a string, e.g. {{"var": "total"}}.')
    if name not in VARIABLES:
        raise ConditionError(
            f"{here}: unknown variable {name!r}; use one of {', '.join(VARIABLES)}."
        )
    fact = VARIABLES[name]
    kind = KINDS[fact.type]
    sql = cents(name) if kind is Kind.MONEY else fact.sql()
    return _Value(kind, operator.attrgetter(name), sql, fact=fact)


def _remainder(args: Any, here: str) -> _Value:
    """Compile ``%``: a field's value modulo a positive constant."""
    dividend_node, divisor_node = _pair(args, here)
    dividend = _value(dividend_node, f"{here}[0]")
    divisor = _value(divisor_node, f"{here}[1]")
    if dividend.kind not in UNITS or dividend.fact is None:
        numeric = " or ".join(path for path, fact in VARIABLES.items() if fact.maximum)
        raise ConditionError(f"{here}: the dividend must be {numeric}.")
    if not divisor.is_constant or divisor.kind is not Kind.NUMBER or divisor.constant <= 0:
        raise ConditionError(f"{here}: the divisor must be a positive number.")
    field, largest = dividend.fact.path, dividend.fact.maximum
    modulus = divisor.constant
    if modulus > largest:
        raise ConditionError(f"{here}: a divisor of {field} must be at most {largest}.")
    units = modulus * UNITS[dividend.kind]
    if units != units.to_integral_value():
        raise ConditionError(f"{here}: a divisor of {field} must be {WHOLE[dividend.kind]}.")
    integer = (
        dividend.sql if dividend.kind is Kind.MONEY else Cast(dividend.sql, BigIntegerField())
    )
    read = dividend.python
    return _Value(
        dividend.kind,
        lambda order: Decimal(read(order)) % modulus,
        modulo(integer, int(units)),
        fact=dividend.fact,
    )


def _constant(node: int | float | str, where: str) -> _Value:
    """Compile a number (JSON number or string) or an ISO 8601 date-time string."""
    if isinstance(node, str):
        moment = _datetime(node, where)
        if moment is not None:
            return _Value(Kind.DATETIME, lambda order: moment, Value(moment), moment, True, where)
    number = _number(node, where)
    return _Value(Kind.NUMBER, lambda order: number, None, number, True, where)


def _datetime(text: str, where: str) -> datetime | None:
    """Return *text* as an aware date-time, or ``None`` if it is not shaped like one."""
    try:
        moment = parse_datetime(text)
    except ValueError:
        raise ConditionError(f"{where}: {text!r} is not a valid date-time.") from None
    if moment is None:
        return None
    if moment.tzinfo is None:
        raise ConditionError(f"{where}: the date-time {text!r} needs a time zone.")
    try:
        moment.astimezone(UTC)
    except OverflowError:
        raise ConditionError(f"{where}: the date-time {text!r} is out of range in UTC.") from None
    return moment


def _number(node: int | float | str, where: str) -> Decimal:
    """Return *node* as a ``Decimal`` within the limits on numbers.

    The limits are checked on the digits and the exponent as read, before
    any arithmetic: a huge exponent makes ``Decimal`` arithmetic slow, or
    overflow its context, and a huge ``int`` has no cheap decimal text.
    """
    if isinstance(node, int) and abs(node) > MAX_NUMBER:
        raise ConditionError(f"{where}: the number is beyond plus or minus {MAX_NUMBER}.")
    try:
        number = Decimal(str(node))
    except InvalidOperation:
        raise ConditionError(f"{where}: {node!r} is not a number or a date-time.") from None
    if not number.is_finite():
        raise ConditionError(f"{where}: {node!r} is not a finite number.")
    if number.as_tuple().exponent < -MAX_PLACES:  # type: ignore[operator]
        raise ConditionError(
            f"{where}: {node!r} has more than {MAX_PLACES} digits after the point."
        )
    if number.is_zero():  # whatever its exponent: 0E+999999 is 0
        return Decimal(0)
    if number.adjusted() > MAX_NUMBER.adjusted() or number.copy_abs() > MAX_NUMBER:
        raise ConditionError(f"{where}: {node!r} is beyond plus or minus {MAX_NUMBER}.")
    return number


def _comparable(left: _Value, right: _Value, here: str) -> None:
    """Raise ``ConditionError`` if *left* and *right* cannot be compared."""
    kinds = {left.kind, right.kind}
    if Kind.DATETIME in kinds and kinds != {Kind.DATETIME}:
        [moment] = [value for value in (left, right) if value.kind is Kind.DATETIME]
        name = moment.fact.path if moment.fact else "a date-time"
        raise ConditionError(f"{here}: {name} compares only with date-times.")
    if Kind.MONEY in kinds and Kind.COUNT in kinds:
        raise ConditionError(
            f"{here}: {left.fact.path} and {right.fact.path} cannot be compared."  # type: ignore[union-attr]
        )
    for value, other in ((left, right), (right, left)):
        if value.kind is Kind.NUMBER and other.fact is not None and other.kind in UNITS:
            field, largest = other.fact.path, other.fact.maximum
            if not 0 <= value.constant <= largest:
                raise ConditionError(
                    f"{value.where}: {value.constant} is outside the range of {field}"
                    f" (0 to {largest})."
                )


class CompiledConditionRule:
    """A condition rule compiled, run by the engine like a code rule; it takes no parameters."""

    params: Mapping[str, Any] = MappingProxyType({})
    shown_params: Mapping[str, Any] = MappingProxyType({})
    # Its explanation restates its description, with no facts.
    fact_names: frozenset[str] = frozenset()

    def __init__(
        self, name: str, description: str, severity: Severity, condition: Condition
    ) -> None:
        """Wrap a compiled *condition* under *name*."""
        self.name = name
        self.description = description
        self.severity = severity
        self.condition = condition

    def evaluate(self, order: OrderFacts) -> bool:
        """Return whether *order* satisfies the condition."""
        return self.condition.predicate(order)

    def explain(self, order: OrderFacts, passed: bool) -> Reason:
        """Repeat the description, saying whether the order met it."""
        return restate(self.description, passed)

    def as_q(self) -> Q:
        """Return the condition as a database filter."""
        return self.condition.q

    def as_error_q(self) -> Q | None:
        """Return the orders on which the condition errs: none (every order has its variables)."""
        return None

    def content(self) -> dict[str, Any]:
        """Return all that decides this rule's outcome, as a version or a decision keeps it."""
        return {
            "description": self.description,
            "severity": self.severity.value,
            "condition": self.condition.source,
        }


class ConditionRuleContent:
    """A condition rule as something holds it, ready for the resolver: it binds and describes.

    The row operators edit holds it as it is now; a rule set version and a
    decision hold it as it was (``content``: description, severity,
    condition). *origin* names where it came from, for the log. With a
    *cache* key, the compiled rule is kept per process and made again only
    when *stamp* changes (a row's ``updated_at``); without, it is compiled
    at every bind (a replay: rare, and decisions are many).
    """

    def __init__(
        self,
        name: str,
        content: Mapping[str, Any],
        *,
        origin: Mapping[str, int],
        cache: Hashable | None = None,
        stamp: Any = None,
    ) -> None:
        """Keep the rule's name, its content, where it came from and how it is cached."""
        self.name = name
        self.content = content
        self.origin = origin
        self.cache = cache
        self.stamp = stamp

    def bind(self, params: Mapping[str, Any]) -> CompiledConditionRule:
        """Return the rule compiled for the engine.

        Raises ``InvalidRuleParamsError`` for any parameter: a condition rule takes none.
        """
        if params:
            problems = {param: ["Unknown parameter."] for param in params}
            raise InvalidRuleParamsError({self.name: problems})
        if self.cache is None:
            return self._compiled()
        stamp, compiled = _compiled.get(self.cache, (None, None))
        if compiled is None or stamp != self.stamp:
            compiled = self._compiled()
            _compiled[self.cache] = (self.stamp, compiled)
        return compiled

    def describe(self) -> RuleInfo:
        """Return what the rule says about itself."""
        return RuleInfo(
            name=self.name,
            description=self.content["description"],
            severity=self._severity(),
            params=None,
            examples=(),
            stored=True,
            condition=self.content["condition"],
        )

    def _compiled(self) -> CompiledConditionRule:
        """Compile the condition; one that does not compile becomes a rule that errs.

        A row saved before a limit existed, or written straight into the
        database, must not break the checks that name it: its rule's outcome
        is ``error`` (see ``Condition.refused``), and the problem is logged
        here, once per compilation, with where the rule came from.
        """
        source = self.content["condition"]
        try:
            condition = compile_condition(source)
        except ConditionError as exc:
            logger.warning(
                "stored condition does not compile",
                extra={"rule": self.name, "reason": str(exc), **self.origin},
            )
            condition = Condition.refused(source, exc)
        return CompiledConditionRule(
            self.name, self.content["description"], self._severity(), condition
        )

    def _severity(self) -> Severity:
        """Return the rule's severity; an unknown one is ``error``, and logged.

        The database refuses an unknown severity (a check constraint), but a
        rule set version keeps the rules it held as they were, and a row may
        be written around the constraint: such a rule must not take down the
        rule list or the checks that name it. It blocks, as the column's
        default does.
        """
        try:
            return Severity(self.content["severity"])
        except ValueError:
            logger.warning(
                "stored rule severity unknown",
                extra={"rule": self.name, "severity": self.content["severity"]},
            )
            return Severity.ERROR


# The compiled condition rules of this process, by cache key: (stamp, rule).
_compiled: dict[Hashable, tuple[Any, CompiledConditionRule]] = {}
