import logging
from decimal import Decimal

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from orders.facts import SHIPPING_COUNTRY, OrderFacts
from orders.models import Order
from orders.tests.factories import OrderFactory
from rules.engine import (
    BaseRule,
    CodeRules,
    Outcome,
    Resolver,
    RuleEngine,
    RuleMeta,
    RuleRegistry,
    RuleSpec,
    Severity,
)
from rules.engine.errors import DuplicateRuleError, InvalidRuleParamsError, UnknownRuleError

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

    registered = RuleRegistry.get_all_rules()
    assert registered == before
    assert ThresholdRule not in registered.values()


def test_duplicate_rule_name_raises_at_class_definition_naming_both_classes():
    with pytest.raises(DuplicateRuleError, match="min_total_100") as excinfo:

        class ShadowRule(BaseRule):
            name = "min_total_100"
            description = "Tries to replace a built-in rule."

            def evaluate(self, order):
                return True

    assert isinstance(excinfo.value, ImproperlyConfigured)
    assert "MinTotal100Rule" in str(excinfo.value)
    assert "ShadowRule" in str(excinfo.value)
    assert RuleRegistry.get_rule("min_total_100").__name__ == "MinTotal100Rule"


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


def test_an_engine_finds_a_rule_defined_after_it_first_failed_to():
    engine = RuleEngine()
    order = OrderFactory.build()
    with pytest.raises(UnknownRuleError):
        engine.evaluate_rules(order, ["late"])

    class LateRule(BaseRule):
        name = "late"
        description = "Defined after the first check asked for it."

        def evaluate(self, order):
            return False

    assert engine.evaluate_rules(order, ["late"]) == {"passed": False, "details": {"late": False}}


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
        result = Resolver().resolve(["broken", "min_items_2"]).check.run(order)

    assert result.as_dict() == {
        "passed": False,
        "details": {"broken": False, "min_items_2": True},
    }
    broken, other = result.results
    assert (broken.outcome, other.outcome) == (Outcome.ERROR, Outcome.PASSED)
    reference = broken.reference
    assert broken.message == f"Rule broken could not be evaluated (reference {reference})."
    [record] = caplog.records
    assert record.message == "rule evaluation failed"
    assert record.error_id == reference
    assert record.exc_info[0] is ZeroDivisionError


def test_a_rule_reading_a_fact_the_order_lacks_errs_naming_the_fact(caplog):
    class ShipsNorthRule(BaseRule):
        name = "ships_north"
        description = "Ships to Norway."

        def evaluate(self, order):
            return SHIPPING_COUNTRY.require(order) == "NO"

    order = OrderFacts(total=Decimal("10.00"), items_count=1, created_at=timezone.now())
    with caplog.at_level(logging.INFO, logger="rules.engine"):
        result = Resolver().resolve(["ships_north", "min_items_2"]).check.run(order)

    missing, other = result.results
    assert (missing.outcome, other.outcome) == (Outcome.ERROR, Outcome.FAILED)
    assert missing.message == (
        "The order has no shipping.country. Rule ships_north could not be evaluated."
    )
    assert missing.facts == {"missing": "shipping.country"}
    assert result.errors == (missing,)
    [record] = [record for record in caplog.records if record.name == "rules.engine.checks"]
    assert record.message == "rule needs a fact the order lacks"
    assert (record.fact, record.error_id, record.exc_info) == (
        "shipping.country",
        missing.reference,
        None,
    )


@pytest.mark.parametrize("returned", [None, 1, "yes", Decimal("1")])
def test_a_rule_that_returns_a_non_boolean_counts_as_failed(returned, caplog):
    class SloppyRule(BaseRule):
        name = "sloppy"
        description = "Returns whatever."

        def evaluate(self, order):
            return returned

    with caplog.at_level(logging.ERROR, logger="rules.engine"):
        result = Resolver().resolve(["sloppy"]).check.run(OrderFactory.build())

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


def test_a_failing_warning_is_reported_but_does_not_block():
    order = OrderFactory.build(total=Decimal("150.00"), items_count=3)
    specs = [
        "min_total_100",
        RuleSpec("total_greater_than", {"amount": "250.00"}, "big_order", Severity.WARNING),
    ]

    result = Resolver().resolve(specs).check.run(order)

    assert result.as_dict() == {
        "passed": True,
        "details": {"min_total_100": True, "big_order": False},
    }
    big = result.results[1]
    assert (big.key, big.name) == ("big_order", "total_greater_than")
    assert big.params == {"amount": "250.00"}
    assert (big.outcome, big.severity) == (Outcome.FAILED, Severity.WARNING)
    assert big.message == "Total 150.00 is not greater than 250.00."
    assert big.facts == {"observed": "150.00", "required": "250.00", "shortfall": "100.01"}


def test_fail_fast_skips_the_rules_after_the_first_blocking_failure():
    order = OrderFactory.build(total=Decimal("75.50"), items_count=3)
    check = Resolver().resolve(["min_items_2", "min_total_100", "divisible_by_5"]).check

    result = check.run(order, fail_fast=True)

    assert [r.outcome for r in result.results] == [Outcome.PASSED, Outcome.FAILED, Outcome.SKIPPED]
    assert result.details == {"min_items_2": True, "min_total_100": False, "divisible_by_5": None}
    assert result.passed is False


def test_fail_fast_does_not_stop_at_a_failing_warning():
    order = OrderFactory.build(total=Decimal("75.50"), items_count=3)
    specs = [RuleSpec("min_total_100", severity=Severity.WARNING), "divisible_by_5"]

    result = Resolver().resolve(specs).check.run(order, fail_fast=True)

    assert [r.outcome for r in result.results] == [Outcome.FAILED, Outcome.FAILED]


def test_bad_params_of_several_rules_are_reported_together_by_key():
    specs = [
        RuleSpec("total_greater_than", {}, "first"),
        RuleSpec("min_items", {"count": "x"}, "second"),
    ]

    with pytest.raises(InvalidRuleParamsError) as excinfo:
        Resolver().resolve(specs)

    assert excinfo.value.rules == {
        "first": {"amount": ["This field is required."]},
        "second": {"count": ["A valid integer is required."]},
    }


def test_a_run_without_explanations_gives_the_same_verdicts():
    check = Resolver().resolve(["min_total_100", "min_items_2", "divisible_by_5"]).check
    for total, items in [("150.00", 3), ("75.50", 1), ("100.00", 2), ("0.00", 1)]:
        order = OrderFactory.build(total=Decimal(total), items_count=items)

        quick = check.run(order, explain=False)

        assert quick.as_dict() == check.run(order).as_dict()
        assert quick.results == ()


def test_facts_that_would_overwrite_a_result_field_make_the_rule_an_error(caplog):
    class ClashingRule(BaseRule):
        name = "clashing"
        description = "Claims an outcome in its facts."

        def evaluate(self, order):
            return False

        def explain(self, order, passed):
            return "Fine.", {"outcome": "passed", "observed": 1}

    with caplog.at_level(logging.ERROR, logger="rules.engine"):
        result = Resolver().resolve(["clashing", "min_items_2"]).check.run(OrderFactory.build())

    clashing = result.results[0]
    assert clashing.outcome is Outcome.ERROR
    assert clashing.facts == {}
    assert result.errors == (clashing,)
    assert result.details == {"clashing": False, "min_items_2": True}
    [record] = caplog.records
    assert record.message == "rule facts clash with result fields"
    assert record.error_id == clashing.reference


@pytest.mark.parametrize("reason", [None, "Fine.", ("Fine.", {}, "extra"), ("Fine.", 5)])
def test_an_explanation_that_is_not_a_message_and_facts_makes_the_rule_an_error(reason, caplog):
    class MumblingRule(BaseRule):
        name = "mumbling"
        description = "Explains itself badly."

        def evaluate(self, order):
            return True

        def explain(self, order, passed):
            return reason

    with caplog.at_level(logging.ERROR, logger="rules.engine"):
        result = Resolver().resolve(["mumbling", "min_items_2"]).check.run(OrderFactory.build())

    mumbling, other = result.results
    assert (mumbling.outcome, other.outcome) == (Outcome.ERROR, Outcome.PASSED)
    assert mumbling.facts == {}
    assert result.details == {"mumbling": False, "min_items_2": True}
    [record] = caplog.records
    assert record.message == "rule evaluation failed"
    assert record.error_id == mumbling.reference


def test_a_rule_that_names_its_facts_is_still_refused_when_they_clash():
    """Facts named by the rule are checked once; names that clash, at every run, and refused."""

    class NamedClashRule(BaseRule):
        name = "named_clash"
        description = "Names a fact after a result field."
        fact_names = frozenset({"message"})

        def evaluate(self, order: Order) -> bool:
            return True

        def explain(self, order: Order, passed: bool) -> tuple[str, dict]:
            return "Clashes.", {"message": "mine"}

    check = Resolver((CodeRules(),)).resolve(["named_clash", "min_total_100"]).check

    result = check.run(Order(total=Decimal("150.00"), items_count=3))

    assert [rule.outcome for rule in result.results] == [Outcome.ERROR, Outcome.PASSED]


# Rules bound to parameters are made once per class and parameters


def test_a_rule_bound_twice_to_the_same_parameters_is_made_once():
    rule = RuleRegistry.get_rule("blocked_categories")
    params = {"categories": ["alcohol"], "countries": ["NO", "SE"]}

    first = rule.bind(params)
    again = rule.bind({"countries": ["NO", "SE"], "categories": ["alcohol"]})
    other = rule.bind({"categories": ["alcohol"], "countries": ["NO"]})

    assert first is again
    assert other is not first
    assert other.params["countries"] == ["NO"]


def test_parameters_of_other_types_are_bound_apart():
    rule = RuleRegistry.get_rule("min_items")

    as_number = rule.bind({"count": 2})
    as_text = rule.bind({"count": "2"})

    assert as_number is not as_text
    assert as_number.params == as_text.params == {"count": 2}


def test_bad_parameters_are_refused_at_every_bind():
    rule = RuleRegistry.get_rule("min_items")

    for _ in range(2):
        with pytest.raises(InvalidRuleParamsError):
            rule.bind({"count": "two"})
