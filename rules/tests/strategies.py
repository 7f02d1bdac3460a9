"""Hypothesis strategies of the rules tests: arbitrary JSON, shaped like conditions."""

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
    | st.sampled_from([{"var": "total"}, {"var": "items_count"}, {"var": "created_at"}])
)

# Any JSON value: objects (mostly with operator keys), lists and leaves.
json_values = st.recursive(
    leaves,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=2),
    max_leaves=25,
)
