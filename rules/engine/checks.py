"""A check: where names, items or a rule set become rules ready to run, and the loop to run them.

Rules come from *sources*: the code rules in the registry, and any other
source plugged in (the rules app adds the condition rules stored in its
database). A source finds rules by name and lists them all; each rule it
gives can bind itself to parameters and describe itself. Rule sets come
from one more source. A ``Resolver`` is the one place that turns what a
request names into a ``RuleCheck``, and ``RuleCheck.run`` is the one loop
that evaluates its rules against an order. ``RuleEngine.evaluate_rules`` is
the Python API on top of them.
"""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from orders.facts import MissingFactError, OrderFacts
from rules.engine.base import (
    NO_FACTS,
    BaseRule,
    Judgement,
    Rule,
    RuleInfo,
    Severity,
    judgement,
)
from rules.engine.errors import InvalidRuleParamsError, UnknownRuleError, UnknownRuleSetError
from rules.engine.providers import Provider, ProviderNotConfiguredError, providers_for
from rules.engine.registry import RuleRegistry
from rules.engine.results import RESULT_FIELDS, CheckResult, Outcome, RuleResult

if TYPE_CHECKING:
    from orders.models import Order

logger = logging.getLogger(__name__)

# Whether a rule's facts leave every result field alone. Bound once: Python
# 3.11 calls a method of an imported name through a new bound method each time.
_clash_free = RESULT_FIELDS.isdisjoint
SKIPPED_MESSAGE = "Skipped: an earlier rule already failed the check."
PASSED, FAILED, ERROR, SKIPPED = Outcome.PASSED, Outcome.FAILED, Outcome.ERROR, Outcome.SKIPPED
NONE: frozenset[str] = frozenset()
# Builds a RuleResult from all its fields in C, without the named tuple's own
# __new__ (a Python function): a check builds one per rule.
_result = tuple.__new__
# A verdict's outcome, indexed by the verdict (False is 0, True is 1).
_OUTCOMES = (FAILED, PASSED)


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """One requested rule: its name, params, an optional key and severity."""

    name: str
    params: Mapping[str, Any] = field(default_factory=dict)
    alias: str | None = None
    severity: Severity | None = None

    @property
    def key(self) -> str:
        """Return the key of this rule in ``details`` and ``results``."""
        return self.alias or self.name


@dataclass(frozen=True, slots=True)
class BoundRule:
    """A rule ready to run: its key, the rule with its params, and its severity.

    ``blocking`` is whether the rule's failure fails the check (severity
    ``error``).
    """

    key: str
    rule: Rule
    severity: Severity
    blocking: bool


class RuleCheck:
    """A resolved list of rules, ready to run against any number of orders.

    ``needs`` holds the provided facts its rules read, ``providers`` the
    providers that supply them: known before anything runs, so that only
    those are called.
    """

    def __init__(self, rules: Sequence[BoundRule]) -> None:
        """Keep the bound rules in evaluation order."""
        self.rules = tuple(rules)
        needs = [bound.rule.needs for bound in self.rules if bound.rule.needs]
        # Most checks need no provider: then nothing more is worked out.
        self.needs: frozenset[str] = frozenset().union(*needs) if needs else NONE
        self.providers: tuple[type[Provider], ...] = providers_for(self.needs) if needs else ()
        # Each rule's methods, looked up once: a check alternates between rule
        # classes, and Python 3.11 caches a method lookup for one class at a time.
        # A rule whose facts are always the same names has them checked here, once.
        self._methods = tuple(
            (
                bound,
                bound.key,
                bound.blocking,
                bound.rule.evaluate,
                _judge(bound.rule),
                bound.rule.fact_names is None or not _clash_free(bound.rule.fact_names),
            )
            for bound in self.rules
        )

    def needing(self, provider: type[Provider]) -> list[str]:
        """Return the keys of the rules that read a fact *provider* supplies."""
        return [bound.key for bound in self.rules if provider.needed_by(bound.rule.needs)]

    def require_configured(self) -> None:
        """Raise ``ProviderNotConfiguredError`` naming each needed provider without an address."""
        missing = {
            provider.name: self.needing(provider)
            for provider in self.providers
            if not provider.configured()
        }
        if missing:
            raise ProviderNotConfiguredError(missing)

    def fails_before_providers(self, order: OrderFacts) -> bool:
        """Return whether a blocking rule fails *order* before any rule needs a provider.

        Under ``fail_fast`` such a check skips every rule that needs one, so
        no provider is called for it. A rule that errs counts as failing,
        as in ``run``, which reports it.
        """
        for bound, _, blocking, evaluate, _, _ in self._methods:
            if bound.rule.needs:
                return False
            # The run that follows logs whatever a rule raises; here it only fails.
            try:
                verdict = evaluate(order)
            except Exception:
                verdict = False
            if verdict is not True and blocking:
                return True
        return False

    def run(
        self, order: OrderFacts, *, fail_fast: bool = False, explain: bool = True
    ) -> CheckResult:
        """Evaluate every rule against *order*, in order.

        With *explain*, each rule's result says why (a message and the
        values behind it); without, only ``passed`` and ``details`` are
        made. With *fail_fast*, the rules after the first blocking failure
        are skipped. A rule that raises, answers a non-boolean, gives
        facts that would overwrite a result field or reads a fact the order
        lacks (one its provider did not supply) has the outcome ``error``,
        is logged with a reference id, and counts as not passed (its key is
        in ``erred``, with or without explanations); the other rules still run.
        """
        results: list[RuleResult] = []
        details: dict[str, bool | None] = {}
        erred: list[str] = []
        passed = True
        for bound, key, blocking, evaluate, judge, check_facts in self._methods:
            if fail_fast and not passed:
                details[key] = None
                if explain:
                    results.append(
                        _result(RuleResult, (bound, SKIPPED, SKIPPED_MESSAGE, NO_FACTS, None))
                    )
                continue
            reference = None
            # A rule is a plug-in: this is the engine's one deliberate catch-all.
            try:
                if explain:
                    verdict, message, facts = judge(order)
                else:
                    verdict = evaluate(order)
                if verdict is not True and verdict is not False:
                    reference = _log_non_boolean(bound.rule, order, verdict)
                elif check_facts and explain and not _clash_free(facts):
                    reference = _log_clashing(bound.rule, order, facts)
                if reference is not None:
                    message = (
                        f"Rule {bound.rule.name} could not be evaluated (reference {reference})."
                    )
                    facts = NO_FACTS
            except MissingFactError as exc:
                reference = _log_missing(bound.rule, order, exc)
                message = f"{exc} Rule {bound.rule.name} could not be evaluated."
                facts = exc.facts
            except Exception:
                reference = _log_raised(bound.rule, order)
                message = f"Rule {bound.rule.name} could not be evaluated (reference {reference})."
                facts = NO_FACTS
            if reference is not None:
                verdict = False
                erred.append(key)
                if explain:
                    results.append(_result(RuleResult, (bound, ERROR, message, facts, reference)))
            elif explain:
                results.append(
                    _result(RuleResult, (bound, _OUTCOMES[verdict], message, facts, None))
                )
            details[key] = verdict
            if not verdict and blocking:
                passed = False
        return CheckResult(tuple(results), passed, details, frozenset(erred) if erred else NONE)


def _judge(rule: Rule) -> Callable[[OrderFacts], Judgement]:
    """Return how the run loop asks *rule* for its verdict and why, in one call.

    A code rule answers ``judge`` itself; any other (a stored condition
    rule) is evaluated, then explained.
    """
    if _is_code_rule(type(rule)):
        return rule.judge
    return functools.partial(judgement, rule)


@functools.cache
def _is_code_rule(kind: type) -> bool:
    """Return whether *kind* is a code rule's class: asked once per class.

    ``isinstance`` of ``BaseRule``, an abstract class, is a Python call to its
    metaclass; a check asks it of every rule it resolves.
    """
    return issubclass(kind, BaseRule)


def _log_missing(rule: Rule, order: OrderFacts, exc: MissingFactError) -> str:
    """Log a rule that reads a fact the order lacks; return the reference id.

    Not a fault of the rule or the service, so no traceback: the order
    lacks what the rule needs, and the result says which fact.
    """
    reference = uuid.uuid4().hex
    logger.info(
        "rule needs a fact the order lacks",
        extra={"rule": rule.name, "error_id": reference, "order_id": order.pk, "fact": exc.path},
    )
    return reference


def _log_raised(rule: Rule, order: OrderFacts) -> str:
    """Log the exception a rule raised, with its traceback; return the reference id."""
    reference = uuid.uuid4().hex
    logger.exception(
        "rule evaluation failed",
        extra={"rule": rule.name, "error_id": reference, "order_id": order.pk},
    )
    return reference


def _log_non_boolean(rule: Rule, order: OrderFacts, verdict: object) -> str:
    """Log a rule whose ``evaluate`` gave no bool; return the reference id."""
    reference = uuid.uuid4().hex
    logger.error(
        "rule returned a non-boolean",
        extra={
            "rule": rule.name,
            "error_id": reference,
            "order_id": order.pk,
            "returned_type": type(verdict).__name__,
        },
    )
    return reference


def _log_clashing(rule: Rule, order: OrderFacts, facts: Mapping[str, Any]) -> str:
    """Log a rule whose facts would overwrite result fields; return the reference id."""
    reference = uuid.uuid4().hex
    logger.error(
        "rule facts clash with result fields",
        extra={
            "rule": rule.name,
            "error_id": reference,
            "order_id": order.pk,
            "facts": sorted(RESULT_FIELDS.intersection(facts)),
        },
    )
    return reference


# RuleEngine keeps the checks of at most this many lists of names.
MAX_CACHED_CHECKS = 1024


class RuleDefinition(Protocol):
    """A rule as a source holds it: it binds to parameters and describes itself."""

    name: str

    def bind(self, params: Mapping[str, Any]) -> Rule:
        """Return the rule with *params*; raise ``InvalidRuleParamsError`` if they are bad."""

    def describe(self) -> RuleInfo:
        """Return what the rule says about itself."""


class RuleSource(Protocol):
    """Where rules come from."""

    def find(self, names: Collection[str]) -> Mapping[str, RuleDefinition]:
        """Return the rules among *names* that this source has, by name."""

    def all(self) -> Iterable[RuleDefinition]:
        """Return every rule of this source."""


class RuleSetDefinition(Protocol):
    """One version of a stored rule set: its name, number, items, and the rules it holds."""

    name: str
    version: int

    def specs(self) -> list[RuleSpec]:
        """Return the version's items, in order."""

    def definitions(self) -> Mapping[str, RuleDefinition]:
        """Return the rules the version holds itself (stored rules as they were), by name."""


class RuleSetSource(Protocol):
    """Where rule sets come from."""

    def find_set(
        self, name: str, *, version: int | None, active_only: bool
    ) -> RuleSetDefinition | None:
        """Return version *version* (default: the current) of the set *name*, or ``None``.

        Raises ``UnknownRuleSetVersionError`` when the set has no such version.
        """


@dataclass(frozen=True, slots=True)
class RuleSetRef:
    """The rule set a check used: its name and version."""

    name: str
    version: int


class Resolution(NamedTuple):
    """A runnable check, and the rule set it came from (``None`` for listed rules)."""

    check: RuleCheck
    ruleset: RuleSetRef | None


class CodeRules:
    """The rules defined in code, as the registry holds them."""

    def __init__(self, registry: type[RuleRegistry] = RuleRegistry) -> None:
        """Read rules from *registry*."""
        self.registry = registry

    def find(self, names: Collection[str]) -> dict[str, type[BaseRule]]:
        """Return the registered rule classes among *names*."""
        found = zip(names, self.registry.lookup(names), strict=True)
        return {name: rule for name, rule in found if rule is not None}

    def all(self) -> Iterable[type[BaseRule]]:
        """Return every registered rule class."""
        return self.registry.get_all_rules().values()


class Resolver:
    """Turns listed rules, or a stored rule set, into a runnable check.

    Sources are asked in order: the first that has a name wins, so a code
    rule is never shadowed by a stored one.
    """

    def __init__(
        self,
        sources: Sequence[RuleSource] = (CodeRules(),),
        rulesets: RuleSetSource | None = None,
    ) -> None:
        """Look rules up in *sources* and rule sets in *rulesets*."""
        self.sources = tuple(sources)
        self.rulesets = rulesets

    def resolve(
        self,
        rules: Iterable[str | RuleSpec] | None = None,
        *,
        ruleset: str | None = None,
        version: int | None = None,
        active_only: bool = True,
        held: Mapping[str, RuleDefinition] | None = None,
    ) -> Resolution:
        """Return the check for *rules* (names or specs), or for the rule set *ruleset*.

        A rule set runs version *version*, by default its current one, with
        the stored rules as that version holds them; listed *rules* run the
        definitions *held* by name (stored rules as a decision recorded
        them) before any the sources give. Raises
        ``UnknownRuleSetError`` for a missing (or, with *active_only*,
        inactive) set and ``UnknownRuleSetVersionError`` for a missing
        version, then ``UnknownRuleError`` naming every unknown rule, then
        ``InvalidRuleParamsError`` naming every bad parameter by rule key,
        all before any rule runs.
        """
        reference = None
        if ruleset is not None:
            found = self._find_set(ruleset, version, active_only)
            rules, reference = found.specs(), RuleSetRef(found.name, found.version)
            held = found.definitions()
        specs = [RuleSpec(spec) if isinstance(spec, str) else spec for spec in rules or ()]
        definitions = self._find([spec.name for spec in specs], held or {})
        bound: list[BoundRule] = []
        errors: dict[str, Any] = {}
        for spec in specs:
            try:
                rule = definitions[spec.name].bind(spec.params)
            except InvalidRuleParamsError as exc:
                [errors[spec.key]] = exc.rules.values()
                continue
            severity = spec.severity or rule.severity
            # ``spec.key`` spelled out: a property is a call, for every rule of every check.
            key = spec.alias or spec.name
            bound.append(BoundRule(key, rule, severity, severity is Severity.ERROR))
        if errors:
            raise InvalidRuleParamsError(errors)
        return Resolution(RuleCheck(bound), reference)

    def describe(self) -> list[RuleInfo]:
        """Describe every rule of every source, sorted by name."""
        described: dict[str, RuleInfo] = {}
        for source in self.sources:
            for definition in source.all():
                described.setdefault(definition.name, definition.describe())
        return [described[name] for name in sorted(described)]

    def _find_set(self, name: str, version: int | None, active_only: bool) -> RuleSetDefinition:
        """Return the rule set version asked for; raise ``UnknownRuleSetError`` without a set."""
        found = None
        if self.rulesets is not None:
            found = self.rulesets.find_set(name, version=version, active_only=active_only)
        if found is None:
            raise UnknownRuleSetError(name)
        return found

    def _find(
        self, names: list[str], held: Mapping[str, RuleDefinition]
    ) -> dict[str, RuleDefinition]:
        """Return the definition of every name; raise ``UnknownRuleError`` naming the rest.

        The rules *held* (by a rule set version, or a decision) come first; each source is
        then asked only for the names still missing, so a check of code
        rules alone never reaches the database.
        """
        found: dict[str, RuleDefinition] = dict(held)
        for source in self.sources:
            missing = [name for name in names if name not in found]
            if not missing:
                return found
            found.update(source.find(missing))
        unknown = list(dict.fromkeys(name for name in names if name not in found))
        if unknown:
            available = {rule.name for source in self.sources for rule in source.all()}
            raise UnknownRuleError(unknown, available)
        return found


class RuleEngine:
    """Evaluate registered code rules, by name, against orders: the Python API, with no request."""

    def __init__(self, registry: type[RuleRegistry] = RuleRegistry) -> None:
        """Look rules up in *registry*."""
        self.resolver = Resolver((CodeRules(registry),))
        self._checks: dict[tuple[str, ...], RuleCheck] = {}

    def evaluate_rules(
        self, order: OrderFacts | Order, rule_names: Iterable[str]
    ) -> dict[str, Any]:
        """Return ``{"passed": bool, "details": {name: bool}}`` for *order*.

        *order* is an order as rules see it, or a stored ``Order``, which is
        read with its lines and customer first (``orders.selectors``).

        Every name is resolved before any rule runs: unknown names raise
        ``UnknownRuleError`` naming them all. A list of names is resolved
        once and its check reused: a name, once registered, keeps its class
        (the registry refuses a second class under it).
        """
        names = tuple(rule_names)
        check = self._checks.get(names)
        if check is None:
            if len(self._checks) >= MAX_CACHED_CHECKS:
                self._checks.clear()
            check = self._checks[names] = self.resolver.resolve(names).check
        if not isinstance(order, OrderFacts):
            # Imported here: the engine is imported before Django's models are ready.
            from orders.selectors import as_order_facts

            order = as_order_facts(order)
        return check.run(order, explain=False).as_dict()
