"""Builders of the rules tests: rule sets published in one call, the unknown-rule error."""

from typing import Any

from rules.engine import RuleRegistry
from rules.models import RuleSet, RuleSetItem
from rules.services import ruleset_publish


def published_ruleset(name: str, *items: str | dict[str, Any], **fields: Any) -> RuleSet:
    """Create the rule set *name* of *items*, in order, and publish it as version 1.

    An item is a rule name or the fields of a ``RuleSetItem`` (``rule``,
    ``params``, ``alias``, ``severity``); *fields* are the rule set's own.
    """
    ruleset = RuleSet.objects.create(name=name, **fields)
    for position, item in enumerate(items, start=1):
        declared = {"rule": item} if isinstance(item, str) else item
        RuleSetItem.objects.create(ruleset=ruleset, position=position, **declared)
    ruleset_publish(ruleset=ruleset)
    return ruleset


def unknown_rules_error(*names: str) -> dict[str, Any]:
    """Return the body of the 400 naming unknown rules *names*, with the code rules available."""
    return {
        "error": "Unknown rule",
        "code": "unknown_rule",
        "detail": {
            "message": f"Unknown rule(s): {', '.join(names)}",
            "unknown": list(names),
            "available": sorted(RuleRegistry.get_all_rules()),
        },
    }
