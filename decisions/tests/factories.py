"""Factories for decisions."""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import factory

from decisions.models import Decision
from orders.facts import OrderFacts, snapshot

PLACED = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


def result(rule: str, outcome: str = "passed", **extra: Any) -> dict[str, Any]:
    """Return one rule's result as a decision records it."""
    return {
        "rule": rule,
        "name": extra.pop("name", rule),
        "params": extra.pop("params", {}),
        "outcome": outcome,
        "severity": extra.pop("severity", "error"),
        "message": extra.pop("message", f"{rule} {outcome}."),
        "facts": extra.pop("facts", {}),
    }


class DecisionFactory(factory.django.DjangoModelFactory):
    """A stored order's decision on one listed rule, which passed, unless told otherwise."""

    class Meta:
        model = Decision

    caller = "anonymous"
    request_id = factory.Sequence(lambda n: f"request-{n}")
    order_id = factory.Sequence(lambda n: n + 1)

    class Params:
        """The order's facts, as a check would have read them; an ad-hoc order has no update."""

        total = Decimal("150.00")
        items_count = 3
        created_at = PLACED
        updated_at = factory.LazyAttribute(lambda d: None if d.order_id is None else PLACED)

    snapshot = factory.LazyAttribute(
        lambda decision: snapshot(
            OrderFacts(
                total=decision.total,
                items_count=decision.items_count,
                created_at=decision.created_at,
                updated_at=decision.updated_at,
            )
        )
    )
    ruleset = ""
    ruleset_version = None
    rules = factory.LazyAttribute(
        lambda decision: (
            None
            if decision.ruleset
            else [
                {"name": item["name"], "params": {}, "as": None, "severity": None, "stored": None}
                for item in decision.results
            ]
        )
    )
    results = factory.LazyFunction(lambda: [result("min_total_100")])
    outcomes = factory.LazyAttribute(
        lambda decision: {item["rule"]: item["outcome"] for item in decision.results}
    )
    passed = factory.LazyAttribute(
        lambda decision: all(item["outcome"] == "passed" for item in decision.results)
    )
