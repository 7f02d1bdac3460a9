"""Fact providers: classes that supply facts from other services, registered by subclassing.

A provider supplies one or more facts an order does not hold (``risk.score``,
``stock.available``): it names them with their types, the order facts it
sends (its inputs), a deadline (``timeout``), how long an answer may be
reused (``cache_ttl``) and what stands in when it cannot answer
(``fallback``: no value, or values). Defining a concrete subclass registers
it, and its facts join the catalogue (``orders.facts.PROVIDED_FACTS``), as
defining a rule registers the rule; both are discovered in the
``order_rules`` and ``providers`` modules of every installed app.

A provider only declares; ``rules.fetching`` calls it: over HTTP, to the
address its settings give (never one from a request or a condition), under
its deadline, through the cache and its circuit breaker.
"""

from __future__ import annotations

import inspect
from abc import ABCMeta
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from api.errors import ServiceError
from orders.facts import CENT, PROVIDED_FACTS, Fact, FactType, OrderFacts

# An answer larger than this is refused unread: a provider's answer is a few facts.
ANSWER_MAX_BYTES = 64 * 1024


class MalformedAnswerError(ValueError):
    """A provider's answer is not what it declares: not JSON, a value missing or out of range."""


class ProviderNotConfiguredError(ServiceError):
    """A check names rules that need a provider whose service is not configured."""

    code = "provider_not_configured"
    title = "Provider not configured"

    def __init__(self, needs: Mapping[str, Iterable[str]]) -> None:
        """Record each unconfigured provider and the rule keys that need it."""
        self.needs = {provider: sorted(keys) for provider, keys in needs.items()}
        super().__init__(self.needs)

    def __str__(self) -> str:
        """Name each provider and its setting."""
        parts = [f"{name} (set {PROVIDERS[name].url_setting})" for name in sorted(self.needs)]
        return "Provider(s) not configured: " + ", ".join(parts)

    @property
    def detail(self) -> dict[str, Any]:
        """Return the message and, by provider, the rules that need it."""
        return {"message": str(self), "providers": self.needs}


class ProviderMeta(ABCMeta):
    """Metaclass that registers every concrete provider class, and its facts, when defined."""

    def __new__(
        mcs, cls_name: str, bases: tuple[type, ...], namespace: dict[str, Any], **kwargs: Any
    ) -> ProviderMeta:
        """Build the class and register it unless it is abstract (it has no ``name``).

        Raises ``ImproperlyConfigured`` for a provider without facts, a name
        taken, or a fact not declared as its own (``Fact("risk.score", ...,
        provider="risk")``) or already supplied by another provider.
        """
        cls = super().__new__(mcs, cls_name, bases, namespace, **kwargs)
        name = namespace.get("name")
        if inspect.isabstract(cls) or name is None:
            return cls
        if name in PROVIDERS:
            raise ImproperlyConfigured(f"Provider name {name!r} is used twice")
        provides = namespace.get("provides") or ()
        if not provides:
            raise ImproperlyConfigured(f"Provider {name!r} supplies no fact")
        for fact in provides:
            if fact.provider != name or not fact.path.startswith(f"{name}."):
                raise ImproperlyConfigured(
                    f"Provider {name!r}: {fact.path!r} must be named {name}.<fact>"
                    f" and declared with provider={name!r}"
                )
            if fact.path in PROVIDED_FACTS:
                raise ImproperlyConfigured(f"{fact.path!r} is supplied by two providers")
        PROVIDERS[name] = cls  # type: ignore[assignment]
        PROVIDED_FACTS.update((fact.path, fact) for fact in provides)
        return cls


class Provider(metaclass=ProviderMeta):
    """Base class of fact providers; a concrete subclass (one with a ``name``) is registered.

    ``provides`` declares its facts (each named ``<name>.<fact>``, declared
    with ``provider=<name>``); ``reads``
    the order facts it sends, as JSON by path; ``timeout`` is the most a call
    may take, in seconds (connecting, sending and reading); an answer is
    reused for ``cache_ttl`` seconds (0: never) under ``version``, which
    changes when the meaning of its answers does. ``fallback`` holds the
    values that stand in when it cannot answer, ``None`` for none: the rules
    that need it then err with ``provider_unavailable``. Its address is the
    setting ``url_setting`` names, its bearer token ``token_setting``'s.
    """

    name: ClassVar[str]
    description: ClassVar[str]
    provides: ClassVar[tuple[Fact, ...]]
    reads: ClassVar[tuple[Fact, ...]] = ()
    version: ClassVar[str] = "1"
    timeout: ClassVar[float] = 0.3
    cache_ttl: ClassVar[int] = 60
    fallback: ClassVar[Mapping[str, Any] | None] = None
    url_setting: ClassVar[str]
    token_setting: ClassVar[str | None] = None

    @classmethod
    def url(cls) -> str:
        """Return the address answers come from, from settings ("" when not configured)."""
        return str(getattr(settings, cls.url_setting, "") or "")

    @classmethod
    def token(cls) -> str:
        """Return the bearer token its service wants, from settings ("" for none)."""
        if cls.token_setting is None:
            return ""
        return str(getattr(settings, cls.token_setting, "") or "")

    @classmethod
    def configured(cls) -> bool:
        """Return whether the provider has an address to call."""
        return bool(cls.url())

    @classmethod
    def inputs(cls, order: OrderFacts) -> dict[str, Any]:
        """Return what is sent for *order*: each fact it reads as JSON, by path (null: absent)."""
        # ``Fact.to_json`` inlined: a cached check makes these for every provider it needs.
        return {
            fact.path: None if (value := fact.read(order)) is None else fact.json(value)
            for fact in cls.reads
        }

    @classmethod
    def parse(cls, answer: Any) -> dict[str, Any]:
        """Return the facts an *answer* (decoded JSON) holds, by path, as Python values.

        The default reads an object of the facts by their name without the
        provider's (``{"score": 42}`` for ``risk.score``), each of its type
        and within its limits. Raises ``MalformedAnswerError`` otherwise.
        """
        if not isinstance(answer, dict):
            raise MalformedAnswerError("the answer is not a JSON object")
        values = {}
        for fact in cls.provides:
            key = fact.path.removeprefix(f"{cls.name}.")
            values[fact.path] = _checked(fact, answer.get(key))
        return values

    @classmethod
    def needed_by(cls, needs: Iterable[str]) -> bool:
        """Return whether any fact path in *needs* is one this provider supplies."""
        return any(fact.path in needs for fact in cls.provides)


def _checked(fact: Fact, value: Any) -> Any:
    """Return *value* as *fact*'s Python value; ``MalformedAnswerError`` if it is not one.

    A count is a JSON integer; money a string or an integer of at most two
    decimals; any other fact a string; each within the fact's limits.
    """
    if fact.type is FactType.COUNT:
        fits = isinstance(value, int) and not isinstance(value, bool)
    elif fact.type is FactType.MONEY:
        fits = isinstance(value, str | int) and not isinstance(value, bool)
    else:
        fits = isinstance(value, str) and len(value) <= (fact.max_length or 200)
    if not fits:
        raise MalformedAnswerError(f"{fact.path} is not a {fact.type}")
    try:
        python = fact.from_json(value)
        exact = fact.type is not FactType.MONEY or (
            python.is_finite() and python == python.quantize(CENT)
        )
    except ArithmeticError:
        exact = False
    if not exact:
        raise MalformedAnswerError(f"{fact.path} is not an amount in cents")
    low, high = fact.minimum, fact.maximum
    if (low is not None and python < low) or (high is not None and python > high):
        raise MalformedAnswerError(f"{fact.path} is out of range")
    return python


# Every registered provider class, by name: filled by ``ProviderMeta``.
PROVIDERS: dict[str, type[Provider]] = {}


def providers_for(needs: Iterable[str]) -> tuple[type[Provider], ...]:
    """Return the providers that supply the fact paths in *needs*, by name.

    Loops, not comprehensions: each is a call of its own on Python 3.11, and
    every check whose rules need a provider asks this.
    """
    names: set[str] = set()
    for path in needs:
        fact = PROVIDED_FACTS.get(path)
        if fact is not None and fact.provider is not None:
            names.add(fact.provider)
    providers: list[type[Provider]] = []
    for name in sorted(names):
        providers.append(PROVIDERS[name])
    return tuple(providers)
