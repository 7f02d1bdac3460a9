import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orders.serializers import MONEY_PATTERN, OrderDraftSerializer

# Strings near the edge of what an amount is, and anything else.
AMOUNT_LIKE = st.from_regex(r"\A[-+ ]?[0-9]{0,11}(\.[0-9]{0,3})?[eE ]?[0-9]?\Z")


def _documented(total: str) -> bool:
    """Return whether the pattern, read as JSON Schema reads it (ECMA 262), matches."""
    return re.search(MONEY_PATTERN.replace("$", r"\Z"), total) is not None


def _accepts(total: object) -> bool:
    return OrderDraftSerializer(data={"total": total, "items_count": 1}).is_valid()


@given(st.one_of(AMOUNT_LIKE, st.text(max_size=12)))
def test_an_amount_is_accepted_exactly_when_the_documented_pattern_matches(total):
    assert _accepts(total) is _documented(total)


@pytest.mark.parametrize("total", ["0", "0.5", "75.50", "99999999.99", "00000000.00"])
def test_amounts_within_the_pattern_are_accepted(total):
    assert _accepts(total) is True


@pytest.mark.parametrize(
    "total", ["", "J", "1e2", " 5", "+5", "-0.00", "000000001.50", "1.", ".5", "١٢", "5\n"]
)
def test_strings_outside_the_pattern_are_refused(total):
    assert _accepts(total) is False


@pytest.mark.parametrize("total", [150, 150.5, None, ["1.00"]])
def test_an_amount_that_is_not_a_string_is_refused(total):
    serializer = OrderDraftSerializer(data={"total": total, "items_count": 1})

    assert serializer.is_valid() is False
    expected = "This field may not be null." if total is None else "Enter the amount as a string"
    assert serializer.errors["total"][0].startswith(expected)


@pytest.mark.django_db
def test_a_cart_may_give_null_for_a_part_it_lacks_and_a_placing_time():
    serializer = OrderDraftSerializer(
        data={
            "total": "10.00",
            "created_at": "2026-11-21T10:00:00Z",
            "customer": None,
            "shipping": None,
            "payment_method": None,
            "lines": [{"sku": "A", "category": "food", "quantity": 2, "unit_price": "5.00"}],
        }
    )

    assert serializer.is_valid(), serializer.errors
    order = serializer.validated_data
    assert (order.items_count, order.customer, order.shipping, order.payment_method) == (
        2,
        None,
        None,
        None,
    )
    assert order.created_at.isoformat() == "2026-11-21T10:00:00+00:00"


def test_inside_a_part_and_for_a_fact_every_order_has_null_is_refused():
    serializer = OrderDraftSerializer(
        data={
            "total": "10.00",
            "items_count": 1,
            "currency": None,
            "customer": {"id": "C-1", "segment": None},
            "shipping": {"country": None},
        }
    )

    assert serializer.is_valid() is False
    assert serializer.errors == {
        "currency": ["This field may not be null."],
        "customer.segment": ["This field may not be null."],
        "shipping.country": ["This field may not be null."],
    }
