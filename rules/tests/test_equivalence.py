"""Every rule with a database form gives the same verdict in SQL as in Python.

Orders at the boundaries and at random are stored, and the ids a rule's
``as_q`` filter selects must be exactly the ids its ``evaluate`` passes. The
suite runs on SQLite (``make test``) and on PostgreSQL (``make test-postgres``).
"""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orders.models import Order
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
