"""The rule registry and the metaclass that fills it."""

from __future__ import annotations

import inspect
import logging
from abc import ABCMeta
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, ClassVar

from rules.engine.errors import DuplicateRuleError, UnknownRuleError

if TYPE_CHECKING:
    from rules.engine.base import BaseRule

logger = logging.getLogger(__name__)


class RuleRegistry:
    """Every concrete rule class, by name; filled by ``RuleMeta``."""

    _rules: ClassVar[dict[str, type[BaseRule]]] = {}

    @classmethod
    def register(cls, rule_cls: type[BaseRule]) -> None:
        """Register *rule_cls* under its name.

        Raises ``DuplicateRuleError`` naming both classes when the name is
        already taken: a silent override would make behaviour depend on
        import order.
        """
        existing = cls._rules.get(rule_cls.name)
        if existing is not None:
            raise DuplicateRuleError(
                f"Rule name {rule_cls.name!r} is used by both {_qualified(existing)} "
                f"and {_qualified(rule_cls)}"
            )
        cls._rules[rule_cls.name] = rule_cls
        logger.debug("rule registered", extra={"rule": rule_cls.name})

    @classmethod
    def get_rule(cls, name: str) -> type[BaseRule]:
        """Return the rule registered under *name*.

        Raises ``UnknownRuleError``, a ``KeyError``, for an unknown name.
        """
        try:
            return cls._rules[name]
        except KeyError:
            raise UnknownRuleError([name], cls._rules) from None

    @classmethod
    def get_all_rules(cls) -> dict[str, type[BaseRule]]:
        """Return a copy of the registry: ``{name: rule class}``."""
        return dict(cls._rules)

    @classmethod
    def lookup(cls, names: Iterable[str]) -> tuple[type[BaseRule] | None, ...]:
        """Return the class registered under each of *names*, ``None`` for an unknown one."""
        return tuple(map(cls._rules.get, names))

    @classmethod
    def rule_exists(cls, name: str) -> bool:
        """Return whether a rule is registered under *name*."""
        return name in cls._rules


class RuleMeta(ABCMeta):
    """Metaclass that registers every concrete rule class when it is defined."""

    def __new__(
        mcs, cls_name: str, bases: tuple[type, ...], namespace: dict[str, Any], **kwargs: Any
    ) -> RuleMeta:
        """Build the class and register it unless it is abstract.

        Raises ``TypeError`` when a concrete rule lacks its own non-empty
        ``name`` or ``description``, and ``DuplicateRuleError`` when its name
        is taken.
        """
        cls = super().__new__(mcs, cls_name, bases, namespace, **kwargs)
        if inspect.isabstract(cls):
            return cls
        for attribute in ("name", "description"):
            value = namespace.get(attribute)
            if not isinstance(value, str) or not value.strip():
                raise TypeError(
                    f"Rule class {cls_name} must define its own non-empty string {attribute!r}"
                )
        RuleRegistry.register(cls)  # type: ignore[arg-type]
        return cls


def _qualified(cls: type) -> str:
    """Return ``module.QualName`` for *cls*."""
    return f"{cls.__module__}.{cls.__qualname__}"
