"""Hypothesis strategies of the rules tests: any JSON shaped like conditions; real orders."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import strategies as st

from rules.conditions import OPERATORS

# Keys an operator could be, and a few it could not.
keys = st.sampled_from([*OPERATORS, "+", "if", "", "\ud800"]) | st.text(max_size=3)

# Leaves: every JSON scalar, values near the limits, and the fields themselves.
leaves = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats()
    | st.text(max_size=8)
    | st.sampled_from(
        [
            "total",
            "items_count",
            "created_at",
            "1e999990",
            "1e-999999999",
            "0.0000000000001",
            "99999999.99",
            "2147483648",
            "NaN",
            "-0",
            "2026-11-21T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "0001-01-01T00:00:00+05:00",
        ]
    )
    | st.sampled_from(
        [
            {"var": "total"},
            {"var": "items_count"},
            {"var": "created_at"},
            {"var": "shipping.country"},
            {"var": ["customer.age_days", 3]},
            {"var": "attributes.gift_wrap"},
            {"var": "coupons"},
            {"var": "lines"},
            {"var": "category"},
            "quantity",
            "NO",
        ]
    )
)

# Any JSON value: objects (mostly with operator keys), lists and leaves.
json_values = st.recursive(
    leaves,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=2),
    max_leaves=25,
)

# Real orders and conditions over them, for the property test of SQL against
# Python: small pools of values, so that generated conditions often match,
# and every fact an order may lack is sometimes missing ("" or None).
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
COUNTRIES = ["NO", "SE", "DE"]
SEGMENTS = ["vip", "new"]
METHODS = ["card", "cash_on_delivery"]
CODES = ["WELCOME10", "SPRING"]
CATEGORIES = ["alcohol", "books", "sale"]
SKUS = ["WINE-12", "BOOK-1", "TEE-3"]
ATTRIBUTE_VALUES = [True, False, "yes", "true", "1"]
PRICES = [Decimal(p) for p in ("0.00", "0.29", "4.99", "12.50", "100.00", "9999.99")]
MONEY = ["0", "0.29", "12.5", "25", "100.00", "100.005", "200", "99999999.99"]

lines = st.lists(
    st.fixed_dictionaries(
        {
            "sku": st.sampled_from(SKUS),
            "name": st.sampled_from(["", "Rioja"]),
            "category": st.sampled_from(CATEGORIES),
            "quantity": st.integers(min_value=1, max_value=3) | st.just(1000),
            "unit_price": st.sampled_from(PRICES),
        }
    ),
    max_size=4,
)
customers = st.none() | st.fixed_dictionaries(
    {
        "external_id": st.sampled_from(["C-1", "C-2", "C-3"]),
        "segment": st.sampled_from(["", *SEGMENTS]),
        "country": st.sampled_from(["", *COUNTRIES]),
        # Signed up whole days before now, give or take a microsecond.
        "created_at": st.builds(
            lambda days, nudge: NOW - timedelta(days=days, microseconds=nudge),
            st.sampled_from([0, 1, 29, 30, 31]),
            st.sampled_from([-1, 0, 1]),
        ),
    }
)
rich_orders = st.fixed_dictionaries(
    {
        "total": st.sampled_from(PRICES),
        "currency": st.sampled_from(["EUR", "NOK"]),
        "customer": customers,
        "shipping_country": st.sampled_from(["", *COUNTRIES]),
        "shipping_region": st.sampled_from(["", "Oslo"]),
        "billing_country": st.sampled_from(["", *COUNTRIES]),
        "payment_method": st.sampled_from(["", *METHODS]),
        "channel": st.sampled_from(["", "web"]),
        "coupons": st.lists(st.sampled_from(CODES), max_size=2, unique=True),
        "attributes": st.dictionaries(
            st.sampled_from(["gift", "b2b"]), st.sampled_from(ATTRIBUTE_VALUES), max_size=2
        ),
        "lines": lines,
    }
)


def _var(path: str) -> dict:
    return {"var": path}


def _compare(ops: list[str], value: st.SearchStrategy, constants: st.SearchStrategy):
    """Return a strategy of comparisons of *value* with *constants*, either way round."""
    return st.builds(
        lambda op, v, c, flip: {op: [c, v] if flip else [v, c]},
        st.sampled_from(ops),
        value,
        constants,
        st.booleans(),
    )


ORDERING = ["==", "!=", "<", "<=", ">", ">="]
EQUALITY = ["==", "!="]
line_atoms = st.one_of(
    _compare(EQUALITY, st.just(_var("category")), st.sampled_from(CATEGORIES)),
    _compare(EQUALITY, st.just(_var("sku")), st.sampled_from(SKUS)),
    _compare(EQUALITY, st.sampled_from([_var("name"), {"var": ["name", ""]}]), st.just("Rioja")),
    _compare(ORDERING, st.just(_var("quantity")), st.sampled_from([0, 1, 2, "2.5", 3])),
    _compare(
        ORDERING, st.sampled_from([_var("unit_price"), _var("line_total")]), st.sampled_from(MONEY)
    ),
    st.builds(
        lambda c: {"in": [_var("category"), c]}, st.lists(st.sampled_from(CATEGORIES), min_size=1)
    ),
)
line_conditions = st.recursive(
    line_atoms,
    lambda inner: (
        st.builds(lambda a, b: {"and": [a, b]}, inner, inner)
        | st.builds(lambda a: {"!": a}, inner)
    ),
    max_leaves=3,
)
TEXT_FACTS = [
    "shipping.country",
    "billing.country",
    "customer.country",
    "customer.segment",
    "payment_method",
    "channel",
    "currency",
    "shipping.region",
    "customer.id",
]
texts = st.sampled_from(["NO", "SE", "vip", "card", "web", "EUR", "Oslo", "C-1", "XX"])
# Conditions by family: each family's atoms, then a few combined with
# and, or and !, so that every operator is drawn often enough to be proved.
money_and_counts = st.one_of(
    _compare(
        ORDERING,
        st.sampled_from([_var("total"), _var("subtotal"), {"var": ["subtotal", "12.50"]}]),
        st.sampled_from(MONEY),
    ),
    _compare(
        ORDERING,
        st.sampled_from(
            [
                _var("items_count"),
                _var("lines_count"),
                _var("customer.age_days"),
                {"var": ["customer.age_days", 30]},
            ]
        ),
        st.sampled_from([0, 1, "1.5", 2, 29, 30, 31]),
    ),
    st.builds(
        lambda options: {"in": [_var("customer.age_days"), options]},
        st.lists(st.sampled_from([0, 1, 30, "30.5"]), min_size=1, max_size=2),
    ),
    _compare(
        ORDERING,
        st.sampled_from([{"%": [_var("subtotal"), "0.50"]}, {"%": [_var("lines_count"), 2]}]),
        st.sampled_from([0, 1, "0.29"]),
    ),
)
texts_and_attributes = st.one_of(
    _compare(
        EQUALITY,
        st.sampled_from([_var(p) for p in TEXT_FACTS] + [{"var": ["shipping.country", "XX"]}]),
        texts,
    ),
    st.builds(
        lambda path, options: {"in": [_var(path), options]},
        st.sampled_from(TEXT_FACTS),
        st.lists(texts, min_size=1, max_size=3),
    ),
    _compare(
        EQUALITY,
        st.sampled_from(["billing.country", "customer.country"]).map(_var),
        st.just(_var("shipping.country")),
    ),
    _compare(
        EQUALITY,
        st.sampled_from([_var("attributes.gift"), {"var": ["attributes.gift", False]}]),
        st.sampled_from(ATTRIBUTE_VALUES),
    ),
    st.builds(
        lambda options: {"in": [_var("attributes.gift"), options]},
        st.lists(st.sampled_from(ATTRIBUTE_VALUES), min_size=1, max_size=2),
    ),
    _compare(EQUALITY, st.just(_var("attributes.gift")), st.just(_var("attributes.b2b"))),
    st.builds(lambda code: {"in": [code, _var("coupons")]}, st.sampled_from(CODES)),
    _compare(ORDERING, st.just({"count": [_var("coupons")]}), st.sampled_from([0, 1, 2])),
)
over_lines = st.one_of(
    st.builds(
        lambda q, c: {q: [_var("lines"), c]},
        st.sampled_from(["some", "all", "none"]),
        line_conditions,
    ),
    _compare(
        ORDERING,
        st.one_of(
            st.just({"count": [_var("lines")]}),
            line_conditions.map(lambda c: {"count": [_var("lines"), c]}),
        ),
        st.sampled_from([0, 1, 2]),
    ),
    _compare(
        ORDERING,
        st.builds(
            lambda f, c: {"sum": [_var("lines"), f, c]},
            st.sampled_from(["unit_price", "line_total"]),
            line_conditions,
        ),
        st.sampled_from(MONEY),
    ),
    _compare(
        ORDERING,
        st.just({"sum": [_var("lines"), "quantity"]}),
        st.sampled_from([0, 1, 3, 1000]),
    ),
)
order_atoms = money_and_counts | texts_and_attributes | over_lines


def _combined(atoms: st.SearchStrategy) -> st.SearchStrategy:
    """Return *atoms*, and a few of them combined with and, or and !."""
    return st.recursive(
        atoms,
        lambda inner: (
            st.builds(lambda a, b: {"and": [a, b]}, inner, inner)
            | st.builds(lambda a, b: {"or": [a, b]}, inner, inner)
            | st.builds(lambda a: {"!": a}, inner)
        ),
        max_leaves=3,
    )


CONDITION_FAMILIES = {
    "money_and_counts": _combined(money_and_counts),
    "texts_and_attributes": _combined(texts_and_attributes),
    "over_lines": _combined(over_lines),
    "mixed": _combined(order_atoms),
}
