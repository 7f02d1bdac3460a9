"""Rule sets and condition rules: what operators edit in the admin, and the app's resolver.

``resolver`` is the one resolver the app uses: code rules first, then the
condition rules stored here; rule sets from here too.
"""

import logging
from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Value
from django.db.models.functions import Coalesce, NullIf
from django.utils import timezone

from rules.conditions import (
    Condition,
    ConditionDecoder,
    ConditionError,
    StoredRule,
    compile_condition,
)
from rules.engine import (
    CodeRules,
    InvalidRuleParamsError,
    Resolver,
    RuleInfo,
    RuleRegistry,
    RuleSpec,
    Severity,
    UnknownRuleError,
)

logger = logging.getLogger(__name__)


class RuleSetQuerySet(models.QuerySet["RuleSet"]):
    """Queries of rule sets."""

    def find_set(self, name: str, *, active_only: bool) -> "RuleSet | None":
        """Return the set named *name* with its items, read now (no cache), or ``None``."""
        sets = self.filter(active=True) if active_only else self
        return sets.filter(name=name).prefetch_related("items").first()


class RuleSet(models.Model):
    """A named list of rules that a check can ask for by name.

    ``version`` goes up with every change to the set or its items, so a check
    result says exactly which rules it used.
    """

    name = models.SlugField(max_length=100, unique=True, help_text="Used in checks: `ruleset`.")
    description = models.TextField(blank=True)
    active = models.BooleanField(default=True, help_text="Inactive sets cannot be used.")
    version = models.PositiveIntegerField(default=1, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = RuleSetQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(version__gte=1), name="ruleset_version_positive"
            )
        ]

    def __str__(self) -> str:
        """Return the set's name and version."""
        return f"{self.name} v{self.version}"

    def save(self, *args: object, **kwargs: object) -> None:
        """Save, increasing the version of an existing set."""
        if self.pk is not None:
            self.version = F("version") + 1
        super().save(*args, **kwargs)
        if self.pk is not None:
            self.refresh_from_db(fields=["version"])

    def bump_version(self) -> None:
        """Record that an item changed: increase the version, in the database."""
        RuleSet.objects.filter(pk=self.pk).update(
            version=F("version") + 1, updated_at=timezone.now()
        )

    def specs(self) -> list[RuleSpec]:
        """Return the set's items, in order, as rule specs."""
        return [item.spec() for item in self.items.all()]


class RuleSetItem(models.Model):
    """One rule in a rule set, with its params, key and severity."""

    ruleset = models.ForeignKey(RuleSet, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveIntegerField(
        default=1, validators=[MinValueValidator(1)], help_text="Evaluation order."
    )
    rule = models.CharField(max_length=100, help_text="A registered rule's name.")
    params = models.JSONField(default=dict, blank=True, help_text='e.g. {"amount": "250.00"}')
    alias = models.CharField(
        "as", max_length=100, blank=True, help_text="Key in results; the rule's name if blank."
    )
    severity = models.CharField(
        max_length=10,
        choices=[(s.value, s.value) for s in Severity],
        blank=True,
        help_text="Blank: the rule's default severity.",
    )

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["ruleset", "position"], name="ruleset_item_position_unique"
            ),
            models.UniqueConstraint(
                F("ruleset"),
                Coalesce(NullIf("alias", Value("")), "rule"),
                name="ruleset_item_key_unique",
                violation_error_message="Two items of a rule set have the same key.",
            ),
        ]

    def __str__(self) -> str:
        """Return the item's key."""
        return self.alias or self.rule

    def save(self, *args: object, **kwargs: object) -> None:
        """Save and bump the set's version."""
        super().save(*args, **kwargs)
        self.ruleset.bump_version()

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        """Delete and bump the set's version."""
        result = super().delete(*args, **kwargs)
        self.ruleset.bump_version()
        return result

    def spec(self) -> RuleSpec:
        """Return this item as a rule spec."""
        return RuleSpec(
            self.rule,
            self.params or {},
            self.alias or None,
            Severity(self.severity) if self.severity else None,
        )

    def clean(self) -> None:
        """Check the rule name against the registry and the params against its declaration."""
        if not isinstance(self.params, dict):
            raise ValidationError({"params": "Parameters are a JSON object."})
        try:
            resolver.resolve([self.spec()])
        except UnknownRuleError as exc:
            raise ValidationError({"rule": str(exc)}) from None
        except InvalidRuleParamsError as exc:
            [errors] = exc.rules.values()
            messages = [
                f"{param}: {message}" for param, msgs in errors.items() for message in msgs
            ]
            raise ValidationError({"params": messages}) from None


class ConditionRuleQuerySet(models.QuerySet["ConditionRule"]):
    """Queries of stored condition rules: a rule source for the resolver."""

    def find(self, names: Collection[str]) -> dict[str, "ConditionRule"]:
        """Return the stored rules among *names*, read now (no cache), by name."""
        return {rule.name: rule for rule in self.filter(name__in=list(names))}


class ConditionRule(models.Model):
    """A rule stored in the database: a JsonLogic condition over an order's fields.

    Checks, batches and rule sets use it exactly like a code rule, by name;
    it is edited in the admin without a deploy.
    """

    name = models.CharField(
        max_length=100,
        unique=True,
        validators=[RegexValidator(r"^[a-z][a-z0-9_]*$", "Use lower case, digits and _.")],
        help_text="Unique among all rules, code rules included.",
    )
    description = models.TextField(help_text="What the rule requires, in one sentence.")
    severity = models.CharField(
        max_length=10,
        choices=[(s.value, s.value) for s in Severity],
        default=Severity.ERROR.value,
    )
    condition = models.JSONField(
        decoder=ConditionDecoder,
        help_text='JsonLogic subset, e.g. {">": [{"var": "total"}, "100.00"]}.',
    )
    updated_at = models.DateTimeField(auto_now=True)

    objects = ConditionRuleQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        """Return the rule's name."""
        return self.name

    def clean(self) -> None:
        """Refuse a code rule's name and a condition outside the supported subset."""
        if RuleRegistry.rule_exists(self.name):
            raise ValidationError({"name": f"A code rule is already named {self.name!r}."})
        try:
            compile_condition(self.condition)
        except ConditionError as exc:
            raise ValidationError({"condition": str(exc)}) from None

    def bind(self, params: Mapping[str, Any]) -> StoredRule:
        """Return the rule compiled for the engine; a stored rule takes no parameters.

        A condition is compiled once per saved change, per process: the
        compiled rule is kept under the row's id and ``updated_at``.
        """
        if params:
            raise InvalidRuleParamsError(
                {self.name: {name: ["Unknown parameter."] for name in params}}
            )
        stamp, compiled = _compiled.get(self.pk, (None, None))
        if compiled is None or stamp != self.updated_at:
            compiled = StoredRule(
                self.name, self.description, Severity(self.severity), self._compile()
            )
            _compiled[self.pk] = (self.updated_at, compiled)
        return compiled

    def _compile(self) -> Condition:
        """Compile the condition; one that does not compile becomes a rule that errs.

        A row saved before a limit existed, or written straight into the
        database, must not break the checks that name it: its rule's outcome
        is ``error`` (see ``Condition.refused``), and the problem is logged
        here, once per change.
        """
        try:
            return compile_condition(self.condition)
        except ConditionError as exc:
            logger.warning(
                "stored condition does not compile",
                extra={"rule": self.name, "rule_id": self.pk, "reason": str(exc)},
            )
            return Condition.refused(self.condition, exc)

    def describe(self) -> RuleInfo:
        """Return what the rule says about itself."""
        return RuleInfo(
            name=self.name,
            description=self.description,
            severity=Severity(self.severity),
            params=None,
            examples=(),
            stored=True,
            condition=self.condition,
        )


# Compiled conditions of this process, by row id: (updated_at, rule).
_compiled: dict[int, tuple[datetime, StoredRule]] = {}

resolver = Resolver(sources=(CodeRules(), ConditionRule.objects), rulesets=RuleSet.objects)
