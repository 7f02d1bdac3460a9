"""The rule base class, what a rule may declare, and what it explains."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, Self

from django.db.models import Q
from rest_framework import serializers
from rest_framework.schemas.openapi import AutoSchema

from rules.engine.errors import InvalidRuleParamsError
from rules.engine.registry import RuleMeta

if TYPE_CHECKING:
    from orders.models import Order


class Severity(StrEnum):
    """How much a rule's failure counts: an ``error`` blocks, a ``warning`` does not."""

    ERROR = "error"
    WARNING = "warning"


# Why a rule passed or failed: one human sentence, and the values behind it
# (e.g. {"observed": "75.50", "required": "100.00"}) for a client to use. A
# plain tuple, because a check makes one per rule.
Reason = tuple[str, Mapping[str, Any]]


class Rule(Protocol):
    """What the engine runs: a bound code rule, or a rule stored in the database."""

    name: str
    description: str
    severity: Severity
    params: Mapping[str, Any]
    shown_params: Mapping[str, Any]

    def evaluate(self, order: Order) -> bool:
        """Return whether *order* satisfies the rule."""

    def explain(self, order: Order, passed: bool) -> Reason:
        """Return ``(message, facts)``: why *order* passed or failed."""

    def as_q(self) -> Q | None:
        """Return the rule as a database filter, or ``None`` without one."""


@dataclass(frozen=True, slots=True)
class RuleExample:
    """An order (as API fields), the rule's params, and whether the rule passes it."""

    order: Mapping[str, Any]
    passes: bool
    params: Mapping[str, Any] = field(default_factory=dict)


class BaseRule(metaclass=RuleMeta):
    """Base class of all rules; subclassing it registers the rule.

    A rule may declare ``Params``, a DRF serializer whose fields type,
    validate and document its parameters; a rule that fixes them for good
    sets ``preset`` and takes none from callers. ``examples`` are run by a
    system check at start-up.
    """

    name: ClassVar[str]
    description: ClassVar[str]
    severity: ClassVar[Severity] = Severity.ERROR
    Params: ClassVar[type[serializers.Serializer] | None] = None
    preset: ClassVar[Mapping[str, Any]] = {}
    examples: ClassVar[tuple[RuleExample, ...]] = ()

    def __init__(self, **params: Any) -> None:
        """Keep the validated *params*; use ``bind`` to validate raw ones."""
        self.params = params
        self.shown_params: dict[str, Any] = (
            dict(self.Params().to_representation(params)) if self.Params and params else {}
        )

    @abstractmethod
    def evaluate(self, order: Order) -> bool:
        """Return whether *order* satisfies this rule."""

    def explain(self, order: Order, passed: bool) -> Reason:
        """Return ``(message, facts)``: why *order* passed or failed.

        The default repeats the description; rules with thresholds override
        it to give the observed and required values.
        """
        return f"{'Passed' if passed else 'Failed'}: {self.description}", {}

    def as_q(self) -> Q | None:
        """Return this rule as a database filter on orders, or ``None`` without one.

        A rule with a database form can answer "which orders pass?" in one
        query; it must agree with ``evaluate`` on every order (the test suite
        proves it for the built-in rules on SQLite and PostgreSQL).
        """
        return None

    @classmethod
    def bind(cls, params: Mapping[str, Any] | None = None) -> Self:
        """Return the rule with *params* validated by its ``Params`` declaration.

        Raises ``InvalidRuleParamsError`` naming each missing, unknown or
        ill-typed parameter.
        """
        given = dict(params or {})
        declared = cls.parameter_fields()
        unknown = sorted(set(given) - set(declared))
        errors: dict[str, list[str]] = {name: ["Unknown parameter."] for name in unknown}
        if cls.preset and given:
            errors = {name: [f"{cls.name} takes no parameters."] for name in given}
        if errors:
            raise InvalidRuleParamsError({cls.name: errors})
        if cls.Params is None:
            return cls()
        serializer = cls.Params(data=cls.preset or given)
        if not serializer.is_valid():
            raise InvalidRuleParamsError({cls.name: serializer.errors})
        return cls(**serializer.validated_data)

    @classmethod
    def parameter_fields(cls) -> dict[str, serializers.Field]:
        """Return the parameters a caller may give: none for a preset rule."""
        if cls.Params is None or cls.preset:
            return {}
        return dict(cls.Params().fields)

    @classmethod
    def parameter_schema(cls) -> dict[str, Any]:
        """Return the caller's parameters as a JSON Schema object."""
        if not cls.parameter_fields():
            return {"type": "object", "properties": {}, "additionalProperties": False}
        schema = AutoSchema().map_serializer(cls.Params())  # type: ignore[misc]
        return {"properties": {}, **schema, "additionalProperties": False}
