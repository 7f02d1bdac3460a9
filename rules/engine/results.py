"""What a check produces: one result per rule, and the verdict over them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from rules.engine.base import Severity


class Outcome(StrEnum):
    """What happened when a rule met an order."""

    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"
    SKIPPED = "skipped"


# details[key] for each outcome: an error counts as not passed, a skip as unknown.
_DETAIL = {Outcome.PASSED: True, Outcome.FAILED: False, Outcome.ERROR: False}


@dataclass(frozen=True, slots=True)
class RuleResult:
    """One rule's outcome on one order, with why."""

    key: str
    name: str
    params: Mapping[str, Any]
    severity: Severity
    outcome: Outcome
    message: str
    facts: Mapping[str, Any] = field(default_factory=dict)

    @property
    def blocks(self) -> bool:
        """Return whether this result makes the whole check fail."""
        return self.severity is Severity.ERROR and self.outcome in (
            Outcome.FAILED,
            Outcome.ERROR,
        )

    def as_dict(self) -> dict[str, Any]:
        """Return the result as the API shows it."""
        return {
            "rule": self.key,
            "name": self.name,
            "params": dict(self.params),
            "outcome": self.outcome.value,
            "severity": self.severity.value,
            "message": self.message,
            **self.facts,
        }


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The results of a list of rules on one order, in evaluation order."""

    results: tuple[RuleResult, ...]

    @property
    def passed(self) -> bool:
        """Return whether no rule of severity ``error`` failed or errored."""
        return not any(result.blocks for result in self.results)

    @property
    def details(self) -> dict[str, bool | None]:
        """Return ``{key: True/False}``, ``None`` for a skipped rule."""
        return {result.key: _DETAIL.get(result.outcome) for result in self.results}

    @property
    def has_errors(self) -> bool:
        """Return whether any rule could not be evaluated."""
        return any(result.outcome is Outcome.ERROR for result in self.results)

    def as_dict(self) -> dict[str, Any]:
        """Return the public contract: ``{"passed": bool, "details": {key: bool}}``."""
        return {"passed": self.passed, "details": self.details}
