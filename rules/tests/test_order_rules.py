from datetime import UTC, datetime
from decimal import Decimal

import pytest

from orders.tests.factories import OrderFactory
from rules.engine import RuleRegistry
from rules.engine.errors import InvalidRuleParamsError


def _rule(name: str, **params: object):
    return RuleRegistry.get_rule(name).bind(params)


def _verdict(rule_name: str, params: dict | None = None, **fields: object) -> bool:
    return _rule(rule_name, **(params or {})).evaluate(OrderFactory.build(**fields))


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
    assert _verdict("total_greater_than", {"amount": "100"}, total=total) is expected


@pytest.mark.parametrize(("items_count", "expected"), [(1, False), (2, True), (3, True)])
def test_min_items_2_requires_two_items(items_count, expected):
    assert _verdict("min_items_2", items_count=items_count) is expected
    assert _verdict("min_items", {"count": 2}, items_count=items_count) is expected


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
    assert _verdict("total_divisible_by", {"divisor": "5"}, total=total) is expected


@pytest.mark.parametrize(
    ("total", "expected"),
    [(Decimal("249.99"), True), (Decimal("250.00"), True), (Decimal("250.01"), False)],
)
def test_total_at_most_allows_the_amount_itself(total, expected):
    assert _verdict("total_at_most", {"amount": "250.00"}, total=total) is expected


@pytest.mark.parametrize(("items_count", "expected"), [(4, True), (5, True), (6, False)])
def test_max_items_allows_the_count_itself(items_count, expected):
    assert _verdict("max_items", {"count": 5}, items_count=items_count) is expected


@pytest.mark.parametrize(
    ("created_at", "expected"),
    [
        (datetime(2026, 11, 20, 23, 59, 59, tzinfo=UTC), False),  # Friday
        (datetime(2026, 11, 21, 0, 0, tzinfo=UTC), True),  # Saturday
        (datetime(2026, 11, 22, 23, 59, 59, tzinfo=UTC), True),  # Sunday
        (datetime(2026, 11, 23, 0, 0, tzinfo=UTC), False),  # Monday
    ],
)
def test_is_weekend_order_uses_the_day_in_the_configured_time_zone(created_at, expected):
    assert _verdict("is_weekend_order", created_at=created_at) is expected


def test_is_weekend_order_follows_the_time_zone_setting(settings):
    settings.TIME_ZONE = "Pacific/Auckland"  # UTC+13 in November
    friday_evening_utc = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)  # Saturday 01:00 there

    assert _verdict("is_weekend_order", created_at=friday_evening_utc) is True


@pytest.mark.parametrize(
    ("name", "params", "fields", "message", "facts"),
    [
        (
            "min_total_100",
            {},
            {"total": Decimal("75.50")},
            "Total 75.50 is not greater than 100.00.",
            {"observed": "75.50", "required": "100.00", "shortfall": "24.51"},
        ),
        (
            "total_at_most",
            {"amount": "100"},
            {"total": Decimal("150.00")},
            "Total 150.00 is more than 100.00.",
            {"observed": "150.00", "required": "100.00", "excess": "50.00"},
        ),
        (
            "min_items_2",
            {},
            {"items_count": 1},
            "Order has 1 item; at least 2 required.",
            {"observed": 1, "required": 2, "shortfall": 1},
        ),
        (
            "max_items",
            {"count": 3},
            {"items_count": 5},
            "Order has 5 items; at most 3 allowed.",
            {"observed": 5, "required": 3, "excess": 2},
        ),
        (
            "divisible_by_5",
            {},
            {"total": Decimal("75.50")},
            "Total 75.50 is not a multiple of 5.00.",
            {"observed": "75.50", "required": "5.00", "remainder": "0.50", "shortfall": "4.50"},
        ),
    ],
)
def test_a_failing_threshold_rule_says_by_how_much(name, params, fields, message, facts):
    order = OrderFactory.build(**fields)
    rule = _rule(name, **params)

    assert rule.explain(order, rule.evaluate(order)) == (message, facts)


@pytest.mark.parametrize(
    ("name", "params", "bad"),
    [
        ("total_greater_than", {}, "amount"),
        ("total_greater_than", {"amount": "lots"}, "amount"),
        ("total_greater_than", {"amount": "-1"}, "amount"),
        ("total_greater_than", {"amount": "1.001"}, "amount"),
        ("total_greater_than", {"amount": "5", "currency": "EUR"}, "currency"),
        ("min_items", {"count": 0}, "count"),
        ("min_items", {"count": "two"}, "count"),
        ("total_divisible_by", {"divisor": "0"}, "divisor"),
        ("min_total_100", {"amount": "5"}, "amount"),
        ("is_weekend_order", {"day": "Saturday"}, "day"),
    ],
)
def test_bad_parameters_are_refused_naming_rule_and_parameter(name, params, bad):
    with pytest.raises(InvalidRuleParamsError) as excinfo:
        _rule(name, **params)

    assert list(excinfo.value.rules) == [name]
    assert bad in excinfo.value.rules[name]


def test_a_rule_describes_the_parameters_it_declares():
    info = RuleRegistry.get_rule("total_greater_than").describe()

    assert (info.name, info.stored, info.severity) == ("total_greater_than", False, "error")
    assert list(info.params().fields) == ["amount"]


def test_a_preset_describes_no_parameters():
    assert RuleRegistry.get_rule("min_total_100").describe().params is None


def test_built_in_rules_are_registered_with_descriptions_and_boundary_examples():
    rules = RuleRegistry.get_all_rules()

    assert {
        "min_total_100",
        "min_items_2",
        "divisible_by_5",
        "total_greater_than",
        "total_at_most",
        "min_items",
        "max_items",
        "total_divisible_by",
        "is_weekend_order",
    } <= set(rules)
    for rule in rules.values():
        assert rule.description
        assert {example.passes for example in rule.examples} == {True, False}


@pytest.mark.parametrize(
    ("name", "total", "items_count", "expected"),
    [
        ("min_total_100", "150.00", 3, True),
        ("min_total_100", "75.50", 1, False),
        ("min_items_2", "75.50", 1, False),
        ("min_items_2", "200.00", 5, True),
        ("divisible_by_5", "150.00", 3, True),
        ("divisible_by_5", "75.50", 1, False),
    ],
)
def test_the_seed_rules_work_built_with_no_arguments(name, total, items_count, expected):
    order = OrderFactory.build(total=Decimal(total), items_count=items_count)

    assert RuleRegistry.get_rule(name)().evaluate(order) is expected


@pytest.mark.parametrize(
    "rule_class", RuleRegistry.get_all_rules().values(), ids=lambda rule_class: rule_class.name
)
def test_every_registered_rule_built_with_no_arguments_works_or_names_its_parameters(rule_class):
    """The registry's API: ``get_rule(name)()`` is a working rule, presets applied."""
    info = rule_class.describe()
    order = OrderFactory.build()
    if info.params is None or not any(f.required for f in info.params().fields.values()):
        assert rule_class().evaluate(order) in (True, False)
        return
    required = [name for name, f in info.params().fields.items() if f.required]
    with pytest.raises(InvalidRuleParamsError) as excinfo:
        rule_class()
    assert excinfo.value.rules == {
        info.name: {key: ["This field is required."] for key in required}
    }
    assert all(name in str(excinfo.value) for name in required)
