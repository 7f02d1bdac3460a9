import json
import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings

from decisions.models import Decision
from orders.facts import (
    CATALOGUE,
    AddressFacts,
    CustomerFacts,
    LineFacts,
    MissingFactError,
    OrderFacts,
)
from orders.tests.factories import OrderFactory
from rules.conditions import (
    OPERATORS,
    OPERATORS_BY_TYPE,
    ConditionError,
    UnknownFactError,
    compile_condition,
)
from rules.models import ConditionRule
from rules.tests.strategies import json_values

TOTAL = {"var": "total"}
ITEMS = {"var": "items_count"}
CREATED = {"var": "created_at"}


def _holds(condition, **fields) -> bool:
    return compile_condition(condition).evaluate(OrderFactory.build(**fields))


def _nested(depth: int) -> dict:
    """Return a valid condition whose objects nest *depth* (at least 2) deep."""
    condition = {">": [TOTAL, 1]}
    for _ in range(depth - 2):
        condition = {"!": condition}
    return condition


def _with_nodes(count: int) -> dict:
    """Return a valid condition of exactly *count* (113 to 212) nodes."""
    # The "or" and its list are 2 nodes; an "in" of k items is 5 + k.
    first, second = list(range(1, 101)), list(range(1, count - 111))
    return {"or": [{"in": [ITEMS, first]}, {"in": [ITEMS, second]}]}


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
        (
            {"==": [{"%": [5, 2]}, 1]},
            "dividend must be total, items_count, subtotal or lines_count",
        ),
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


@pytest.mark.parametrize(
    "condition",
    [
        _nested(20),
        _with_nodes(200),
        {"in": [ITEMS, list(range(1, 101))]},
        {">": [TOTAL, "0.000000000001"]},
        {">": [ITEMS, 1.000000000001]},
        {">=": [TOTAL, "0"]},
        {">=": [TOTAL, "0E+999999999"]},
        {"<=": [TOTAL, "99999999.99"]},
        {"in": [TOTAL, [0, "99999999.99"]]},
        {">=": [ITEMS, 0]},
        {"<=": [ITEMS, 2**31 - 1]},
        {"==": [{"%": [ITEMS, 2]}, 0]},
        {"<": [-(2**31 - 1), "2147483647"]},
        {"==": [{"%": [TOTAL, "0.01"]}, 0]},
        {"==": [{"%": [TOTAL, "99999999.99"]}, 0]},
        {"==": [{"%": [ITEMS, 2**31 - 1]}, 0]},
        {">": [CREATED, "0001-01-01T00:00:00Z"]},
        {"<": [CREATED, "9999-12-31T23:59:59+00:00"]},
        {">": [{"var": ["total"]}, 1]},
        {">": [{"var": ["total", 0]}, 1]},
    ],
)
def test_conditions_at_a_limit_compile(condition):
    order = OrderFactory.build(created_at=datetime(2026, 11, 21, tzinfo=UTC))

    assert compile_condition(condition).evaluate(order) in (True, False)


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        (_nested(21), "'!' '>'[0]: objects nest deeper than 20."),
        (_with_nodes(201), "condition: more than 200 nodes"),
        ({"in": [ITEMS, list(range(1, 102))]}, "condition 'in'[1] lists more than 100 constants."),
        (
            {">": [TOTAL, "0.0000000000001"]},
            "condition '>'[1]: '0.0000000000001' has more than 12 digits after the point.",
        ),
        ({">": [ITEMS, 1e-13]}, "condition '>'[1]: 1e-13 has more than 12 digits"),
        (
            {">": [TOTAL, "-0.01"]},
            "condition '>'[1]: -0.01 is outside the range of total (0 to 99999999.99).",
        ),
        ({"<": ["100000000.00", TOTAL]}, "condition '<'[0]: 100000000.00 is outside the range"),
        (
            {"in": [TOTAL, [1, "100000000"]]},
            "condition 'in'[1][1]: 100000000 is outside the range of total",
        ),
        (
            {">=": [ITEMS, -1]},
            "condition '>='[1]: -1 is outside the range of items_count (0 to 2147483647).",
        ),
        ({"==": [{"%": [ITEMS, 2]}, -1]}, "-1 is outside the range of items_count"),
        (
            {"<=": [ITEMS, 2**31]},
            "condition '<='[1]: the number is beyond plus or minus 2147483647",
        ),
        ({"<": ["-2147483648", 0]}, "condition '<'[0]: '-2147483648' is beyond plus or minus"),
        (
            {"==": [{"%": [TOTAL, "100000000"]}, 0]},
            "condition '=='[0] '%': a divisor of total must be at most 99999999.99.",
        ),
        ({"==": [{"%": [ITEMS, 2**31]}, 0]}, "condition '=='[0] '%'[1]: the number is beyond"),
        (
            {"==": [{"%": [ITEMS, "0.5"]}, 0]},
            "condition '=='[0] '%': a divisor of items_count must be a whole number.",
        ),
        (
            {">": [CREATED, "0001-01-01T00:00:00+05:00"]},
            "condition '>'[1]: the date-time '0001-01-01T00:00:00+05:00' is out of range in UTC.",
        ),
        ({"<": [CREATED, "9999-12-31T23:59:59-05:00"]}, "is out of range in UTC"),
    ],
)
def test_conditions_past_a_limit_are_refused_naming_the_place(condition, message):
    with pytest.raises(ConditionError, match=re.escape(message)):
        compile_condition(condition)


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        ({">": [{"var": {}}, 1]}, "condition '>'[0] 'var' takes a field name as a string"),
        ({">": [{"var": 5}, 1]}, "takes a field name as a string"),
        ({">": [{"var": None}, 1]}, "takes a field name as a string"),
        ({">": [{"var": [True]}, 1]}, "takes a field name as a string"),
        ({">": [{"var": [["total"]]}, 1]}, "takes a field name as a string"),
        ({">": [{"var": []}, 1]}, "condition '>'[0] 'var' takes one field name."),
        ({">": [{"var": ["total", 0, 1]}, 1]}, "takes one field name."),
        ({">": [TOTAL, "1e999990"]}, "condition '>'[1]: '1e999990' is beyond plus or minus"),
        ({">": [TOTAL, "1e999999999"]}, "'1e999999999' is beyond plus or minus 2147483647."),
        ({">": [TOTAL, "-1e999999999"]}, "'-1e999999999' is beyond plus or minus"),
        ({">": [TOTAL, "1e-999999999"]}, "has more than 12 digits after the point."),
        ({">": [TOTAL, 10**5000]}, "condition '>'[1]: the number is beyond plus or minus"),
        ({">": [TOTAL, 1e308]}, "1e+308 is beyond plus or minus"),
        ({">": [TOTAL, float("inf")]}, "not a finite number"),
        (
            {"==": [{"%": [TOTAL, "1e999990"]}, 0]},
            "condition '=='[0] '%'[1]: '1e999990' is beyond",
        ),
        ({"==": [{"%": [ITEMS, "1e-999990"]}, 0]}, "has more than 12 digits after the point."),
        ({"==": [{"%": [ITEMS, "0e5"]}, 0]}, "the divisor must be a positive number."),
        ({"and": {">": [TOTAL, 1]}}, "condition 'and' takes a list of one or more conditions."),
        ({"or": "total"}, "condition 'or' takes a list of one or more conditions."),
        ({">": TOTAL}, "condition '>' takes exactly two operands."),
        ({"in": ITEMS}, "condition 'in' takes exactly two operands."),
        ({"in": [ITEMS, 3]}, "condition 'in' takes a value and a non-empty list of constants."),
        ({"==": [{"%": TOTAL}, 0]}, "condition '=='[0] '%' takes exactly two operands."),
        (
            {">": [CREATED, "2026-13-01T00:00:00Z"]},
            "'2026-13-01T00:00:00Z' is not a valid date-time",
        ),
        ({"\ud800": [TOTAL, 1]}, "unknown operator '\\ud800'"),
    ],
)
def test_malformed_shapes_are_refused_naming_the_place(condition, message):
    with pytest.raises(ConditionError, match=re.escape(message)):
        compile_condition(condition)


def test_a_condition_nested_10000_deep_is_refused_without_recursion():
    objects = {">": [TOTAL, 1]}
    lists: list = [TOTAL]
    for _ in range(10_000):
        objects = {"!": objects}
        lists = [lists]

    with pytest.raises(ConditionError, match="objects nest deeper than 20"):
        compile_condition(objects)
    with pytest.raises(ConditionError, match="more than 200 nodes"):
        compile_condition({"!": lists})


def test_a_condition_of_a_million_items_is_refused_by_its_size():
    with pytest.raises(ConditionError, match="condition: more than 200 nodes"):
        compile_condition({"in": [ITEMS, list(range(1_000_000))]})


@settings(max_examples=300, deadline=None)
@given(source=json_values)
def test_arbitrary_json_compiles_or_is_refused_with_a_condition_error(source):
    try:
        condition = compile_condition(source)
    except ConditionError:
        return
    for order in (_order(), _order(shipping=None, lines=(), attributes={})):
        try:
            assert condition.evaluate(order) in (True, False)
        except MissingFactError:
            assert condition.error_q is not None


NO_ALCOHOL_TO_NO = {
    "!": {
        "and": [
            {"==": [{"var": "shipping.country"}, "NO"]},
            {"some": [{"var": "lines"}, {"==": [{"var": "category"}, "alcohol"]}]},
        ]
    }
}
CART = {
    "total": "60.00",
    "shipping": {"country": "NO"},
    "lines": [
        {"sku": "BOOK-1", "category": "books", "quantity": 1, "unit_price": "10.00"},
        {"sku": "WINE-12", "category": "alcohol", "quantity": 2, "unit_price": "25.00"},
    ],
}


def _check_cart(api_client, cart):
    ConditionRule.objects.get_or_create(
        name="no_alcohol_to_no",
        defaults={"description": "No alcohol shipped to Norway.", "condition": NO_ALCOHOL_TO_NO},
    )
    return api_client.post(
        "/rules/check/", {"order": cart, "rules": ["no_alcohol_to_no"]}, format="json"
    )


def _answer(passed: bool, outcome: str, message: str, **more) -> dict:
    return {
        "decision_id": Decision.objects.latest("pk").pk,
        "order_id": None,
        "ruleset": None,
        "passed": passed,
        "details": {"no_alcohol_to_no": passed},
        "results": [
            {
                "rule": "no_alcohol_to_no",
                "name": "no_alcohol_to_no",
                "params": {},
                "outcome": outcome,
                "severity": "error",
                "message": message,
                **more,
            }
        ],
        "errors": [{"rule": "no_alcohol_to_no", "reference": more["reference"]}]
        if "reference" in more
        else [],
    }


@pytest.mark.django_db
def test_a_stored_condition_refuses_a_cart_with_alcohol_shipped_to_norway(api_client):
    response = _check_cart(api_client, CART)

    assert response.status_code == 200
    assert response.json() == _answer(
        False,
        "failed",
        "Failed: No alcohol shipped to Norway. Line 2 (WINE-12, alcohol).",
        lines=[2],
    )


@pytest.mark.django_db
def test_a_condition_created_in_the_admin_refuses_the_cart_naming_the_line(
    admin_client, api_client
):
    created = admin_client.post(
        "/admin/rules/conditionrule/add/",
        {
            "name": "no_alcohol_to_norway",
            "description": "No alcohol shipped to Norway.",
            "severity": "error",
            "condition": json.dumps(NO_ALCOHOL_TO_NO),
        },
    )
    assert created.status_code == 302

    response = api_client.post(
        "/rules/check/", {"order": CART, "rules": ["no_alcohol_to_norway"]}, format="json"
    )

    [result] = response.json()["results"]
    assert (result["outcome"], result["message"], result["lines"]) == (
        "failed",
        "Failed: No alcohol shipped to Norway. Line 2 (WINE-12, alcohol).",
        [2],
    )


@pytest.mark.django_db
def test_a_stored_condition_passes_the_same_cart_shipped_to_sweden(api_client):
    response = _check_cart(api_client, {**CART, "shipping": {"country": "SE"}})

    assert response.status_code == 200
    assert response.json() == _answer(True, "passed", "Passed: No alcohol shipped to Norway.")


@pytest.mark.django_db
def test_a_stored_condition_errs_on_a_cart_without_the_fact_it_reads_naming_it(api_client):
    cart = {key: value for key, value in CART.items() if key != "shipping"}

    response = _check_cart(api_client, cart)

    assert response.status_code == 200
    reference = response.json()["results"][0]["reference"]
    assert response.json() == _answer(
        False,
        "error",
        "The order has no shipping.country. Rule no_alcohol_to_no could not be evaluated.",
        missing="shipping.country",
        reference=reference,
    )


def _order(**fields) -> OrderFacts:
    """Return a cart-like order: 30.00 of two lines, shipped to NO, unless told otherwise."""
    values = {
        "total": Decimal("30.00"),
        "items_count": 3,
        "created_at": datetime(2026, 11, 21, tzinfo=UTC),
        "customer": CustomerFacts(id="C-1", segment="vip", age_days=12),
        "shipping": AddressFacts(country="NO"),
        "billing": AddressFacts(country="SE"),
        "coupons": ("WELCOME10",),
        "lines": (
            LineFacts("WINE-12", "alcohol", 2, Decimal("12.50"), name="Rioja"),
            LineFacts("BOOK-1", "books", 1, Decimal("0.29")),
        ),
        "attributes": {"gift_wrap": True, "tier": "true"},
    }
    return OrderFacts(**{**values, **fields})


LINES = {"var": "lines"}


@pytest.mark.parametrize(
    ("condition", "fields", "expected"),
    [
        ({"==": [{"var": "shipping.country"}, "NO"]}, {}, True),
        ({"in": [{"var": "customer.segment"}, ["vip", "new"]]}, {}, True),
        ({"==": [{"var": "billing.country"}, {"var": "shipping.country"}]}, {}, False),
        ({"==": [{"var": "attributes.gift_wrap"}, True]}, {}, True),
        ({"==": [{"var": "attributes.tier"}, True]}, {}, False),
        ({"==": [{"var": "attributes.tier"}, "true"]}, {}, True),
        ({"in": ["WELCOME10", {"var": "coupons"}]}, {}, True),
        ({"in": ["SPRING", {"var": "coupons"}]}, {}, False),
        ({"<=": [{"count": [{"var": "coupons"}]}, 1]}, {}, True),
        ({"some": [LINES, {"==": [{"var": "category"}, "alcohol"]}]}, {}, True),
        ({"all": [LINES, {">": [{"var": "quantity"}, 1]}]}, {}, False),
        ({"none": [LINES, {">": [{"var": "line_total"}, 25]}]}, {}, True),
        ({"all": [LINES, {"==": [{"var": "category"}, "x"]}]}, {"lines": ()}, True),
        ({"some": [LINES, {"==": [{"var": "category"}, "x"]}]}, {"lines": ()}, False),
        ({"==": [{"count": [LINES, {"<": [{"var": "unit_price"}, 1]}]}, 1]}, {}, True),
        ({"==": [{"count": [LINES]}, {"var": "lines_count"}]}, {}, True),
        ({"==": [{"sum": [LINES, "quantity"]}, 3]}, {}, True),
        ({"==": [{"sum": [LINES, "line_total"]}, {"var": "subtotal"}]}, {}, True),
        ({"==": [{"sum": [LINES, "line_total", {"==": [{"var": "sku"}, "X"]}]}, 0]}, {}, True),
        ({"==": [{"var": "subtotal"}, "25.29"]}, {}, True),
        ({"<": [{"var": "customer.age_days"}, 30]}, {}, True),
        ({"==": [{"var": ["shipping.country", "XX"]}, "XX"]}, {"shipping": None}, True),
        ({"==": [{"var": ["subtotal", 0]}, 0]}, {"lines": ()}, True),
        ({"==": [{"var": ["attributes.vip", False]}, False]}, {}, True),
        ({"some": [LINES, {"==": [{"var": ["name", "?"]}, "?"]}]}, {}, True),
        ({"==": [{"%": [{"var": "quantity"}, 2]}, 0]}, {}, None),
    ],
)
def test_conditions_over_real_orders_evaluate_exactly(condition, fields, expected):
    if expected is None:
        condition = {"some": [LINES, condition]}
        expected = True

    assert compile_condition(condition).evaluate(_order(**fields)) is expected


@pytest.mark.parametrize(
    ("condition", "fields", "missing"),
    [
        ({"==": [{"var": "shipping.country"}, "NO"]}, {"shipping": None}, "shipping.country"),
        ({"==": [{"var": "customer.segment"}, "vip"]}, {"customer": None}, "customer.segment"),
        ({">": [{"var": "customer.age_days"}, 3]}, {"customer": None}, "customer.age_days"),
        ({"==": [{"var": "attributes.vip"}, True]}, {}, "attributes.vip"),
        (
            {"==": [{"var": "attributes.tier"}, "1"]},
            {"attributes": {"tier": 1}},
            "attributes.tier",
        ),
        ({">": [{"var": "subtotal"}, 1]}, {"lines": ()}, "subtotal"),
        ({"some": [LINES, {"==": [{"var": "name"}, "Rioja"]}]}, {}, "lines[1].name"),
        # Decided before evaluating: the "or" would stop at its first, true, part.
        (
            {"or": [{"==": [1, 1]}, {"==": [{"var": "payment_method"}, "card"]}]},
            {},
            "payment_method",
        ),
    ],
)
def test_a_condition_that_reads_a_fact_the_order_lacks_errs_naming_it(condition, fields, missing):
    with pytest.raises(MissingFactError) as raised:
        compile_condition(condition).evaluate(_order(**fields))

    assert raised.value.path == missing


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        (
            {"==": [{"var": "shiping.country"}, "NO"]},
            "condition '=='[0] 'var': unknown variable 'shiping.country'; the nearest known"
            " fact is 'shipping.country' (GET /facts/ lists them all).",
        ),
        ({"==": [{"var": "cateogry"}, "x"]}, "the nearest known fact is 'lines[].category'"),
        (
            {"==": [{"var": "category"}, "x"]},
            "'category' is a line fact (lines[].category): read it inside some, all, none,",
        ),
        ({"some": [LINES, {"==": [{"var": "total"}, 1]}]}, "'total' is not a line fact"),
        ({"some": [LINES, {"==": [{"var": "nme"}, 1]}]}, "the nearest known fact is 'name'"),
        ({"==": [{"var": "attributes.Gift Wrap"}, True]}, "an attribute's key is a slug"),
        ({"<": [{"var": "shipping.country"}, "NO"]}, "shipping.country compares only with =="),
        ({"==": [{"var": "shipping.country"}, 5]}, "shipping.country compares only with strings"),
        ({"==": [{"var": "attributes.x"}, 5]}, "compares only with strings, true and false"),
        ({"==": [{"var": "total"}, True]}, "true, false and null are not values here"),
        (
            {"==": [{"var": "shipping.country"}, {"var": "customer.segment"}]},
            "shipping.country and customer.segment cannot be compared",
        ),
        ({"==": [{"var": "shipping.country"}, {"var": "total"}]}, "cannot be compared"),
        (
            {">": [{"var": "customer.age_days"}, {"var": "items_count"}]},
            "customer.age_days compares only with numbers",
        ),
        ({"==": [{"var": ["subtotal", "0.005"]}, 0]}, "a default of subtotal must be a whole"),
        ({"==": [{"var": ["subtotal", None]}, 0]}, "a default is a constant"),
        ({"in": ["X", {"var": ["coupons", []]}]}, "coupons is a list, always there"),
        ({"==": [{"var": "coupons"}, "X"]}, "coupons is a list, not a value"),
        ({"in": [{"var": "customer.id"}, {"var": "coupons"}]}, "is a string constant"),
        ({"==": [{"var": "lines"}, 1]}, "lines is a list: read it with some, all, none"),
        ({"some": [{"var": "coupons"}, {"==": [1, 1]}]}, 'must be {"var": "lines"}'),
        ({"some": [LINES]}, "takes the lines and a condition on a line"),
        ({"==": [{"count": [{"var": "coupons"}, {"==": [1, 1]}]}, 1]}, "counted whole"),
        ({"==": [{"sum": [LINES, "sku"]}, 1]}, "a sum adds up quantity, unit_price or line_total"),
        (
            {"some": [LINES, {"some": [LINES, {"==": [1, 1]}]}]},
            "a line has no lines",
        ),
        ({"<": [{"count": [LINES]}, -1]}, "-1 is outside the range of the count of lines"),
    ],
)
def test_conditions_over_real_orders_are_refused_naming_the_place(condition, message):
    with pytest.raises(ConditionError, match=re.escape(message)):
        compile_condition(condition)


def test_an_unknown_fact_is_an_unknown_fact_error_naming_the_nearest_known_one():
    with pytest.raises(UnknownFactError) as raised:
        compile_condition({"==": [{"var": "payment"}, "card"]})

    assert (raised.value.path, raised.value.nearest) == ("payment", "payment_method")


def test_every_type_of_fact_in_the_catalogue_lists_its_operators():
    assert set(OPERATORS_BY_TYPE) == {fact.type for fact in CATALOGUE}
    assert all(set(names) <= set(OPERATORS) for names in OPERATORS_BY_TYPE.values())
