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
