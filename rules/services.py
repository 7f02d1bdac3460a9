"""Use cases of the rules app: what views, the admin and commands call.

A check is one use case from the rules asked for to the verdict on the
record: the rules (or a rule set) are resolved before anything else, the
order is read (or taken as given), the rules run, the decision is recorded,
the outcome counted, and the verdict noted on the request's access line. A
batch does the same for many stored orders at once. Rule sets are published
as new versions, and restored, here; saving a condition rule (from the admin
or the API) publishes the sets whose current version uses it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from types import MappingProxyType
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from simple_history.models import HistoricalRecords

from api.access_log import note_on_access_line
from api.errors import ServiceError
from api.metrics import count_check
from orders.facts import OrderFacts, provided_facts
from orders.selectors import order_facts_get, orders_facts_in_bulk
from rules.budgets import (
    BatchTooLargeError,
    CheckTooLargeError,
    check_batch_answer,
    check_batch_budget,
)
from rules.conditions import ConditionError, UnknownFactError, compile_condition
from rules.engine import CheckResult, RuleCheck, RuleSetRef, RuleSpec
from rules.fetching import supply
from rules.models import ConditionRule, RuleSet, RuleSetItem, RuleSetVersion
from rules.recording import record_checks
from rules.resolver import resolver

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Caller:
    """Who asks: the name the decision log keeps, and what the caller may use."""

    name: str
    anonymous: bool = False
    sees_inactive_sets: bool = False


@dataclass(frozen=True, slots=True)
class RulesAsked:
    """The rules a request names: a list, or a rule set (pinned to a version or not)."""

    rules: Sequence[RuleSpec] | None = None
    ruleset: str | None = None
    version: int | None = None


@dataclass(frozen=True, slots=True)
class Checked:
    """One order checked: the decision on the record (``None`` when not kept), its verdict."""

    decision_id: int | None
    order_id: int | None
    result: CheckResult


@dataclass(frozen=True, slots=True)
class CheckAnswer:
    """A check: the order's verdict and the rule set it came from (``None`` for listed rules)."""

    checked: Checked
    ruleset: RuleSetRef | None


@dataclass(frozen=True, slots=True)
class BatchSummary:
    """Counts over a batch: ids asked for, orders passed, failed, with errors; ids not found."""

    total: int
    passed: int
    failed: int
    errors: int
    missing: list[int]


@dataclass(frozen=True, slots=True)
class BatchAnswer:
    """A batch: each found order's verdict in the order asked, and a summary."""

    ruleset: RuleSetRef | None
    results: list[Checked]
    summary: BatchSummary


def rules_check(
    *,
    caller: Caller,
    asked: RulesAsked,
    order: OrderFacts | None = None,
    order_id: int | None = None,
    fail_fast: bool = False,
) -> CheckAnswer:
    """Check one order, stored (*order_id*) or given (*order*), and put it on the record.

    The rules are resolved first: an unknown rule or rule set is refused
    before the order is read (``Http404`` when there is no such order), as
    are rules that need a provider with no address
    (``ProviderNotConfiguredError``). The providers the rules need are
    asked, at once, within ``CHECK_PROVIDERS_DEADLINE_MS``. A decision over
    ``DECISION_LOG_MAX_BYTES`` raises ``CheckTooLargeError`` and nothing is
    stored.
    """
    check, ruleset = resolver.resolve(
        asked.rules,
        ruleset=asked.ruleset,
        version=asked.version,
        active_only=not caller.sees_inactive_sets,
    )
    check.require_configured()
    if order is None:
        order = order_facts_get(order_id)  # type: ignore[arg-type]
    if check.providers:
        providers_supply(
            check=check,
            orders=[order],
            deadline_ms=settings.CHECK_PROVIDERS_DEADLINE_MS,
            fail_fast=fail_fast,
        )
    result = check.run(order, fail_fast=fail_fast)
    [decision_id] = record_checks(
        caller=caller.name,
        check=check,
        ruleset=ruleset,
        rules=asked.rules,
        fail_fast=fail_fast,
        checked=[(order, result)],
        refusal=CheckTooLargeError,
    )
    _count(result, ruleset)
    note_on_access_line(
        decision_id=decision_id,
        order_id=order.pk,
        ruleset=ruleset and ruleset.name,
        ruleset_version=ruleset and ruleset.version,
        passed=result.passed,
    )
    return CheckAnswer(Checked(decision_id, order.pk, result), ruleset)


def rules_check_batch(
    *,
    caller: Caller,
    asked: RulesAsked,
    order_ids: Sequence[int],
    render: Callable[[BatchAnswer], dict[str, Any]],
    fail_fast: bool = False,
) -> dict[str, Any]:
    """Check stored orders against the same rules, record every decision; return the answer.

    The answer is *render*ed (by the serializer that documents it) and
    measured before any decision is written; its decision ids are filled in
    once they are. Raises ``BatchTooLargeError``, with nothing stored, when
    orders x rules is over ``BATCH_MAX_CELLS`` (``BATCH_ANONYMOUS_MAX_CELLS``
    for an anonymous caller), the answer over ``BATCH_MAX_BYTES`` or the
    decisions over ``DECISION_LOG_MAX_BYTES``. Ids with no stored order are
    listed as missing, not an error. The providers the rules need are asked
    once per distinct input, within ``BATCH_PROVIDERS_DEADLINE_MS``.
    """
    check, ruleset = resolver.resolve(
        asked.rules,
        ruleset=asked.ruleset,
        version=asked.version,
        active_only=not caller.sees_inactive_sets,
    )
    check.require_configured()
    check_batch_budget(len(order_ids), len(check.rules), anonymous=caller.anonymous)
    orders = orders_facts_in_bulk(order_ids, now=timezone.now())
    if check.providers:
        providers_supply(
            check=check,
            orders=list(orders.values()),
            deadline_ms=settings.BATCH_PROVIDERS_DEADLINE_MS,
            fail_fast=fail_fast,
        )
    checked = [
        (orders[order_id], check.run(orders[order_id], fail_fast=fail_fast))
        for order_id in order_ids
        if order_id in orders
    ]
    passed = sum(result.passed for _, result in checked)
    summary = BatchSummary(
        total=len(order_ids),
        passed=passed,
        failed=len(checked) - passed,
        errors=sum(bool(result.errors) for _, result in checked),
        missing=[order_id for order_id in order_ids if order_id not in orders],
    )
    results = [Checked(None, order.pk, result) for order, result in checked]
    answer = render(BatchAnswer(ruleset, results, summary))
    check_batch_answer(answer, pending_ids=len(checked))
    decision_ids = record_checks(
        caller=caller.name,
        check=check,
        ruleset=ruleset,
        rules=asked.rules,
        fail_fast=fail_fast,
        checked=checked,
        refusal=BatchTooLargeError,
    )
    for entry, decision_id in zip(answer["results"], decision_ids, strict=True):
        entry["decision_id"] = decision_id
    for _, result in checked:
        _count(result, ruleset)
    note_on_access_line(
        ruleset=ruleset and ruleset.name,
        ruleset_version=ruleset and ruleset.version,
        orders=summary.total,
        passed=summary.passed,
        failed=summary.failed,
        errors=summary.errors,
    )
    return answer


def providers_supply(
    *, check: RuleCheck, orders: Sequence[OrderFacts], deadline_ms: int, fail_fast: bool = False
) -> None:
    """Give *orders* what the providers *check* needs supplied, asked at once within *deadline_ms*.

    What a provider supplied before (a replayed decision's) is replaced.
    Under *fail_fast*, an order that a blocking rule fails before any rule
    needs a provider is left out: those rules will be skipped. The time
    waited goes on the request's access line.
    """
    asking = orders
    if fail_fast:
        asking = [order for order in orders if not check.fails_before_providers(order)]
    if not asking:
        return
    started = time.perf_counter()
    supplied = supply(check.providers, asking, deadline=deadline_ms / 1000)
    for order, records in zip(asking, supplied, strict=True):
        order.supplied = MappingProxyType({**order.supplied, **records})
        order.provided = MappingProxyType(provided_facts(order.supplied))
    note_on_access_line(providers_ms=round((time.perf_counter() - started) * 1000, 1))


def _count(result: CheckResult, ruleset: RuleSetRef | None) -> None:
    """Count one order checked: its verdict and each rule's outcome, by rule name."""
    count_check(
        source="rules" if ruleset is None else "ruleset",
        passed=result.passed,
        # The bound rule's name, not the result's property: a call per rule.
        rule_outcomes=[(rule.bound.rule.name, rule.outcome) for rule in result.results],
    )


@transaction.atomic
def ruleset_publish(*, ruleset: RuleSet, by: str | None = None) -> RuleSetVersion:
    """Save *ruleset*'s content as its next version, unless the current one holds it.

    One call is one version, however many items changed; *by* names who
    saved it, by default the user the change history records for this
    request (nobody outside one). Returns the current version.
    """
    if by is None:
        by = acting_username()
    locked = RuleSet.objects.select_for_update().get(pk=ruleset.pk)
    content = ruleset.content()
    current = locked.versions.first()
    if current is not None and current.items == content:
        return current
    number = current.number + 1 if current is not None else 1
    published = RuleSetVersion.objects.create(
        ruleset=locked, number=number, items=content, created_by=by
    )
    RuleSet.objects.filter(pk=ruleset.pk).update(version=number, updated_at=timezone.now())
    ruleset.version = number
    logger.info(
        "rule set version saved", extra={"ruleset": ruleset.name, "version": number, "by": by}
    )
    return published


@transaction.atomic
def ruleset_restore(*, ruleset: RuleSet, version: RuleSetVersion, by: str) -> RuleSetVersion:
    """Set *ruleset*'s items to those of *version*, one of its own, and publish them.

    The versions saved so far stay as they are: the restored items become
    the next version, which takes each condition rule as it is now. Items
    that *version* holds as they are now are kept; the others are deleted
    and *version*'s created, so the change history shows what the restore
    changed. Raises ``UnknownRuleError`` when a rule of *version* no longer
    exists, and ``InvalidRuleParamsError`` when its parameters no longer fit
    its rule, changing nothing. Returns the current version, which is the
    one that held these items already if there was one.
    """
    resolver.resolve(version.specs())
    RuleSet.objects.select_for_update().get(pk=ruleset.pk)
    wanted = [_editable(item) for item in version.items]
    reason = f"Restored from version {version.number}"
    for existing in ruleset.items.all():
        held = _editable(existing.content(None))
        if held in wanted:
            wanted.remove(held)
        else:
            existing._change_reason = reason
            existing.delete()
    for item in wanted:
        created = RuleSetItem(
            ruleset=ruleset,
            position=item["position"],
            rule=item["rule"],
            params=item["params"],
            alias=item["as"],
            severity=item["severity"],
        )
        created._change_reason = reason
        created.save()
    published = ruleset_publish(ruleset=ruleset, by=by)
    logger.info(
        "rule set version restored",
        extra={
            "ruleset": ruleset.name,
            "restored": version.number,
            "version": published.number,
            "conditions_changed": version.conditions_changed_in(published),
            "by": by,
        },
    )
    return published


@transaction.atomic
def condition_rule_save(*, rule: ConditionRule, by: str | None = None) -> None:
    """Save *rule*, and publish a new version of every rule set whose current version uses it.

    The versions name *by*, by default the user the change history records
    for this request.
    """
    rule.save()
    for version in rule.current_versions_using():
        ruleset_publish(ruleset=version.ruleset, by=by)


class ConditionRuleInUseError(ServiceError):
    """A condition rule cannot be deleted: the current version of a rule set uses it."""

    status_code = HTTPStatus.CONFLICT
    code = "rule_in_use"
    title = "Rule in use"

    def __init__(self, message: str, rulesets: list[str]) -> None:
        """Keep the model's message and the names of the sets that use the rule."""
        super().__init__(message)
        self.rulesets = rulesets

    @property
    def detail(self) -> dict[str, Any]:
        """Return the message and the rule sets, by name."""
        return {"message": str(self), "rulesets": self.rulesets}


@transaction.atomic
def condition_rule_create(
    *, name: str, description: str, severity: str, condition: Any
) -> ConditionRule:
    """Validate and save a new condition rule; see ``condition_rule_replace``.

    A name another request took since it was validated is refused as a
    taken name is: the database's unique constraint decides.
    """
    rule = ConditionRule(name=name)
    try:
        with transaction.atomic():
            return condition_rule_replace(
                rule=rule, description=description, severity=severity, condition=condition
            )
    except IntegrityError:
        if not ConditionRule.objects.filter(name=name).exists():
            raise
        raise ValidationError(
            {"name": [rule.unique_error_message(ConditionRule, ("name",))]}
        ) from None


@transaction.atomic
def condition_rule_replace(
    *, rule: ConditionRule, description: str, severity: str, condition: Any
) -> ConditionRule:
    """Give *rule* this content, validate it as the admin does, and save it.

    Raises ``UnknownFactError`` (the API's 400 ``unknown_fact``) when the
    condition names a fact the catalogue does not have, before any other
    check, and ``ValidationError`` by field for the rest: another invalid
    condition, a name taken by a code rule or another condition rule.
    Saving publishes the rule sets whose current version uses the rule
    (``condition_rule_save``), as the user the change history records.
    """
    rule.description = description
    rule.severity = severity
    rule.condition = condition
    try:
        compile_condition(condition)
    except UnknownFactError:
        raise
    except ConditionError:
        pass  # full_clean names it under `condition`, beside the other fields' errors
    rule.full_clean()
    condition_rule_save(rule=rule)
    return rule


@transaction.atomic
def condition_rule_delete(*, rule: ConditionRule) -> None:
    """Delete *rule*; raise ``ConditionRuleInUseError`` while a rule set uses it."""
    using = rule.current_versions_using()
    if using:
        raise ConditionRuleInUseError(
            rule.in_use_message(using), sorted({version.ruleset.name for version in using})
        )
    rule.delete()


def acting_username() -> str:
    """Return the name of the user the change history records for this request, else "".

    ``HistoryRequestMiddleware`` keeps the request being served where the
    change history reads its user; outside a request (a shell, a migration,
    a command) nobody is acting.
    """
    request = getattr(HistoricalRecords.context, "request", None)
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return ""
    return user.get_username()


def _editable(item: Mapping[str, Any]) -> dict[str, Any]:
    """Return what an operator edits of a version's item: all but its condition rule."""
    return {name: value for name, value in item.items() if name != "stored"}
