import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from orders.tests.factories import OrderFactory
from rules.conditions import ConditionError, compile_condition

TOTAL = {"var": "total"}
ITEMS = {"var": "items_count"}
CREATED = {"var": "created_at"}


def _holds(condition, **fields) -> bool:
    return compile_condition(condition).evaluate(OrderFactory.build(**fields))


@pytest.mark.parametrize(
    ("condition", "fields", "expected"),
    [
        ({">": [TOTAL, "100.00"]}, {"total": Decimal("100.00")}, False),
        ({">": [TOTAL, 100]}, {"total": Decimal("100.01")}, True),
        ({">=": [TOTAL, "100"]}, {"total": Decimal("100.00")}, True),
        ({"<": [ITEMS, 2]}, {"items_count": 1}, True),
        ({"<=": [ITEMS, 2]}, {"items_count": 3}, False),
        ({"==": [TOTAL, "75.5"]}, {"total": Decimal("75.50")}, True),
        ({"!=": [TOTAL, 75.5]}, {"total": Decimal("75.50")}, False),
        ({"==": [{"%": [TOTAL, 5]}, 0]}, {"total": Decimal("75.50")}, False),
        ({"==": [{"%": [TOTAL, "0.10"]}, 0]}, {"total": Decimal("0.30")}, True),
        ({"==": [{"%": [ITEMS, 2]}, 1]}, {"items_count": 3}, True),
        ({"in": [ITEMS, [1, 3, 5]]}, {"items_count": 3}, True),
        ({"in": [TOTAL, ["150", "200.00"]]}, {"total": Decimal("150.00")}, True),
        ({"!": [{">": [TOTAL, 100]}]}, {"total": Decimal("150.00")}, False),
        ({"!": {">": [TOTAL, 100]}}, {"total": Decimal("50.00")}, True),
        (
            {"and": [{">": [TOTAL, 100]}, {">=": [ITEMS, 2]}]},
            {"total": Decimal("150.00"), "items_count": 1},
            False,
        ),
        (
            {"or": [{">": [TOTAL, 100]}, {">=": [ITEMS, 2]}]},
            {"total": Decimal("50.00"), "items_count": 2},
            True,
        ),
        (
            {">=": [CREATED, "2026-11-21T00:00:00Z"]},
            {"created_at": datetime(2026, 11, 21, tzinfo=UTC)},
            True,
        ),
    ],
)
def test_conditions_evaluate_exactly(condition, fields, expected):
    assert _holds(condition, **fields) is expected


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        ({"+": [TOTAL, 1]}, "unknown operator '+'"),
        ({">": [{"var": "price"}, 1]}, "unknown variable 'price'"),
        ({">": [TOTAL]}, "takes exactly two operands"),
        ({">": [TOTAL, 1, 2]}, "takes exactly two operands"),
        ({"and": []}, "one or more conditions"),
        ({"!": [{">": [TOTAL, 1]}, {">": [TOTAL, 2]}]}, "exactly one condition"),
        ({">": [TOTAL, "lots"]}, "not a number or a date-time"),
        ({">": [TOTAL, "NaN"]}, "not a finite number"),
        ({">": [TOTAL, ITEMS]}, "cannot be compared"),
        ({">": [CREATED, 5]}, "compares only with date-times"),
        ({">": [CREATED, "2026-11-21T00:00:00"]}, "needs a time zone"),
        ({"==": [{"%": [TOTAL, 0]}, 0]}, "positive number"),
        ({"==": [{"%": [TOTAL, "0.001"]}, 0]}, "whole number of cents"),
        ({"==": [{"%": [5, 2]}, 1]}, "dividend must be total or items_count"),
        ({"in": [ITEMS, []]}, "non-empty list"),
        ({"in": [ITEMS, [ITEMS]]}, "list of constants"),
        ({">": [TOTAL, True]}, "not values here"),
        ({"var": "total"}, "not a condition"),
        ([1, 2], "exactly one operator"),
        ({">": [TOTAL, 1], "<": [TOTAL, 5]}, "exactly one operator"),
    ],
)
def test_invalid_conditions_are_refused_with_a_clear_message(condition, message):
    with pytest.raises(ConditionError, match=re.escape(message)):
        compile_condition(condition)
