"""The rule engine's errors: plain exceptions that carry their status, code and detail."""

from collections.abc import Iterable, Mapping
from http import HTTPStatus
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from api.errors import ServiceError


class RuleError(ServiceError):
    """Base class of the rule engine's errors that a client can act on."""

    code = "rule_error"
    title = "Rule error"


class UnknownRuleError(RuleError, KeyError):
    """One or more requested rule names are not registered.

    Subclasses ``KeyError`` so that ``RuleRegistry.get_rule`` keeps its
    documented contract.
    """

    code = "unknown_rule"
    title = "Unknown rule"

    def __init__(self, unknown: Iterable[str], available: Iterable[str]) -> None:
        """Record the names that were not found and those that exist."""
        self.unknown = list(unknown)
        self.available = sorted(available)
        super().__init__(self.unknown)

    def __str__(self) -> str:
        """Name every unknown rule."""
        return "Unknown rule(s): " + ", ".join(self.unknown)

    @property
    def detail(self) -> dict[str, Any]:
        """Return the message, the unknown names and the available ones."""
        return {"message": str(self), "unknown": self.unknown, "available": self.available}


class InvalidRuleParamsError(RuleError):
    """A rule's parameters are missing, unknown or of the wrong type."""

    code = "invalid_params"
    title = "Invalid rule parameters"

    def __init__(self, errors_by_rule: Mapping[str, Mapping[str, Any]]) -> None:
        """Record ``{rule key: {param: [message, ...]}}``."""
        self.rules = {
            rule: {
                param: [str(m) for m in _as_list(messages)] for param, messages in errors.items()
            }
            for rule, errors in errors_by_rule.items()
        }
        super().__init__(self.rules)

    def __str__(self) -> str:
        """Name each rule and its bad parameters."""
        parts = [f"{rule} ({', '.join(errors)})" for rule, errors in self.rules.items()]
        return "Invalid parameters for rule(s): " + "; ".join(parts)

    @property
    def detail(self) -> dict[str, Any]:
        """Return the message and the errors by rule key and parameter."""
        return {"message": str(self), "rules": self.rules}


class UnknownRuleSetError(RuleError):
    """No active rule set has the requested name."""

    status_code = HTTPStatus.NOT_FOUND
    code = "unknown_ruleset"
    title = "Unknown rule set"

    def __init__(self, name: str) -> None:
        """Record the requested name."""
        self.name = name
        super().__init__(name)

    def __str__(self) -> str:
        """Name the rule set."""
        return f"No active rule set named {self.name!r}."


class UnknownRuleSetVersionError(RuleError):
    """A rule set has no version with the requested number."""

    status_code = HTTPStatus.NOT_FOUND
    code = "unknown_ruleset_version"
    title = "Unknown rule set version"

    def __init__(self, name: str, version: int | None) -> None:
        """Record the set's name and the version asked for (``None``: the current one)."""
        self.name, self.version = name, version
        super().__init__(name, version)

    def __str__(self) -> str:
        """Name the set and the version."""
        if self.version is None:
            return f"Rule set {self.name!r} has no saved version yet."
        return f"Rule set {self.name!r} has no version {self.version}."


class DuplicateRuleError(ImproperlyConfigured):
    """Two rule classes claim the same name: a configuration error at start-up."""


def _as_list(messages: Any) -> list[Any]:
    """Return *messages* as a list (DRF gives a list per field, or a nested dict)."""
    return messages if isinstance(messages, list) else [messages]
