from decimal import Decimal

import pytest

from orders.tests.factories import OrderFactory
from rules.engine import RuleRegistry


def _verdict(rule_name: str, **fields: object) -> bool:
    order = OrderFactory.build(**fields)
    return RuleRegistry.get_rule(rule_name)().evaluate(order)


@pytest.mark.parametrize(
    ("total", "expected"),
    [
        (Decimal("0.00"), False),
        (Decimal("99.99"), False),
        (Decimal("100.00"), False),
        (Decimal("100.01"), True),
        (Decimal("99999999.99"), True),
    ],
)
def test_min_total_100_requires_strictly_more_than_100(total, expected):
    assert _verdict("min_total_100", total=total) is expected


@pytest.mark.parametrize(("items_count", "expected"), [(1, False), (2, True), (3, True)])
def test_min_items_2_requires_two_items(items_count, expected):
    assert _verdict("min_items_2", items_count=items_count) is expected


@pytest.mark.parametrize(
    ("total", "expected"),
    [
        (Decimal("0.00"), True),
        (Decimal("4.99"), False),
        (Decimal("5.00"), True),
        (Decimal("75.50"), False),
        (Decimal("150.00"), True),
        (Decimal("200.01"), False),
        (Decimal("99999995.00"), True),
    ],
)
def test_divisible_by_5_is_exact_in_decimal(total, expected):
    assert _verdict("divisible_by_5", total=total) is expected


def test_built_in_rules_are_registered_with_descriptions():
    rules = RuleRegistry.get_all_rules()

    assert {"min_total_100", "min_items_2", "divisible_by_5"} <= set(rules)
    assert all(rules[name].description for name in rules)
