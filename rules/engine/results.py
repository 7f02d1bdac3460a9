"""What a check produces: one result per rule, and the verdict over them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from rules.engine.runner import BoundRule


class Outcome(StrEnum):
    """What happened when a rule met an order."""

    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"
    SKIPPED = "skipped"


NO_FACTS: Mapping[str, Any] = MappingProxyType({})


class RuleResult(NamedTuple):
    """One rule's outcome on one order, with why.

    A named tuple rather than a frozen dataclass: as immutable, and a check
    makes one per rule, so it is built at tuple speed.
    """

    bound: BoundRule
    outcome: Outcome
    message: str
    facts: Mapping[str, Any]

    @property
    def key(self) -> str:
        """Return the rule's key in ``details``."""
        return self.bound.key

    def as_dict(self) -> dict[str, Any]:
        """Return the result as the API shows it."""
        bound = self.bound
        return {
            "rule": bound.key,
            "name": bound.rule.name,
            "params": bound.rule.shown_params,
            "outcome": self.outcome.value,
            "severity": bound.severity.value,
            "message": self.message,
            **self.facts,
        }


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The results of a list of rules on one order, in evaluation order.

    ``passed`` is true when no rule of severity ``error`` failed or errored;
    ``details`` maps each key to true/false, ``None`` for a skipped rule.
    Both are computed once, as the engine makes the results.
    """

    results: tuple[RuleResult, ...]
    passed: bool
    details: dict[str, bool | None]

    @property
    def has_errors(self) -> bool:
        """Return whether any rule could not be evaluated."""
        return any(result.outcome is Outcome.ERROR for result in self.results)

    def as_dict(self) -> dict[str, Any]:
        """Return the public contract: ``{"passed": bool, "details": {key: bool}}``."""
        return {"passed": self.passed, "details": self.details}
