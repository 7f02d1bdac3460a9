from typing import ClassVar

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from rules.engine import BaseRule, RuleExample


def test_the_built_in_rules_agree_with_their_examples():
    call_command("check", "--fail-level", "ERROR")


def test_a_rule_that_disagrees_with_its_example_fails_the_check():
    class OffByOneRule(BaseRule):
        name = "off_by_one"
        description = "Meant to require more than 10 items."
        examples: ClassVar = (
            RuleExample({"total": "1.00", "items_count": 10}, False),
            RuleExample({"total": "1.00", "items_count": 11}, True),
        )

        def evaluate(self, order):
            return order.items_count >= 10

    with pytest.raises(SystemCheckError) as excinfo:
        call_command("check")

    message = str(excinfo.value)
    assert "rules.E001" in message
    assert "Rule 'off_by_one', example 1" in message
    assert "expected failed, got True" in message
    assert "example 2" not in message


def test_an_example_with_invalid_params_fails_the_check():
    class BadExampleRule(BaseRule):
        name = "bad_example"
        description = "Its example gives a parameter it does not take."
        examples: ClassVar = (RuleExample({"total": "1.00", "items_count": 1}, True, {"x": 1}),)

        def evaluate(self, order):
            return True

    with pytest.raises(SystemCheckError, match=r"rules\.E002"):
        call_command("check")


def test_an_example_customer_is_what_it_gives_aged_up_to_the_order_without_the_database():
    """Not marked for the database: the check runs before ``migrate`` made the tables."""

    class NewCustomerRule(BaseRule):
        name = "customer_under_a_day"
        description = "The customer signed up less than a day before the order."
        examples: ClassVar = (
            RuleExample(
                {
                    "total": "1.00",
                    "items_count": 1,
                    "created_at": "2026-12-07T12:00:00Z",
                    "customer": {"id": "C-1", "created_at": "2026-12-06T12:00:01Z"},
                },
                True,
            ),
        )

        def evaluate(self, order):
            return order.customer.age_days == 0

    call_command("check", "--fail-level", "ERROR")


def test_an_example_with_an_invalid_customer_fails_the_check():
    class BadCustomerRule(BaseRule):
        name = "bad_customer"
        description = "Its example's customer has no id."
        examples: ClassVar = (
            RuleExample({"total": "1.00", "items_count": 1, "customer": {"segment": "vip"}}, True),
        )

        def evaluate(self, order):
            return True

    with pytest.raises(SystemCheckError) as excinfo:
        call_command("check")

    assert "rules.E002" in str(excinfo.value)
    assert "'customer': {'id': [ErrorDetail(string='This field is required.'" in str(excinfo.value)
