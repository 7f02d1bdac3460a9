"""System check: every registered rule agrees with its own examples.

An example is self-contained: it reads nothing from the database (the
check runs before ``migrate`` has made the tables), so its customer is what
it gives, and the customer's ``age_days`` is counted up to the moment the
example order is placed (its ``created_at``), so that examples do not drift
with the calendar.
"""

import dataclasses
from typing import Any

from django.core import checks

from orders.facts import CustomerFacts, OrderFacts, age_days
from orders.serializers import CartCustomerSerializer, OrderDraftSerializer
from rules.engine import BaseRule, RuleExample, RuleRegistry
from rules.engine.errors import InvalidRuleParamsError

EXAMPLE_DISAGREES = "rules.E001"
EXAMPLE_INVALID = "rules.E002"


@checks.register("rules")
def check_rule_examples(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Run every rule's examples; report each one the rule disagrees with."""
    messages: list[checks.CheckMessage] = []
    for name, rule_cls in sorted(RuleRegistry.get_all_rules().items()):
        for number, example in enumerate(rule_cls.examples, start=1):
            message = _check_example(name, rule_cls, number, example)
            if message is not None:
                messages.append(message)
    return messages


def _check_example(
    name: str, rule_cls: type[BaseRule], number: int, example: RuleExample
) -> checks.CheckMessage | None:
    """Return an error if example *number* of rule *name* is invalid or disagrees."""
    where = (
        f"Rule {name!r}, example {number} ({dict(example.order)}, params {dict(example.params)})"
    )
    order = _example_order(example)
    if not isinstance(order, OrderFacts):
        return checks.Error(f"{where}: invalid order {order}", obj=rule_cls, id=EXAMPLE_INVALID)
    try:
        rule = rule_cls.bind(example.params)
    except InvalidRuleParamsError as exc:
        return checks.Error(f"{where}: {exc}", obj=rule_cls, id=EXAMPLE_INVALID)
    if example.provided:
        order.provided = dict(example.provided)
    got = rule.evaluate(order)
    if got is example.passes:
        return None
    expected = "passed" if example.passes else "failed"
    return checks.Error(
        f"{where}: expected {expected}, got {got!r}",
        hint=f"Fix {rule_cls.__qualname__}.evaluate or the example.",
        obj=rule_cls,
        id=EXAMPLE_DISAGREES,
    )


def _example_order(example: RuleExample) -> OrderFacts | dict[str, Any]:
    """Return the order of *example* as rules see it, or its field errors."""
    given = dict(example.order)
    customer = given.pop("customer", None)
    order_fields = OrderDraftSerializer(data=given)
    customer_fields = None if customer is None else CartCustomerSerializer(data=customer)
    errors: dict[str, Any] = {}
    if not order_fields.is_valid():
        errors.update(order_fields.errors)
    if customer_fields is not None and not customer_fields.is_valid():
        errors["customer"] = customer_fields.errors
    if errors or customer_fields is None:
        return errors or order_fields.validated_data
    order: OrderFacts = order_fields.validated_data
    known = customer_fields.validated_data
    signed_up = known.pop("created_at", None)
    age = None if signed_up is None else age_days(signed_up, order.created_at)
    return dataclasses.replace(order, customer=CustomerFacts(**known, age_days=age))
