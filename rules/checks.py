"""System check: every registered rule agrees with its own examples."""

from typing import Any

from django.core import checks

from orders.serializers import OrderDraftSerializer
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
    order_fields = OrderDraftSerializer(data=dict(example.order))
    if not order_fields.is_valid():
        return checks.Error(
            f"{where}: invalid order {order_fields.errors}", obj=rule_cls, id=EXAMPLE_INVALID
        )
    try:
        rule = rule_cls.bind(example.params)
    except InvalidRuleParamsError as exc:
        return checks.Error(f"{where}: {exc}", obj=rule_cls, id=EXAMPLE_INVALID)
    got = rule.evaluate(order_fields.validated_data)
    if got is example.passes:
        return None
    expected = "passed" if example.passes else "failed"
    return checks.Error(
        f"{where}: expected {expected}, got {got!r}",
        hint=f"Fix {rule_cls.__qualname__}.evaluate or the example.",
        obj=rule_cls,
        id=EXAMPLE_DISAGREES,
    )
