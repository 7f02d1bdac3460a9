"""Conditions in a documented subset of JsonLogic, compiled to Python and to SQL, and their rules.

The language, its variables (every fact of the catalogue, ``orders.facts``),
operators per type, line conditions, missing facts and limits, and why its
SQL is exact, are specified in ``docs/conditions.md``. ``compile_condition``
validates a condition once and returns a ``Condition`` that evaluates an
order in Python and filters orders in the database, the two agreeing on
every order, errors included: a condition that reads a fact an order lacks
(without a default) errs on it, naming the fact, in Python
(``MissingFactError``) and in SQL (``Condition.error_q``). A condition
rule's content (description, severity, condition), as its row, a rule set
version or a decision holds it, becomes a rule the engine runs here
(``ConditionRuleContent.bind``: a ``CompiledConditionRule``).
"""

from __future__ import annotations

import difflib
import json
import logging
import operator
import re
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, InvalidOperation
from enum import Enum
from functools import reduce
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from django.db.models import (
    BigIntegerField,
    Case,
    CharField,
    Count,
    DateTimeField,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, NullIf
from django.db.models.lookups import (
    Exact,
    GreaterThan,
    GreaterThanOrEqual,
    In,
    IsNull,
    LessThan,
    LessThanOrEqual,
)
from django.utils.dateparse import parse_datetime

from api.errors import ServiceError
from orders.facts import (
    ATTRIBUTES,
    CATALOGUE,
    COUPONS,
    CUSTOMER_AGE_DAYS,
    CUSTOMER_ID,
    FACTS_BY_PATH,
    LINE_FACTS,
    LINE_FACTS_BY_PATH,
    LINE_TOTAL,
    PROVIDED_FACTS,
    SLUG_MAX_LENGTH,
    SLUG_PATTERN,
    Fact,
    FactType,
    MissingFactError,
    Scope,
)
from orders.models import OrderLine
from rules.condition_sql import (
    AttributeValue,
    CodeListed,
    LineOrders,
    ListLength,
    SignedUpBefore,
    attribute_tag,
)
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
MAX_NUMBER = Decimal(max(fact.maximum for fact in CATALOGUE if fact.maximum is not None))

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
HAS_LINES = Q(lines_count__gt=0)
# Operators over the lines: a condition on each line, quantified...
QUANTIFIERS = ("some", "all", "none")
# ... and values over a list: how many (lines matching a condition, or
# coupons), and the sum of a line field over the lines matching a condition.
AGGREGATES = ("count", "sum")
OPERATORS = sorted([*COMPARISONS, "and", "or", "!", "in", "%", "var", *QUANTIFIERS, *AGGREGATES])
# The line fields a sum adds up.
SUMMABLE = tuple(fact.path for fact in LINE_FACTS if fact.type in (FactType.MONEY, FactType.COUNT))
# The var of the order's lines, which only some, all, none, count and sum read.
LINES = "lines"
ATTRIBUTE_PREFIX = "attributes."
_SLUG = re.compile(SLUG_PATTERN)


class Kind(Enum):
    """What a value is, which decides what it compares with and how SQL holds it."""

    MONEY = "money"
    COUNT = "count"
    NUMBER = "number"
    DATETIME = "datetime"
    TEXT = "text"
    ATTRIBUTE = "attribute"
    CODES = "codes"
    # A constant in the JSON, typed by what it is compared with.
    CONSTANT = "constant"


KINDS = {
    FactType.MONEY: Kind.MONEY,
    FactType.COUNT: Kind.COUNT,
    FactType.DATETIME: Kind.DATETIME,
    FactType.TEXT: Kind.TEXT,
    FactType.SLUG: Kind.TEXT,
    FactType.COUNTRY: Kind.TEXT,
    FactType.CURRENCY: Kind.TEXT,
    FactType.CODES: Kind.CODES,
    FactType.ATTRIBUTE: Kind.ATTRIBUTE,
}
NUMERIC = (Kind.MONEY, Kind.COUNT, Kind.NUMBER)
# The SQL type of each kind of value, where a default stands in for a missing fact.
OUTPUT = {
    Kind.MONEY: BigIntegerField(),
    Kind.COUNT: BigIntegerField(),
    Kind.DATETIME: DateTimeField(),
    Kind.TEXT: CharField(),
    Kind.ATTRIBUTE: CharField(),
}
_ORDERED = ("==", "!=", "<", "<=", ">", ">=", "in")
_EQUAL = ("==", "!=", "in")
# The operators that apply to a fact of each type, as the compiler allows them
# and a condition editor offers them (customer.age_days takes no "%": SQL has
# no column of it); the lines take QUANTIFIERS and AGGREGATES.
OPERATORS_BY_TYPE: Mapping[FactType, tuple[str, ...]] = MappingProxyType(
    {
        FactType.MONEY: (*_ORDERED, "%"),
        FactType.COUNT: (*_ORDERED, "%"),
        FactType.DATETIME: _ORDERED,
        FactType.TEXT: _EQUAL,
        FactType.SLUG: _EQUAL,
        FactType.COUNTRY: _EQUAL,
        FactType.CURRENCY: _EQUAL,
        FactType.ATTRIBUTE: _EQUAL,
        FactType.CODES: ("in", "count"),
    }
)
# Kinds that compare by equality only: "==", "!=" and "in".
EQUALITY_ONLY = frozenset(
    KINDS[fact_type] for fact_type, names in OPERATORS_BY_TYPE.items() if "<" not in names
) - {Kind.CODES}
# An order value's unit in SQL, where it is a whole number: cents, items.
UNITS = {Kind.MONEY: CENTS, Kind.COUNT: Decimal(1)}
WHOLE = {Kind.MONEY: "a whole number of cents", Kind.COUNT: "a whole number"}
# Every name a var may be given, as the catalogue lists them, for suggestions.
KNOWN_NAMES = tuple(
    f"{ATTRIBUTE_PREFIX}<key>" if fact is ATTRIBUTES else fact.name for fact in CATALOGUE
)


class ConditionError(ValueError):
    """A condition is not in the supported subset; the message says where and why."""


class UnknownFactError(ConditionError, ServiceError):
    """A condition names a fact the catalogue does not have; ``nearest`` is the closest known.

    Also the API's 400 ``unknown_fact`` when a condition rule is saved
    through it, so that an editor can offer the nearest path.
    """

    code = "unknown_fact"
    title = "Unknown fact"

    def __init__(self, message: str, *, path: str, nearest: str) -> None:
        """Keep the unknown *path* and the *nearest* known one."""
        super().__init__(message)
        self.path = path
        self.nearest = nearest

    @property
    def detail(self) -> dict[str, str]:
        """Return the message, the unknown path and the nearest known one."""
        return {"message": str(self), "path": self.path, "nearest": self.nearest}


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
    """A validated condition: a Python predicate and the same test as a ``Q``.

    ``error_q`` filters the orders on which the condition errs (they lack a
    fact it reads without a default), ``None`` when it errs on none; on those
    orders ``q`` says nothing, and ``evaluate`` raises ``MissingFactError``.
    ``reads`` names the facts it reads, as the catalogue lists them;
    ``needs`` those of them that providers supply: such a condition has no
    database form (``q`` is then never used).
    """

    source: Any
    predicate: Callable[[OrderFacts], bool]
    q: Q
    error_q: Q | None = None
    reads: frozenset[str] = frozenset()
    notable: tuple[Callable[[Any], bool], ...] = ()
    needs: frozenset[str] = frozenset()

    def notable_lines(self, order: OrderFacts) -> list[int]:
        """Return the numbers (from 1) of the lines its some, all or none singled out."""
        tests = self.notable
        return [
            number
            for number, line in enumerate(order.lines, start=1)
            if any(test(line) for test in tests)
        ]

    def evaluate(self, order: OrderFacts) -> bool:
        """Return whether *order* satisfies the condition; ``MissingFactError`` if it errs."""
        return self.predicate(order)

    @classmethod
    def refused(cls, source: Any, error: ConditionError) -> Condition:
        """Return a stand-in for a stored *source* that does not compile.

        Evaluating it raises ``ConditionError`` with *error*'s message, which
        the engine reports as the rule's ``error`` outcome, logged with a
        reference id, while the other rules of a check still run. In SQL it
        errs on every order likewise.
        """
        message = str(error)

        def refuse(order: OrderFacts) -> bool:
            raise ConditionError(message)

        return cls(source, refuse, NEVER, ALWAYS)


@dataclass(frozen=True)
class _Value:
    """A compiled value: how to read it from an order (or a line), and from a row in SQL.

    ``python`` never returns ``None``: a fact read without a default is
    required (checked before the condition runs), one with a default falls
    back to it. ``label`` names the value in messages; ``maximum`` bounds the
    constants it is compared with (from 0); ``fact`` is the fact read, for
    ``%``; ``age_default`` marks ``customer.age_days`` (compared in SQL
    through the sign-up moment), with its default if any.
    """

    kind: Kind
    python: Callable[[Any], Any]
    sql: Any
    label: str = ""
    constant: Any = None
    is_constant: bool = False
    where: str = ""
    type: FactType | None = None
    maximum: Decimal | int | None = None
    fact: Fact | None = None
    age: bool = False
    age_default: int | None = None


@dataclass(frozen=True)
class _Requirement:
    """A fact a condition reads without a default: an order that lacks it errs.

    ``missing`` returns the path an error names (``lines[2].name``), or
    ``None`` when the order has the fact; ``q`` filters the orders that lack it.
    """

    missing: Callable[[Any], str | None]
    q: Q


def compile_condition(source: Any) -> Condition:
    """Validate *source* and compile it once.

    Raises ``ConditionError``, and nothing else, for any JSON outside the
    subset or its limits: an unknown operator, a fact the catalogue does not
    have (``UnknownFactError``, naming the nearest known one), a wrong number
    or shape of operands, operands that cannot be compared, a condition too
    deep or too large, a number too long or out of range.
    """
    _check_size(source)
    compiler = _Compiler()
    body, q = compiler.condition(source, "condition", Scope.ORDER)
    requirements = list(compiler.requirements.values())
    notable = tuple(compiler.notable)
    reads, needs = frozenset(compiler.reads), frozenset(compiler.needs)
    if not requirements:
        return Condition(source, body, q, None, reads, notable, needs)
    checks = [requirement.missing for requirement in requirements]

    def predicate(order: OrderFacts) -> bool:
        # Decided before evaluating, whatever short-circuiting would skip,
        # so that Python errs on exactly the orders SQL does.
        for missing in checks:
            path = missing(order)
            if path is not None:
                raise MissingFactError(path)
        return body(order)

    error_q = reduce(operator.or_, [requirement.q for requirement in requirements])
    return Condition(source, predicate, q, error_q, reads, notable, needs)


def condition_needs(source: Any) -> frozenset[str]:
    """Return the provided facts a condition's *source* reads, without compiling it.

    What the rule list shows; one too large to walk (it would not compile)
    needs nothing.
    """
    try:
        _check_size(source)
    except ConditionError:
        return frozenset()
    needs: set[str] = set()
    stack = [source]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            name = node.get("var")
            name = name[0] if isinstance(name, list) and name else name
            if isinstance(name, str) and name in PROVIDED_FACTS:
                needs.add(name)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return frozenset(needs)


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


@dataclass
class _Compiler:
    """One compilation: the facts the condition requires, those it reads, and providers' ones."""

    requirements: dict[str, _Requirement] = field(default_factory=dict)
    reads: set[str] = field(default_factory=set)
    needs: set[str] = field(default_factory=set)
    notable: list[Callable[[Any], bool]] = field(default_factory=list)

    def condition(self, node: Any, where: str, scope: Scope) -> tuple[Callable[[Any], bool], Q]:
        """Compile a node that must be true or false, over an order or (*scope*) a line."""
        operator_name, args = _operation(node, where)
        here = f"{where} '{operator_name}'"
        if operator_name in ("and", "or"):
            if not isinstance(args, list) or not args:
                raise ConditionError(f"{here} takes a list of one or more conditions.")
            parts = [self.condition(arg, f"{here}[{i}]", scope) for i, arg in enumerate(args)]
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
            inner, q = self.condition(operands[0], f"{here}[0]", scope)
            return (lambda order: not inner(order)), ~q
        if operator_name == "in":
            return self.membership(args, here, scope)
        if operator_name in COMPARISONS:
            return self.comparison(operator_name, args, here, scope)
        if operator_name in QUANTIFIERS:
            return self.quantified(operator_name, args, here, scope)
        raise ConditionError(
            f"{here} is not a condition; use a comparison, 'and', 'or', '!', 'in', 'some',"
            " 'all' or 'none'."
        )

    def comparison(
        self, name: str, args: Any, here: str, scope: Scope
    ) -> tuple[Callable[[Any], bool], Q]:
        """Compile ``==``, ``!=``, ``<``, ``<=``, ``>`` or ``>=``."""
        left_node, right_node = _pair(args, here)
        left = self.value(left_node, f"{here}[0]", scope)
        right = self.value(right_node, f"{here}[1]", scope)
        left, right = _typed(left, right, here)
        if name not in ("==", "!=") and left.kind in EQUALITY_ONLY:
            raise ConditionError(f"{here}: {_label(left, right)} compares only with ==, != or in.")
        compare = COMPARISONS[name]
        read_left, read_right = left.python, right.python
        return (lambda order: compare(read_left(order), read_right(order))), _comparison_q(
            name, left, right
        )

    def membership(self, args: Any, here: str, scope: Scope) -> tuple[Callable[[Any], bool], Q]:
        """Compile ``in``: a value in a list of constants, or a code in ``coupons``."""
        value_node, options = _pair(args, here)
        if isinstance(options, dict):
            return self.listed(value_node, options, here, scope)
        if not isinstance(options, list) or not options:
            raise ConditionError(f"{here} takes a value and a non-empty list of constants.")
        if len(options) > MAX_IN_ITEMS:
            raise ConditionError(f"{here}[1] lists more than {MAX_IN_ITEMS} constants.")
        value = self.value(value_node, f"{here}[0]", scope)
        members = [
            self.value(option, f"{here}[1][{i}]", scope) for i, option in enumerate(options)
        ]
        if not all(member.is_constant for member in members):
            raise ConditionError(f"{here} takes a list of constants, not variables.")
        typed = [_typed(value, member, here) for member in members]
        value = typed[0][0]
        constants = [member for _, member in typed]
        read = value.python
        python_members = frozenset(member.constant for member in constants)
        return (lambda order: read(order) in python_members), _membership_q(value, constants)

    def listed(
        self, value_node: Any, list_node: Any, here: str, scope: Scope
    ) -> tuple[Callable[[Any], bool], Q]:
        """Compile ``in`` over a list fact: a constant code in ``coupons``."""
        listing = self.value(list_node, f"{here}[1]", scope)
        if listing.kind is not Kind.CODES:
            raise ConditionError(f"{here} takes a value and a non-empty list of constants.")
        if not isinstance(value_node, str):
            raise ConditionError(
                f"{here}[0]: a code to look for in {listing.label} is a string constant."
            )
        code = value_node
        read = listing.python
        return (lambda order: code in read(order)), Q(CodeListed(COUPONS.column or "", code))

    def quantified(
        self, name: str, args: Any, here: str, scope: Scope
    ) -> tuple[Callable[[Any], bool], Q]:
        """Compile ``some``, ``all`` or ``none``: a condition on each line of the order."""
        usage = f'{{"{name}": [{{"var": "lines"}}, <a condition on a line>]}}'
        if not isinstance(args, list) or len(args) != 2:
            raise ConditionError(f"{here} takes the lines and a condition on a line: {usage}.")
        self.lines(args[0], f"{here}[0]", scope, usage)
        holds, q = self.condition(args[1], f"{here}[1]", Scope.LINE)
        # The lines an explanation names: those a some or none matched, those an all did not.
        self.notable.append(holds if name != "all" else lambda line: not holds(line))
        if name == "some":
            return (lambda order: any(holds(line) for line in order.lines)), _some_line(q)
        if name == "all":
            return (lambda order: all(holds(line) for line in order.lines)), ~_some_line(~q)
        return (lambda order: not any(holds(line) for line in order.lines)), ~_some_line(q)

    def lines(self, node: Any, where: str, scope: Scope, usage: str) -> None:
        """Check that *node* is ``{"var": "lines"}``, read where the order's lines are."""
        if scope is Scope.LINE:
            raise ConditionError(f"{where}: a line has no lines; a line condition reads a line.")
        if node not in ({"var": LINES}, {"var": [LINES]}):
            raise ConditionError(f'{where} must be {{"var": "lines"}}: {usage}.')
        self.reads.add(LINES)

    def value(self, node: Any, where: str, scope: Scope) -> _Value:
        """Compile a value: a constant, a ``var``, a ``%``, a ``count`` or a ``sum``."""
        if node is None:
            raise ConditionError(f"{where}: true, false and null are not values here.")
        if isinstance(node, bool | int | float | str):
            return _Value(
                Kind.CONSTANT, _never, None, constant=node, is_constant=True, where=where
            )
        operator_name, args = _operation(node, where)
        here = f"{where} '{operator_name}'"
        if operator_name == "var":
            return self.variable(args, here, scope)
        if operator_name == "%":
            return self.remainder(args, here, scope)
        if operator_name == "count":
            return self.count(args, here, scope)
        if operator_name == "sum":
            return self.sum(args, here, scope)
        raise ConditionError(f"{here} is a condition, not a value.")

    def variable(self, args: Any, here: str, scope: Scope) -> _Value:
        """Compile ``var``: a fact's path, alone or in a list, with a default or not."""
        name, default = args, None
        if isinstance(args, list):
            if len(args) not in (1, 2):
                raise ConditionError(
                    f"{here} takes one field name. A default may follow it:"
                    ' {"var": ["shipping.country", "XX"]}.'
                )
            name = args[0]
            default = args[1:]
        if not isinstance(name, str):
            raise ConditionError(
                f'{here} takes a field name as a string, e.g. {{"var": "total"}}.'
            )
        fact, key = _fact(name, here, scope)
        if fact.type is FactType.CODES and default:
            raise ConditionError(f"{here}: {name} is a list, always there: it takes no default.")
        self.reads.add(fact.name if key is None else name)
        return self.fact_value(fact, key, default[0] if default else None, bool(default), here)

    def fact_value(
        self, fact: Fact, key: str | None, default: Any, defaulted: bool, here: str
    ) -> _Value:
        """Return the value of *fact* (``attributes.<key>``), its *default* if *defaulted*."""
        kind = KINDS[fact.type]
        label = fact.name if key is None else f"{ATTRIBUTE_PREFIX}{key}"
        read = _attribute_reader(key) if key is not None else fact.read
        sql = _fact_sql(fact, key)
        if fact.provider is not None:
            self.needs.add(fact.path)
        age = fact is CUSTOMER_AGE_DAYS
        common = {"label": label, "type": fact.type, "maximum": fact.maximum, "fact": fact}
        if defaulted:
            fallback, fallback_sql = _default(default, kind, fact, label, f"{here}[1]")

            def python(order: Any) -> Any:
                value = read(order)
                return fallback if value is None else value

            if age:
                return _Value(kind, python, None, age=True, age_default=fallback, **common)
            return _Value(
                kind, python, Coalesce(sql, fallback_sql, output_field=OUTPUT[kind]), **common
            )
        if fact.nullable:
            self.require(fact, key, label, read, sql)
        return _Value(kind, read, sql, age=age, **common)

    def require(
        self, fact: Fact, key: str | None, label: str, read: Callable[[Any], Any], sql: Any
    ) -> None:
        """Record that the condition errs on an order that lacks *fact*."""
        if label in self.requirements:
            return
        if fact.provider is not None:

            def missing(order: Any) -> str | None:
                fact.require(order)  # ProviderUnavailableError, saying why, if it lacks it
                return None

            q = Q(IsNull(sql, True))
        elif fact.scope is Scope.LINE:
            path = fact.path

            def missing(order: Any) -> str | None:
                for index, line in enumerate(order.lines):
                    if read(line) is None:
                        return f"lines[{index}].{path}"
                return None

            q = _some_line(Q(IsNull(sql, True)))
        else:

            def missing(order: Any) -> str | None:
                return label if read(order) is None else None

            # customer.age_days has no column of its own: an order without a customer lacks it.
            column = F("customer_id") if fact is CUSTOMER_AGE_DAYS else sql
            q = Q(IsNull(column, True))
        self.requirements[label] = _Requirement(missing, q)

    def remainder(self, args: Any, here: str, scope: Scope) -> _Value:
        """Compile ``%``: a money or count fact's value modulo a positive constant."""
        dividend_node, divisor_node = _pair(args, here)
        dividend = self.value(dividend_node, f"{here}[0]", scope)
        divisor = self.value(divisor_node, f"{here}[1]", scope)
        if dividend.kind not in UNITS or dividend.fact is None or dividend.age:
            raise ConditionError(f"{here}: the dividend must be {_dividends(scope)}.")
        if divisor.is_constant:
            divisor = _number_value(divisor)
        if not divisor.is_constant or divisor.kind is not Kind.NUMBER or divisor.constant <= 0:
            raise ConditionError(f"{here}: the divisor must be a positive number.")
        field_name, largest = dividend.label, dividend.maximum
        modulus = divisor.constant
        if modulus > largest:  # type: ignore[operator]
            raise ConditionError(f"{here}: a divisor of {field_name} must be at most {largest}.")
        units = modulus * UNITS[dividend.kind]
        if units != units.to_integral_value():
            raise ConditionError(
                f"{here}: a divisor of {field_name} must be {WHOLE[dividend.kind]}."
            )
        integer = (
            dividend.sql if dividend.kind is Kind.MONEY else Cast(dividend.sql, BigIntegerField())
        )
        read = dividend.python
        return _Value(
            dividend.kind,
            lambda order: Decimal(read(order)) % modulus,
            modulo(integer, int(units)),
            label=dividend.label,
            maximum=dividend.maximum,
            fact=dividend.fact,
        )

    def count(self, args: Any, here: str, scope: Scope) -> _Value:
        """Compile ``count``: the lines (matching a condition, if given) or the coupons."""
        usage = (
            '{"count": [{"var": "lines"}, <a condition on a line>]}'
            ' or {"count": [{"var": "coupons"}]}'
        )
        if not isinstance(args, list) or len(args) not in (1, 2):
            raise ConditionError(f"{here} takes a list and, for lines, a condition: {usage}.")
        if args[0] in ({"var": COUPONS.path}, {"var": [COUPONS.path]}) and scope is Scope.ORDER:
            if len(args) != 1:
                raise ConditionError(f"{here}: coupons are counted whole, with no condition.")
            self.reads.add(COUPONS.name)
            return _Value(
                Kind.COUNT,
                lambda order: len(order.coupons),
                ListLength(COUPONS.column or ""),
                label="the count of coupons",
                maximum=MAX_NUMBER,
            )
        self.lines(args[0], f"{here}[0]", scope, usage)
        if len(args) == 1:
            return _Value(
                Kind.COUNT,
                lambda order: len(order.lines),
                _aggregate(Count("pk"), None),
                label="the count of lines",
                maximum=MAX_NUMBER,
            )
        holds, q = self.condition(args[1], f"{here}[1]", Scope.LINE)
        return _Value(
            Kind.COUNT,
            lambda order: sum(1 for line in order.lines if holds(line)),
            _aggregate(Count("pk"), q),
            label="the count of lines",
            maximum=MAX_NUMBER,
        )

    def sum(self, args: Any, here: str, scope: Scope) -> _Value:
        """Compile ``sum``: a line field added up over the lines (those matching a condition)."""
        usage = '{"sum": [{"var": "lines"}, "quantity", <a condition on a line>]}'
        if not isinstance(args, list) or len(args) not in (2, 3):
            raise ConditionError(
                f"{here} takes the lines, a line field and, if need be, a condition: {usage}."
            )
        self.lines(args[0], f"{here}[0]", scope, usage)
        if args[1] not in SUMMABLE:
            raise ConditionError(f"{here}[1]: a sum adds up {_either(SUMMABLE)}.")
        fact = LINE_FACTS_BY_PATH[args[1]]
        self.reads.add(fact.name)
        kind, read, sql = KINDS[fact.type], fact.read, _fact_sql(fact, None)
        holds, q = (
            self.condition(args[2], f"{here}[2]", Scope.LINE)
            if len(args) == 3
            else (_always, None)
        )
        start = Decimal("0.00") if kind is Kind.MONEY else 0
        return _Value(
            kind,
            lambda order: sum((read(line) for line in order.lines if holds(line)), start),
            _aggregate(Sum(sql), q),
            label=f"the sum of {fact.name}",
            maximum=MAX_NUMBER,
        )


def _never(order: Any) -> Any:
    """Stand in for the reader of a constant not typed yet: never called."""
    raise AssertionError("an untyped constant is never read")  # pragma: no cover


def _always(line: Any) -> bool:
    """Hold for every line: a sum without a condition."""
    return True


def _lines() -> Any:
    """Return the lines of the order a subquery is about."""
    return OrderLine.objects.filter(order=OuterRef("pk"))


def _some_line(q: Q) -> Q:
    """Return the orders with a line matching *q* (``LineOrders``: why an ``IN``)."""
    return Q(LineOrders(OrderLine.objects.filter(q)))


def _aggregate(aggregate: Any, q: Q | None) -> Case:
    """Return *aggregate* over the order's lines matching *q*, as an integer (0 for none).

    An order without lines is 0 by its ``lines_count``, read before the subquery.
    """
    lines = _lines() if q is None else _lines().filter(q)
    total = lines.order_by().values("order").annotate(value=aggregate).values("value")
    return Case(
        When(
            HAS_LINES,
            then=Coalesce(
                Subquery(total, output_field=BigIntegerField()),
                Value(0, output_field=BigIntegerField()),
            ),
        ),
        default=Value(0, output_field=BigIntegerField()),
        output_field=BigIntegerField(),
    )


def _either(names: tuple[str, ...] | list[str]) -> str:
    """Return "a, b or c"."""
    return f"{', '.join(names[:-1])} or {names[-1]}" if len(names) > 1 else names[0]


def _dividends(scope: Scope) -> str:
    """Return the facts a ``%`` may divide, in *scope*."""
    facts = LINE_FACTS if scope is Scope.LINE else FACTS_BY_PATH.values()
    return _either(
        [
            fact.path
            for fact in facts
            if fact.type in (FactType.MONEY, FactType.COUNT) and fact is not CUSTOMER_AGE_DAYS
        ]
    )


def _fact(name: str, here: str, scope: Scope) -> tuple[Fact, str | None]:
    """Return the fact *name* reads in *scope*, and its key for ``attributes.<key>``."""
    if scope is Scope.LINE:
        if name in LINE_FACTS_BY_PATH:
            return LINE_FACTS_BY_PATH[name], None
        if name in FACTS_BY_PATH or name in PROVIDED_FACTS or name.startswith(ATTRIBUTE_PREFIX):
            raise ConditionError(
                f"{here}: {name!r} is not a line fact; a condition on a line reads"
                f" {_either([fact.path for fact in LINE_FACTS])}."
            )
        raise _unknown(name, here, [fact.path for fact in LINE_FACTS])
    if name.startswith(ATTRIBUTE_PREFIX):
        key = name.removeprefix(ATTRIBUTE_PREFIX)
        if not _SLUG.fullmatch(key) or len(key) > SLUG_MAX_LENGTH:
            raise ConditionError(
                f"{here}: {name!r}: an attribute's key is a slug of at most {SLUG_MAX_LENGTH}"
                " characters (lower-case letters, digits, - and _)."
            )
        return ATTRIBUTES, key
    if name == LINES:
        raise ConditionError(
            f"{here}: lines is a list: read it with some, all, none, count or sum."
        )
    if name in LINE_FACTS_BY_PATH:
        raise ConditionError(
            f"{here}: {name!r} is a line fact (lines[].{name}): read it inside some, all,"
            " none, count or sum over the lines."
        )
    if name in PROVIDED_FACTS:
        return PROVIDED_FACTS[name], None
    if name not in FACTS_BY_PATH or FACTS_BY_PATH[name] is ATTRIBUTES:
        raise _unknown(name, here, (*KNOWN_NAMES, *PROVIDED_FACTS))
    return FACTS_BY_PATH[name], None


def _unknown(name: str, here: str, known: tuple[str, ...] | list[str]) -> UnknownFactError:
    """Return the error for an unknown fact *name*, naming the nearest of *known*."""
    candidates = {path.removeprefix("lines[]."): path for path in known}
    [nearest] = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0) or [known[0]]
    return UnknownFactError(
        f"{here}: unknown variable {name!r}; the nearest known fact is"
        f" {candidates[nearest]!r} (GET /facts/ lists them all).",
        path=name,
        nearest=candidates[nearest],
    )


def _attribute_reader(key: str) -> Callable[[Any], Any]:
    """Return what reads ``attributes.<key>``: a string or a boolean, else ``None`` (missing)."""

    def read(order: Any) -> Any:
        value = order.attributes.get(key)
        return value if isinstance(value, str | bool) else None

    return read


def _fact_sql(fact: Fact, key: str | None) -> Any:
    """Return *fact* as SQL reads it from its row, NULL when the row lacks it.

    Money is in whole cents; an empty text column is a missing fact, as in
    Python; ``customer.age_days`` has no expression (see ``_age_q``). A
    provider's fact is NULL: no row holds it, and a condition that reads one
    is never run in SQL (``Condition.needs``).
    """
    if fact.provider is not None:
        return Value(None, output_field=OUTPUT[KINDS[fact.type]])
    if fact is ATTRIBUTES:
        return AttributeValue(key or "")
    if fact is CUSTOMER_AGE_DAYS or fact.type is FactType.CODES:
        return None
    if fact is LINE_TOTAL:
        return ExpressionWrapper(
            cents("unit_price") * F("quantity"), output_field=BigIntegerField()
        )
    column = fact.column or ""
    if fact.type is FactType.MONEY:
        return cents(column)
    if KINDS[fact.type] is Kind.TEXT and fact.nullable and fact is not CUSTOMER_ID:
        return NullIf(F(column), Value(""), output_field=CharField())
    return F(column)


def _default(node: Any, kind: Kind, fact: Fact, label: str, where: str) -> tuple[Any, Any]:
    """Return a ``var``'s default, typed like its fact: its Python value and its SQL value."""
    if node is None or isinstance(node, dict | list):
        raise ConditionError(f"{where}: a default is a constant, of the type of {label}.")
    constant = _Value(Kind.CONSTANT, _never, None, constant=node, is_constant=True, where=where)
    like = _Value(kind, _never, None, label=label, type=fact.type, maximum=fact.maximum)
    typed, _ = _typed(constant, like, where)
    if kind in UNITS:
        units = typed.constant * UNITS[kind]
        if units != units.to_integral_value():
            raise ConditionError(f"{where}: a default of {label} must be {WHOLE[kind]}.")
        whole = int(units)
        return (typed.constant if kind is Kind.MONEY else whole), Value(
            whole, output_field=BigIntegerField()
        )
    return typed.constant, typed.sql


def _typed(left: _Value, right: _Value, here: str) -> tuple[_Value, _Value]:
    """Return *left* and *right*, a constant typed like the other; refuse what cannot compare."""
    if left.is_constant and right.is_constant and left.kind is right.kind is Kind.CONSTANT:
        left, right = _untyped(left), _untyped(right)
    elif left.kind is Kind.CONSTANT:
        left = _constant_like(left, right, here)
    elif right.kind is Kind.CONSTANT:
        right = _constant_like(right, left, here)
    _comparable(left, right, here)
    return left, right


def _untyped(constant: _Value) -> _Value:
    """Return a constant compared with another constant: a number or a date-time."""
    if constant.kind is not Kind.CONSTANT:
        return constant
    if isinstance(constant.constant, str):
        moment = _datetime(constant.constant, constant.where)
        if moment is not None:
            return _moment(moment, constant.where)
    return _number_value(constant)


def _constant_like(constant: _Value, other: _Value, here: str) -> _Value:
    """Return *constant* typed like *other*: a number, date-time, string or attribute's value."""
    raw, where = constant.constant, constant.where
    if other.kind is Kind.CODES:
        raise ConditionError(f"{here}: {other.label} is a list, not a value.")
    if other.kind in NUMERIC or other.kind is Kind.DATETIME:
        return _untyped(constant)
    if other.kind is Kind.TEXT and isinstance(raw, str):
        return _Value(
            Kind.TEXT, lambda order: raw, Value(raw), constant=raw, is_constant=True, where=where
        )
    if other.kind is Kind.ATTRIBUTE and isinstance(raw, str | bool):
        return _Value(
            Kind.ATTRIBUTE,
            lambda order: raw,
            Value(attribute_tag(raw)),
            constant=raw,
            is_constant=True,
            where=where,
        )
    if isinstance(raw, bool):
        raise ConditionError(f"{where}: true, false and null are not values here.")
    what = "strings" if other.kind is Kind.TEXT else "strings, true and false"
    raise ConditionError(f"{here}: {other.label} compares only with {what}.")


def _number_value(constant: _Value) -> _Value:
    """Return a constant as a number."""
    if constant.kind is not Kind.CONSTANT:
        return constant
    raw, where = constant.constant, constant.where
    if isinstance(raw, bool):
        raise ConditionError(f"{where}: true, false and null are not values here.")
    number = _number(raw, where)
    return _Value(Kind.NUMBER, lambda order: number, None, "", number, True, where)


def _moment(moment: datetime, where: str) -> _Value:
    """Return a date-time constant."""
    return _Value(
        Kind.DATETIME, lambda order: moment, Value(moment), "a date-time", moment, True, where
    )


def _label(left: _Value, right: _Value) -> str:
    """Return the name of the fact of two operands (the first that is not a constant)."""
    return left.label if not left.is_constant else right.label


def _comparison_q(name: str, left: _Value, right: _Value) -> Q:
    """Return the SQL form of ``left <name> right``, exact on every database."""
    if left.is_constant and right.is_constant:
        return ALWAYS if COMPARISONS[name](left.constant, right.constant) else NEVER
    if left.is_constant:
        left, name, right = right, SWAPPED[name], left
    if left.age:
        return _age_q(name, right.constant, left)
    if not right.is_constant or left.kind not in UNITS:
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


def _age_q(name: str, number: Decimal, age: _Value) -> Q:
    """Return ``customer.age_days <name> number`` in SQL: the sign-up moment against the clock.

    The age is whole days, so each comparison is one of "at least N days"
    (signed up at or before the check's moment less N days) or its negation.
    With a default, an order without a customer compares the default.
    """
    if name in ("==", "!="):
        if number != number.to_integral_value():
            equal = NEVER
        else:
            equal = _at_least(int(number)) & ~_at_least(int(number) + 1)
        q = equal if name == "==" else ~equal
    elif name in (">=", "<"):
        at_least = _at_least(int(number.to_integral_value(ROUND_CEILING)))
        q = at_least if name == ">=" else ~at_least
    else:
        above = _at_least(int(number.to_integral_value(ROUND_FLOOR)) + 1)
        q = above if name == ">" else ~above
    if age.age_default is None:
        return q
    has_customer = Q(IsNull(F("customer_id"), False))
    fallback = ALWAYS if COMPARISONS[name](age.age_default, number) else NEVER
    return (has_customer & q) | (~has_customer & fallback)


def _at_least(days: int) -> Q:
    """Return the orders whose customer is at least *days* whole days old at the check."""
    if days <= 0:
        return ALWAYS
    return Q(LessThan(F("customer__created_at"), SignedUpBefore(days)))


def _membership_q(value: _Value, members: list[_Value]) -> Q:
    """Return the SQL form of ``value in members``, exact on every database."""
    if value.is_constant:
        return ALWAYS if value.constant in {member.constant for member in members} else NEVER
    if value.age:
        parts = [_age_q("==", member.constant, value) for member in members]
        return reduce(operator.or_, parts)
    if value.kind not in UNITS:
        return Q(In(value.sql, [member.sql.value for member in members]))
    # In SQL an order's value is a whole number, which a fraction never equals.
    units = (member.constant * UNITS[value.kind] for member in members)
    wholes = sorted({int(unit) for unit in units if unit == unit.to_integral_value()})
    return Q(In(value.sql, wholes)) if wholes else NEVER


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
    for value in (left, right):
        if value.kind is Kind.CODES:
            raise ConditionError(f"{here}: {value.label} is a list, not a value.")
    if Kind.DATETIME in kinds and kinds != {Kind.DATETIME}:
        [moment] = [value for value in (left, right) if value.kind is Kind.DATETIME]
        raise ConditionError(f"{here}: {moment.label} compares only with date-times.")
    fact_pair = not left.is_constant and not right.is_constant
    if (
        (Kind.MONEY in kinds and Kind.COUNT in kinds)
        or (len(kinds) > 1 and not kinds <= set(NUMERIC))
        or (fact_pair and Kind.TEXT in kinds and left.type is not right.type)
    ):
        raise ConditionError(f"{here}: {left.label} and {right.label} cannot be compared.")
    for value, other in ((left, right), (right, left)):
        if value.age and not other.is_constant:
            raise ConditionError(f"{here}: {value.label} compares only with numbers.")
        if value.kind is Kind.NUMBER and other.maximum is not None and other.kind in UNITS:
            _in_range(value, other)


def _in_range(value: _Value, other: _Value) -> None:
    """Refuse a number *value* outside the range of *other* (0 to its maximum)."""
    largest = other.maximum
    if not 0 <= value.constant <= largest:  # type: ignore[operator]
        raise ConditionError(
            f"{value.where}: {value.constant} is outside the range of {other.label}"
            f" (0 to {largest})."
        )


class CompiledConditionRule:
    """A condition rule compiled, run by the engine like a code rule; it takes no parameters."""

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
        # Its explanation restates its description; one over lines may name some.
        self.fact_names: frozenset[str] | None = None if condition.notable else frozenset()
        self.needs = condition.needs

    def evaluate(self, order: OrderFacts) -> bool:
        """Return whether *order* satisfies the condition."""
        return self.condition.predicate(order)

    def explain(self, order: OrderFacts, passed: bool) -> Reason:
        """Repeat the description, saying whether the order met it.

        A failure of a condition over lines also names the lines that its
        ``some``, ``all`` or ``none`` singled out (``lines``: their numbers):
        "Line 2 (WINE-12, alcohol)".
        """
        message, facts = restate(self.description, passed)
        if passed or not self.condition.notable:
            return message, facts
        numbers = self.condition.notable_lines(order)
        if not numbers:
            return message, facts
        named = "; ".join(_line_words(number, order.lines[number - 1]) for number in numbers)
        return f"{message} {named}.", {"lines": numbers}

    def as_q(self) -> Q | None:
        """Return the condition as a database filter; ``None`` when it reads a provider's fact."""
        return None if self.needs else self.condition.q

    def as_error_q(self) -> Q | None:
        """Return the orders on which the condition errs (lacking a fact it requires), or none."""
        return None if self.needs else self.condition.error_q

    def content(self) -> dict[str, Any]:
        """Return all that decides this rule's outcome, as a version or a decision keeps it."""
        return {
            "description": self.description,
            "severity": self.severity.value,
            "condition": self.condition.source,
        }


def _line_words(number: int, line: Any) -> str:
    """Return a line as a message names it: "Line 2 (WINE-12, alcohol)"."""
    return f"Line {number} ({line.sku}, {line.category})"


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
            needs=condition_needs(self.content["condition"]),
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
