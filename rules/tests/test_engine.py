import logging
from decimal import Decimal

import pytest
from django.core.exceptions import ImproperlyConfigured

from orders.tests.factories import OrderFactory
from rules.engine import BaseRule, RuleEngine, RuleMeta, RuleRegistry
from rules.exceptions import DuplicateRuleError, UnknownRuleError

BUILT_INS = ["min_total_100", "min_items_2", "divisible_by_5"]


def test_subclassing_base_rule_registers_the_rule_under_its_name():
    class AlwaysRule(BaseRule):
        name = "always"
        description = "Always passes."

        def evaluate(self, order):
            return True

    assert RuleRegistry.get_rule("always") is AlwaysRule
    assert RuleRegistry.rule_exists("always") is True
    assert type(AlwaysRule) is RuleMeta


def test_abstract_intermediate_base_is_not_registered():
    before = RuleRegistry.get_all_rules()

    class ThresholdRule(BaseRule):
        threshold = Decimal("1")

    assert RuleRegistry.get_all_rules() == before
    assert "ThresholdRule" not in {cls.__name__ for cls in before.values()}


def test_duplicate_rule_name_raises_at_class_definition_naming_both_classes():
    with pytest.raises(DuplicateRuleError, match="min_total_100") as excinfo:

        class ShadowRule(BaseRule):
            name = "min_total_100"
            description = "Tries to replace a built-in rule."

            def evaluate(self, order):
                return True

    assert isinstance(excinfo.value, ImproperlyConfigured)
    assert "MinimumTotalRule" in str(excinfo.value)
    assert "ShadowRule" in str(excinfo.value)
    assert RuleRegistry.get_rule("min_total_100").__name__ == "MinimumTotalRule"


@pytest.mark.parametrize(
    "namespace",
    [{"description": "No name."}, {"name": "", "description": "Empty name."}, {"name": "x"}],
)
def test_concrete_rule_without_name_or_description_fails_at_import(namespace):
    body = {**namespace, "evaluate": lambda self, order: True}

    with pytest.raises(TypeError, match="must define its own non-empty string"):
        RuleMeta("IncompleteRule", (BaseRule,), body)


def test_subclass_of_a_rule_must_choose_its_own_name():
    parent = RuleRegistry.get_rule("min_items_2")

    with pytest.raises(TypeError, match="'name'"):
        RuleMeta("CopiedRule", (parent,), {})


def test_get_rule_raises_key_error_for_unknown_name():
    with pytest.raises(KeyError):
        RuleRegistry.get_rule("no_such_rule")
    with pytest.raises(UnknownRuleError, match="no_such_rule"):
        RuleRegistry.get_rule("no_such_rule")


def test_get_all_rules_returns_a_copy():
    rules = RuleRegistry.get_all_rules()
    rules.clear()

    assert RuleRegistry.rule_exists("min_total_100") is True


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (
            {"total": Decimal("150.00"), "items_count": 3},
            {"passed": True, "details": dict.fromkeys(BUILT_INS, True)},
        ),
        (
            {"total": Decimal("75.50"), "items_count": 1},
            {"passed": False, "details": dict.fromkeys(BUILT_INS, False)},
        ),
        (
            {"total": Decimal("100.00"), "items_count": 2},
            {
                "passed": False,
                "details": {"min_total_100": False, "min_items_2": True, "divisible_by_5": True},
            },
        ),
    ],
)
def test_evaluate_rules_returns_the_public_contract(fields, expected):
    order = OrderFactory.build(**fields)

    assert RuleEngine().evaluate_rules(order, BUILT_INS) == expected


def test_evaluate_rules_keeps_request_order_in_details():
    order = OrderFactory.build()

    result = RuleEngine().evaluate_rules(order, list(reversed(BUILT_INS)))

    assert list(result["details"]) == list(reversed(BUILT_INS))


def test_unknown_names_fail_before_any_rule_runs_and_all_are_named():
    calls = []

    class CountingRule(BaseRule):
        name = "counting"
        description = "Records that it ran."

        def evaluate(self, order):
            calls.append(order)
            return True

    with pytest.raises(UnknownRuleError) as excinfo:
        RuleEngine().evaluate_rules(OrderFactory.build(), ["counting", "nope", "nada"])

    assert excinfo.value.unknown == ["nope", "nada"]
    assert "min_total_100" in excinfo.value.available
    assert calls == []


def test_a_rule_that_raises_counts_as_failed_is_logged_and_others_still_run(caplog):
    class BrokenRule(BaseRule):
        name = "broken"
        description = "Raises."

        def evaluate(self, order):
            raise ZeroDivisionError("boom")

    order = OrderFactory.build()
    with caplog.at_level(logging.ERROR, logger="rules.engine"):
        result = RuleEngine().prepare(["broken", "min_items_2"]).run(order)

    assert result.as_dict() == {
        "passed": False,
        "details": {"broken": False, "min_items_2": True},
    }
    [error] = result.errors
    [record] = caplog.records
    assert record.message == "rule evaluation failed"
    assert record.error_id == error["reference"]
    assert record.exc_info[0] is ZeroDivisionError


@pytest.mark.parametrize("returned", [None, 1, "yes", Decimal("1")])
def test_a_rule_that_returns_a_non_boolean_counts_as_failed(returned, caplog):
    class SloppyRule(BaseRule):
        name = "sloppy"
        description = "Returns whatever."

        def evaluate(self, order):
            return returned

    with caplog.at_level(logging.ERROR, logger="rules.engine"):
        result = RuleEngine().prepare(["sloppy"]).run(OrderFactory.build())

    assert result.as_dict() == {"passed": False, "details": {"sloppy": False}}
    assert caplog.records[0].returned_type == type(returned).__name__


def test_rule_registration_logs_at_debug_only(caplog):
    with caplog.at_level(logging.DEBUG, logger="rules.engine"):

        class QuietRule(BaseRule):
            name = "quiet"
            description = "Registers quietly."

            def evaluate(self, order):
                return True

    assert [record.levelno for record in caplog.records] == [logging.DEBUG]
