"""Every rule with a database form gives the same verdict in SQL as in Python.

Orders at the boundaries and at random are stored, and the ids a rule's
``as_q`` filter selects must be exactly the ids its ``evaluate`` passes; for
conditions over real orders (lines, customers, attributes...), the ids its
``error_q`` selects must be exactly those it errs on. The suite runs on
SQLite (``make test``) and on PostgreSQL (``make test-postgres``).
"""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from unittest.mock import patch

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from orders.facts import MONEY_MAXIMUM, MissingFactError
from orders.models import Customer, Order, OrderLine
from orders.selectors import orders_facts_in_bulk
from rules.conditions import NEVER, CompiledConditionRule, compile_condition
from rules.engine import Resolver, RuleSpec, Severity
from rules.tests.strategies import CONDITION_FAMILIES, NOW, rich_orders

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
# orders. The clock is fixed at CLOCK, so that a customer who signed up exactly 30 days
# before (or a microsecond either side) is as old in SQL as in Python.
CLOCK = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
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


def _store_real_order(number, given):
    """Store one generated order with its customer and lines; return its id."""
    signed_up_before = given.pop("signed_up_before")
    customer = None
    if signed_up_before is not None:
        customer = Customer.objects.create(
            external_id=f"C-{number}", created_at=CLOCK - signed_up_before
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
    monkeypatch.setattr(timezone, "now", lambda: CLOCK)
    Order.objects.all().delete()
    Customer.objects.all().delete()
    ids = [_store_real_order(number, dict(given)) for number, given in enumerate(rows)]

    passed, erred = set(), set()
    for pk, order in orders_facts_in_bulk(ids, now=CLOCK).items():
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


def _store(rows: list[dict]) -> list[int]:
    """Store *rows* of ``rich_orders`` with their customers and lines; return their ids."""
    customers: dict[str, Customer] = {}
    ids = []
    for row in rows:
        fields = dict(row)
        given, lines = fields.pop("customer"), fields.pop("lines")
        if given is not None and given["external_id"] not in customers:
            customers[given["external_id"]] = Customer.objects.create(**given)
        subtotal = sum((line["quantity"] * line["unit_price"] for line in lines), Decimal(0))
        order = Order.objects.create(
            **fields,
            customer=None if given is None else customers[given["external_id"]],
            items_count=sum(line["quantity"] for line in lines) or 1,
            subtotal=subtotal if lines else None,
            lines_count=len(lines),
        )
        OrderLine.objects.bulk_create(
            OrderLine(order=order, position=position, **line)
            for position, line in enumerate(lines, start=1)
        )
        ids.append(order.pk)
    return ids


def _fits(rows: list[dict]) -> bool:
    """Return whether every order's subtotal fits its column."""
    return all(
        sum(line["quantity"] * line["unit_price"] for line in row["lines"]) <= MONEY_MAXIMUM
        for row in rows
    )


@pytest.mark.parametrize("family", CONDITION_FAMILIES)
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data(), rows=st.lists(rich_orders, min_size=1, max_size=6))
def test_conditions_over_real_orders_agree_in_sql_and_python_errors_included(family, data, rows):
    """A condition passes, fails and errs on the same orders in SQL as in Python.

    The orders have lines, customers, addresses, coupons and attributes, each
    sometimes missing; the clock stands still, so ``customer.age_days`` is
    counted from the same moment in both.
    """
    assume(_fits(rows))
    condition = data.draw(CONDITION_FAMILIES[family], label="condition")
    Order.objects.all().delete()
    Customer.objects.all().delete()
    compiled = compile_condition(condition)
    with patch("django.utils.timezone.now", return_value=NOW):
        ids = _store(rows)
        in_python, errs = set(), set()
        for pk, order in orders_facts_in_bulk(ids, now=NOW).items():
            try:
                if compiled.evaluate(order):
                    in_python.add(pk)
            except MissingFactError:
                errs.add(pk)
        error_q = compiled.error_q if compiled.error_q is not None else NEVER
        in_database = set(Order.objects.filter(compiled.q & ~error_q).values_list("pk", flat=True))
        errs_in_database = set(Order.objects.filter(error_q).values_list("pk", flat=True))

    assert (in_database, errs_in_database) == (in_python, errs)


@pytest.mark.parametrize("op", ["==", "!=", "<", "<=", ">", ">="])
@pytest.mark.parametrize("days", [0, 29, 30, "29.5"])
def test_customer_age_days_agrees_at_the_day_boundaries(op, days):
    """Customers who signed up a microsecond either side of whole days ago, at a fixed now."""
    condition = compile_condition({op: [{"var": "customer.age_days"}, days]})
    signed_up = [
        NOW - timedelta(days=whole, microseconds=nudge)
        for whole in (0, 29, 30)
        for nudge in (-1, 0, 1)
    ]
    with patch("django.utils.timezone.now", return_value=NOW):
        orders = [
            Order.objects.create(
                total=Decimal(1),
                items_count=1,
                customer=Customer.objects.create(external_id=f"C-{i}", created_at=moment),
            )
            for i, moment in enumerate(signed_up)
        ]
        facts = orders_facts_in_bulk([order.pk for order in orders], now=NOW)
        in_python = {pk for pk, order in facts.items() if condition.evaluate(order)}
        in_database = set(Order.objects.filter(condition.q).values_list("pk", flat=True))

    assert in_database == in_python
