"""Every rule with a database form gives the same verdict in SQL as in Python.

Orders at the boundaries and at random are stored, and the ids a rule's
``as_q`` filter selects must be exactly the ids its ``evaluate`` passes. The
suite runs on SQLite (``make test``) and on PostgreSQL (``make test-postgres``).
"""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orders.facts import MissingFactError
from orders.models import Customer, Order, OrderLine
from orders.selectors import orders_facts_in_bulk
from rules.conditions import CompiledConditionRule, compile_condition
from rules.engine import Resolver, RuleSpec, Severity

pytestmark = pytest.mark.django_db

BOUNDARY_TOTALS = [
    "0.00",
    "0.01",
    "0.29",
    "4.99",
    "5.00",
    "75.50",
    "99.99",
    "100.00",
    "100.01",
    "250.00",
    "99999995.00",
    "99999999.99",
]
MONDAY = datetime(2026, 11, 16, tzinfo=UTC)

totals = st.sampled_from([Decimal(t) for t in BOUNDARY_TOTALS]) | st.decimals(
    min_value=Decimal("0.00"), max_value=Decimal("99999999.99"), places=2
)
orders = st.builds(
    lambda total, items, minutes: (total, items, MONDAY + timedelta(minutes=minutes)),
    totals,
    st.sampled_from([1, 2, 3, 2**31 - 1]) | st.integers(min_value=1, max_value=2**31 - 1),
    st.integers(min_value=0, max_value=14 * 24 * 60),
)

SPECS = [
    RuleSpec("min_total_100"),
    RuleSpec("min_items_2"),
    RuleSpec("divisible_by_5"),
    RuleSpec("is_weekend_order"),
    RuleSpec("total_greater_than", {"amount": "99.99"}),
    RuleSpec("total_at_most", {"amount": "250.00"}),
    RuleSpec("min_items", {"count": 3}),
    RuleSpec("max_items", {"count": 2}),
    RuleSpec("total_divisible_by", {"divisor": "0.10"}),
    RuleSpec("total_divisible_by", {"divisor": "2.50"}),
]
CONDITIONS = [
    {"and": [{">": [{"var": "total"}, "100"]}, {">=": [{"var": "items_count"}, 2]}]},
    {"or": [{"==": [{"%": [{"var": "total"}, 5]}, 0]}, {"<": [{"var": "total"}, 1]}]},
    {"!": [{"in": [{"var": "items_count"}, [1, 3]]}]},
    {"!=": [{"%": [{"var": "total"}, "0.25"]}, "0.05"]},
    {"<": [{"var": "created_at"}, "2026-11-21T00:00:00+00:00"]},
    # Constants with more digits than a float holds, and fractions of a cent or an item:
    # SQLite compares decimals as floats, so these must reach SQL as whole numbers.
    {">=": [{"var": "total"}, "99999995.000000000001"]},
    {"in": [{"var": "total"}, ["99.995", "100.00"]]},
    {"<=": [{"var": "items_count"}, "2147483646.999999999999"]},
    {"or": [{"==": [{"var": "items_count"}, "2.5"]}, {"<": ["2.5", {"var": "items_count"}]}]},
    {
        "and": [
            {"<": ["2147483646.999999999998", "2147483646.999999999999"]},
            {">": [{"var": "total"}, 100]},
        ]
    },
]


def _rules():
    check = Resolver().resolve(SPECS).check
    code = [bound.rule for bound in check.rules]
    stored = [
        CompiledConditionRule(
            f"condition_{i}", "A stored condition.", Severity.ERROR, compile_condition(c)
        )
        for i, c in enumerate(CONDITIONS)
    ]
    return code + stored


RULES = _rules()


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: f"{rule.name}{rule.shown_params}")
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(rows=st.lists(orders, min_size=1, max_size=30))
def test_database_and_python_verdicts_agree(rule, rows):
    Order.objects.all().delete()
    created = Order.objects.bulk_create(Order(total=t, items_count=i) for t, i, _ in rows)
    for order, (_, _, created_at) in zip(created, rows, strict=True):
        order.created_at = created_at  # auto_now_add set it to now on insert
    Order.objects.bulk_update(created, ["created_at"])
    stored = list(Order.objects.all())

    in_python = {order.pk for order in stored if rule.evaluate(order)}
    in_database = set(Order.objects.filter(rule.as_q()).values_list("pk", flat=True))

    assert in_database == in_python


# Orders with lines, a customer, addresses, payment and coupons, for the rules of real
# orders. The clock is fixed at NOW, so that a customer who signed up exactly 30 days
# before (or a microsecond either side) is as old in SQL as in Python.
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
TICK = timedelta(microseconds=1)
sign_ups = st.one_of(
    st.none(),
    st.sampled_from([timedelta(days=30) + shift for shift in (-TICK, timedelta(0), TICK)]),
    st.sampled_from([-timedelta(days=1), timedelta(0), timedelta(days=29, hours=23)]),
    st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=90)),
)
lines = st.tuples(
    st.sampled_from(["WINE-12", "TEA-1", "CUP-2"]),
    st.sampled_from(["alcohol", "food", "tobacco"]),
    st.integers(min_value=1, max_value=4),
    st.sampled_from([Decimal("0.00"), Decimal("0.29"), Decimal("25.00")]),
)
real_orders = st.fixed_dictionaries(
    {
        "total": st.sampled_from(
            [Decimal(t) for t in ("0.00", "99.99", "100.00", "100.01", "99999999.99")]
        )
        | totals,
        "currency": st.sampled_from(["EUR", "SEK", "NOK"]),
        "signed_up_before": sign_ups,
        "shipping_country": st.sampled_from(["", "NO", "SE", "DE"]),
        "billing_country": st.sampled_from(["", "NO", "SE", "DE"]),
        "payment_method": st.sampled_from(["", "card", "cash_on_delivery"]),
        "coupons": st.lists(st.sampled_from(["A", "B", "C"]), max_size=3),
        "lines": st.lists(lines, max_size=5),
    }
)

REAL_ORDER_SPECS = [
    RuleSpec("max_quantity_per_sku", {"limit": 3}),
    RuleSpec("max_quantity_per_sku", {"limit": 1}),
    RuleSpec("blocked_categories", {"categories": ["alcohol", "tobacco"], "countries": ["NO"]}),
    RuleSpec("ship_to_countries", {"countries": ["NO", "DE"]}),
    RuleSpec("billing_matches_shipping", {"above": "100.00"}),
    RuleSpec("new_customer_limit", {"days": 30, "amount": "100.00"}),
    RuleSpec("max_coupons", {"count": 1}),
    RuleSpec("max_coupons", {"count": 0}),
    RuleSpec("payment_method_limit", {"method": "cash_on_delivery", "amount": "100.00"}),
    RuleSpec("currency_in", {"currencies": ["EUR", "SEK"]}),
]
REAL_ORDER_RULES = [bound.rule for bound in Resolver().resolve(REAL_ORDER_SPECS).check.rules]


def _store(number, given):
    """Store one generated order with its customer and lines; return its id."""
    signed_up_before = given.pop("signed_up_before")
    customer = None
    if signed_up_before is not None:
        customer = Customer.objects.create(
            external_id=f"C-{number}", created_at=NOW - signed_up_before
        )
    rows = given.pop("lines")
    order = Order.objects.create(
        **given,
        customer=customer,
        items_count=sum(quantity for _, _, quantity, _ in rows) or 1,
        lines_count=len(rows),
        subtotal=sum((q * price for _, _, q, price in rows), Decimal("0.00")) if rows else None,
    )
    OrderLine.objects.bulk_create(
        OrderLine(
            order=order, position=position, sku=sku, category=category, quantity=q, unit_price=p
        )
        for position, (sku, category, q, p) in enumerate(rows, 1)
    )
    return order.pk


@pytest.mark.parametrize(
    "rule", REAL_ORDER_RULES, ids=lambda rule: f"{rule.name}{rule.shown_params}"
)
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(rows=st.lists(real_orders, min_size=1, max_size=8))
def test_rules_of_real_orders_agree_in_database_and_python_errors_included(
    rule, rows, monkeypatch
):
    """SQL errs on the orders Python errs on, and of the rest passes those Python passes.

    Every verdict explains itself too.
    """
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    Order.objects.all().delete()
    Customer.objects.all().delete()
    ids = [_store(number, dict(given)) for number, given in enumerate(rows)]

    passed, erred = set(), set()
    for pk, order in orders_facts_in_bulk(ids, now=NOW).items():
        try:
            verdict = rule.evaluate(order)
        except MissingFactError:
            erred.add(pk)
            continue
        rule.explain(order, verdict)
        if verdict:
            passed.add(pk)
    error_q = rule.as_error_q()
    in_error = set() if error_q is None else set(_ids(Order.objects.filter(error_q)))
    in_database = set(_ids(Order.objects.filter(rule.as_q()))) - in_error

    assert (in_database, in_error) == (passed, erred)


def _ids(orders):
    return orders.values_list("pk", flat=True)
