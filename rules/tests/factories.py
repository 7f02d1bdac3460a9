"""Builders of the rules tests: rule sets published in one call."""

from typing import Any

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
