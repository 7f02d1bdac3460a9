from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from decisions.tests.factories import DecisionFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("fields", "constraint"),
    [
        ({"total": Decimal("-0.01")}, "decision_total_non_negative"),
        ({"items_count": 0}, "decision_items_count_positive"),
        (
            {"ruleset": "checkout", "ruleset_version": 1, "rules": [{"name": "min_items_2"}]},
            "decision_ruleset_or_rules",
        ),
        ({"rules": None}, "decision_ruleset_or_rules"),
        ({"ruleset": "checkout", "rules": None}, "decision_ruleset_or_rules"),
        ({"ruleset_version": 1}, "decision_ruleset_or_rules"),
        ({"order_id": None}, "decision_stored_order_or_ad_hoc"),
        ({"updated_at": None}, "decision_stored_order_or_ad_hoc"),
        ({"order_id": 0}, "decision_stored_order_or_ad_hoc"),
    ],
)
def test_the_database_refuses_an_inconsistent_decision(fields, constraint):
    with pytest.raises(IntegrityError, match=constraint), transaction.atomic():
        DecisionFactory(**fields)


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"ruleset": "checkout", "ruleset_version": 4, "rules": None},
        {"order_id": None, "updated_at": None},
    ],
)
def test_a_consistent_decision_is_stored(fields):
    decision = DecisionFactory(**fields)

    assert decision.pk is not None


def test_a_decision_is_labelled_by_its_order_and_verdict():
    stored = DecisionFactory(order_id=17)
    ad_hoc = DecisionFactory(order_id=None, updated_at=None, passed=False)

    assert str(stored) == f"Decision {stored.pk}: order 17 passed"
    assert str(ad_hoc) == f"Decision {ad_hoc.pk}: ad-hoc order did not pass"
