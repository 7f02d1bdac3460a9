from datetime import UTC, datetime
from decimal import Decimal

import pytest

from orders.facts import AddressFacts, CustomerFacts, LineFacts, MissingFactError, OrderFacts
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


NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def _order(**facts: object) -> OrderFacts:
    """Return an order as rules see it: 150.00, 3 items, placed at NOW unless told otherwise."""
    return OrderFacts(**{"total": Decimal("150.00"), "items_count": 3, "created_at": NOW, **facts})


def _line(sku: str, category: str = "food", quantity: int = 1) -> LineFacts:
    return LineFacts(sku=sku, category=category, quantity=quantity, unit_price=Decimal("5.00"))


def _customer(age_days: int | None) -> CustomerFacts:
    return CustomerFacts(id="C-7", age_days=age_days)


WINE_TO_NO = _order(
    shipping=AddressFacts(country="NO"),
    lines=(_line("TEA-1"), _line("WINE-12", "alcohol", 2), _line("CIG-3", "tobacco")),
)
BLOCKED = {"categories": ["alcohol", "tobacco"], "countries": ["NO", "IS"]}


@pytest.mark.parametrize(
    ("name", "params", "order", "message", "facts"),
    [
        (
            "blocked_categories",
            {"categories": ["alcohol"], "countries": ["NO"]},
            WINE_TO_NO,
            "Line 2 (WINE-12, alcohol) ships to NO, where alcohol is blocked.",
            {"lines": [2], "country": "NO"},
        ),
        (
            "blocked_categories",
            BLOCKED,
            WINE_TO_NO,
            "Line 2 (WINE-12, alcohol) ships to NO, where alcohol is blocked."
            " Line 3 (CIG-3, tobacco) ships to NO, where tobacco is blocked.",
            {"lines": [2, 3], "country": "NO"},
        ),
        (
            "max_quantity_per_sku",
            {"limit": 3},
            _order(lines=(_line("TEA-1", quantity=3), _line("CUP-2"), _line("TEA-1"))),
            "Article TEA-1 has 4 units (lines 1 and 3); at most 3 allowed.",
            {"observed": 4, "required": 3, "excess": 1, "sku": "TEA-1", "lines": [1, 3]},
        ),
        (
            "max_quantity_per_sku",
            {"limit": 1},
            _order(lines=(_line("TEA-1"), _line("CUP-2", quantity=2), _line("MUG-4", quantity=2))),
            "Article CUP-2 has 2 units (line 2); at most 1 allowed. So does 1 more.",
            {"observed": 2, "required": 1, "excess": 1, "sku": "CUP-2", "lines": [2]},
        ),
        (
            "ship_to_countries",
            {"countries": ["SE", "DE"]},
            _order(shipping=AddressFacts(country="NO")),
            "The order ships to NO, which is not one of DE, SE.",
            {"observed": "NO", "required": ["DE", "SE"]},
        ),
        (
            "currency_in",
            {"currencies": ["EUR"]},
            _order(currency="NOK"),
            "The order's currency NOK is not one of EUR.",
            {"observed": "NOK", "required": ["EUR"]},
        ),
        (
            "billing_matches_shipping",
            {"above": "100.00"},
            _order(shipping=AddressFacts(country="NO"), billing=AddressFacts(country="SE")),
            "Total 150.00 is above 100.00, but it is billed in SE and ships to NO.",
            {"observed": "150.00", "required": "100.00", "billing": "SE", "shipping": "NO"},
        ),
        (
            "new_customer_limit",
            {"days": 30, "amount": "100"},
            _order(customer=_customer(29)),
            "Customer signed up 29 days ago (less than 30); total 150.00 is more than 100.00.",
            {"age_days": 29, "observed": "150.00", "required": "100.00", "excess": "50.00"},
        ),
        (
            "max_coupons",
            {"count": 1},
            _order(coupons=("WELCOME10", "XMAS")),
            "Order has 2 coupons (WELCOME10, XMAS); at most 1 allowed.",
            {"observed": 2, "required": 1, "excess": 1, "coupons": ["WELCOME10", "XMAS"]},
        ),
        (
            "payment_method_limit",
            {"method": "cash_on_delivery", "amount": "100"},
            _order(payment_method="cash_on_delivery"),
            "Order paid with cash_on_delivery: total 150.00 is more than 100.00.",
            {
                "payment_method": "cash_on_delivery",
                "observed": "150.00",
                "required": "100.00",
                "excess": "50.00",
            },
        ),
    ],
)
def test_a_failing_rule_of_real_orders_names_what_broke_it(name, params, order, message, facts):
    rule = _rule(name, **params)

    assert rule.evaluate(order) is False
    assert rule.explain(order, False) == (message, facts)
    assert set(facts) <= rule.fact_names


@pytest.mark.parametrize(
    ("name", "params", "order", "message"),
    [
        (
            "blocked_categories",
            BLOCKED,
            _order(),
            "No line is of a blocked category (alcohol, tobacco).",
        ),
        (
            "blocked_categories",
            BLOCKED,
            _order(shipping=AddressFacts(country="SE"), lines=WINE_TO_NO.lines),
            "The order ships to SE, where alcohol and tobacco are not blocked.",
        ),
        ("max_quantity_per_sku", {"limit": 3}, _order(), "The order has no lines."),
        (
            "max_quantity_per_sku",
            {"limit": 3},
            WINE_TO_NO,
            "No article has more than 3; the most is WINE-12, 2 units.",
        ),
        (
            "billing_matches_shipping",
            {"above": "150.00"},
            _order(),
            "Total 150.00 is not above 150.00: countries not compared.",
        ),
        (
            "new_customer_limit",
            {"days": 30, "amount": "100"},
            _order(customer=_customer(30)),
            "Customer signed up 30 days ago, not less than 30: no limit applies.",
        ),
        (
            "new_customer_limit",
            {"days": 30, "amount": "150"},
            _order(customer=_customer(0)),
            "Customer signed up 0 days ago (less than 30); total 150.00 is at most 150.00.",
        ),
        ("max_coupons", {"count": 0}, _order(), "Order has 0 coupons; at most 0 allowed."),
        (
            "payment_method_limit",
            {"method": "cash_on_delivery", "amount": "100"},
            _order(),
            "Order is without a payment method, not cash_on_delivery: no limit applies.",
        ),
        (
            "payment_method_limit",
            {"method": "cash_on_delivery", "amount": "100"},
            _order(payment_method="card"),
            "Order is paid with card, not cash_on_delivery: no limit applies.",
        ),
    ],
)
def test_a_passing_rule_of_real_orders_says_why(name, params, order, message):
    rule = _rule(name, **params)

    assert rule.evaluate(order) is True
    assert rule.explain(order, True)[0] == message


@pytest.mark.parametrize(
    ("name", "params", "order", "missing"),
    [
        ("ship_to_countries", {"countries": ["NO"]}, _order(), "shipping.country"),
        (
            "ship_to_countries",
            {"countries": ["NO"]},
            _order(shipping=AddressFacts(region="Oslo")),
            "shipping.country",
        ),
        ("blocked_categories", BLOCKED, _order(lines=WINE_TO_NO.lines), "shipping.country"),
        (
            "billing_matches_shipping",
            {"above": "100.00"},
            _order(shipping=AddressFacts(country="NO")),
            "billing.country",
        ),
        (
            "billing_matches_shipping",
            {"above": "100.00"},
            _order(billing=AddressFacts(country="NO")),
            "shipping.country",
        ),
        ("new_customer_limit", {"days": 30, "amount": "500"}, _order(), "customer.age_days"),
        (
            "new_customer_limit",
            {"days": 30, "amount": "500"},
            _order(customer=_customer(None)),
            "customer.age_days",
        ),
    ],
)
def test_a_rule_of_real_orders_errs_on_an_order_lacking_its_fact(name, params, order, missing):
    with pytest.raises(MissingFactError) as excinfo:
        _rule(name, **params).evaluate(order)

    assert excinfo.value.path == missing


@pytest.mark.parametrize(
    ("name", "params", "order"),
    [
        ("blocked_categories", BLOCKED, _order(lines=(_line("TEA-1"),))),
        ("billing_matches_shipping", {"above": "150.00"}, _order()),
        ("payment_method_limit", {"method": "card", "amount": "1"}, _order()),
    ],
)
def test_a_rule_of_real_orders_reads_no_fact_it_does_not_need(name, params, order):
    assert _rule(name, **params).evaluate(order) is True


@pytest.mark.parametrize(
    ("name", "params", "bad"),
    [
        ("blocked_categories", {"categories": [], "countries": ["NO"]}, "categories"),
        ("blocked_categories", {"categories": ["Alcohol"], "countries": ["NO"]}, "categories"),
        ("blocked_categories", {"categories": ["alcohol"], "countries": ["no"]}, "countries"),
        ("blocked_categories", {"categories": ["alcohol"], "countries": "NO"}, "countries"),
        ("ship_to_countries", {"countries": ["XX"]}, "countries"),
        ("ship_to_countries", {"countries": ["NO"] * 301}, "countries"),
        ("currency_in", {"currencies": ["EURO"]}, "currencies"),
        ("currency_in", {"currencies": ["eur"]}, "currencies"),
        ("max_quantity_per_sku", {"limit": 0}, "limit"),
        ("max_coupons", {"count": -1}, "count"),
        ("max_coupons", {"count": 21}, "count"),
        ("new_customer_limit", {"days": 0, "amount": "500"}, "days"),
        ("new_customer_limit", {"days": 36501, "amount": "500"}, "days"),
        ("new_customer_limit", {"days": 30, "amount": "-1"}, "amount"),
        ("payment_method_limit", {"method": "Cash on delivery", "amount": "1"}, "method"),
        ("payment_method_limit", {"method": "card"}, "amount"),
        ("billing_matches_shipping", {"above": "1.001"}, "above"),
    ],
)
def test_bad_parameters_of_real_order_rules_are_refused_naming_them(name, params, bad):
    with pytest.raises(InvalidRuleParamsError) as excinfo:
        _rule(name, **params)

    assert list(excinfo.value.rules[name]) == [bad]
