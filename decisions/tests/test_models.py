import pytest
from django.db import IntegrityError, transaction

from decisions.tests.factories import DecisionFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("fields", "constraint"),
    [
        (
            {"ruleset": "checkout", "ruleset_version": 1, "rules": [{"name": "min_items_2"}]},
            "decision_ruleset_or_rules",
        ),
        ({"rules": None}, "decision_ruleset_or_rules"),
        ({"ruleset": "checkout", "rules": None}, "decision_ruleset_or_rules"),
        ({"ruleset_version": 1}, "decision_ruleset_or_rules"),
        ({"order_id": 0}, "decision_order_id_positive"),
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
        {"order_id": None},
    ],
)
def test_a_consistent_decision_is_stored(fields):
    decision = DecisionFactory(**fields)

    assert decision.pk is not None


def test_a_decision_is_labelled_by_its_order_and_verdict():
    stored = DecisionFactory(order_id=17)
    ad_hoc = DecisionFactory(order_id=None, passed=False)

    assert str(stored) == f"Decision {stored.pk}: order 17 passed"
    assert str(ad_hoc) == f"Decision {ad_hoc.pk}: ad-hoc order did not pass"
