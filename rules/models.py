"""Rule sets and condition rules: what operators edit in the admin."""

import logging
from collections.abc import Collection, Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Value
from django.db.models.functions import Coalesce, NullIf
from simple_history.models import HistoricalRecords

from rules.conditions import (
    CompiledConditionRule,
    ConditionDecoder,
    ConditionError,
    ConditionRuleContent,
    compile_condition,
)
from rules.diffs import ItemChange, diff_items
from rules.engine import (
    InvalidRuleParamsError,
    RuleInfo,
    RuleRegistry,
    RuleSpec,
    Severity,
    UnknownRuleError,
    UnknownRuleSetVersionError,
)

logger = logging.getLogger(__name__)

# The severities a row may hold; the database refuses any other.
SEVERITIES = [severity.value for severity in Severity]
# A condition rule's name, as the API's schema states it too.
CONDITION_RULE_NAME_PATTERN = r"^[a-z][a-z0-9_]*$"


class RuleSetQuerySet(models.QuerySet["RuleSet"]):
    """Queries of rule sets: the resolver's source of rule sets."""

    def active(self) -> "RuleSetQuerySet":
        """Return the active rule sets."""
        return self.filter(active=True)

    def find_set(
        self, name: str, *, version: int | None = None, active_only: bool = True
    ) -> "RuleSetVersion | None":
        """Return version *version* (default: the current one) of the set named *name*.

        Read now (no cache). Returns ``None`` when there is no such set (or,
        with *active_only*, no active one); raises
        ``UnknownRuleSetVersionError`` when the set has no such version.
        """
        ruleset = (self.active() if active_only else self).filter(name=name).first()
        if ruleset is None:
            return None
        number = ruleset.version if version is None else version
        found = ruleset.versions.filter(number=number).first()
        if found is None:
            raise UnknownRuleSetVersionError(name, version)
        found.ruleset = ruleset
        return found


class RuleSet(models.Model):
    """A named list of rules that a check can ask for by name.

    Its items are edited in place; every saved change is published as a new,
    immutable ``RuleSetVersion`` holding the set's complete content
    (``rules.services.ruleset_publish``), and ``version`` is the number of the
    current one. Checks run a version, never the items being edited.
    """

    name = models.SlugField(max_length=100, unique=True, help_text="Used in checks: `ruleset`.")
    description = models.TextField(blank=True)
    active = models.BooleanField(default=True, help_text="Inactive sets cannot be used.")
    version = models.PositiveIntegerField(
        default=0, editable=False, help_text="The current version; 0 until the first is saved."
    )
    updated_at = models.DateTimeField(auto_now=True)

    objects = RuleSetQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        """Return the set's name (its versions are labelled ``name vN``)."""
        return self.name

    def specs(self) -> list[RuleSpec]:
        """Return the set's items as edited now, in order, as rule specs."""
        return [item.spec() for item in self.items.all()]

    def current(self) -> "RuleSetVersion | None":
        """Return the current version, or ``None`` before the first is saved."""
        return self.versions.filter(number=self.version).first()

    def current_specs(self) -> list[RuleSpec]:
        """Return the current version's items, in order (none before the first)."""
        current = self.current()
        return current.specs() if current is not None else []

    def content(self) -> list[dict[str, Any]]:
        """Return the set's items as a version holds them, condition rules' content included."""
        items = list(self.items.all())
        stored = {
            rule.name: rule
            for rule in ConditionRule.objects.filter(name__in=[item.rule for item in items])
            if not RuleRegistry.rule_exists(rule.name)
        }
        return [item.content(stored.get(item.rule)) for item in items]


class RuleSetVersion(models.Model):
    """One version of a rule set: its complete content as it was saved, never changed.

    ``items`` holds each item (position, rule, params, ``as``, severity) and,
    for a stored condition rule, its description, severity and condition as
    they were, so that the version runs the same way whatever changes later.
    """

    ruleset = models.ForeignKey(RuleSet, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    items = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.CharField(max_length=150, blank=True, help_text="Who saved it.")

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["ruleset", "number"], name="ruleset_version_number_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(number__gte=1), name="ruleset_version_number_positive"
            ),
        ]

    def __str__(self) -> str:
        """Return the set's name and this version's number."""
        return f"{self.ruleset.name} v{self.number}"

    def save(self, *args: object, **kwargs: object) -> None:
        """Save a new version; a saved version is never changed."""
        if self.pk is not None:
            raise ValidationError("A rule set version is never changed; publish a new one.")
        super().save(*args, **kwargs)

    @property
    def name(self) -> str:
        """Return the rule set's name."""
        return self.ruleset.name

    @property
    def version(self) -> int:
        """Return this version's number."""
        return self.number

    def specs(self) -> list[RuleSpec]:
        """Return the version's items, in order, as rule specs."""
        return [
            RuleSpec(
                item["rule"],
                item["params"],
                item["as"] or None,
                Severity(item["severity"]) if item["severity"] else None,
            )
            for item in sorted(self.items, key=lambda item: item["position"])
        ]

    def changes_since(self, previous: "RuleSetVersion | None") -> list[ItemChange]:
        """Return how this version's items differ from *previous*'s (all added if none)."""
        return diff_items(previous.items if previous is not None else [], self.items)

    def conditions_changed_in(self, other: "RuleSetVersion") -> list[str]:
        """Return the condition rules of this version that *other* holds otherwise."""
        held = other.conditions_by_rule()
        return sorted(
            name for name, stored in self.conditions_by_rule().items() if held.get(name) != stored
        )

    def conditions_by_rule(self) -> dict[str, Any]:
        """Return the condition rules among the items, as they were, by name."""
        return {item["rule"]: item["stored"] for item in self.items if item.get("stored")}

    def definitions(self) -> dict[str, ConditionRuleContent]:
        """Return the condition rules of this version, as they were; each compiled once."""
        return {
            item["rule"]: ConditionRuleContent(
                item["rule"],
                item["stored"],
                origin={"version_id": self.pk},
                cache=("version", self.pk, item["rule"]),
            )
            for item in self.items
            if item.get("stored")
        }


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

    history = HistoricalRecords()

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(severity__in=["", *SEVERITIES]),
                name="ruleset_item_severity_known",
                violation_error_message="Severity is blank, or one of: " + ", ".join(SEVERITIES),
            ),
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

    def spec(self) -> RuleSpec:
        """Return this item as a rule spec."""
        return RuleSpec(
            self.rule,
            self.params or {},
            self.alias or None,
            Severity(self.severity) if self.severity else None,
        )

    def content(self, stored: "ConditionRule | None") -> dict[str, Any]:
        """Return this item as a version holds it; *stored* is its condition rule, if any."""
        return {
            "position": self.position,
            "rule": self.rule,
            "params": self.params or {},
            "as": self.alias,
            "severity": self.severity,
            "stored": stored.content() if stored is not None else None,
        }

    def clean(self) -> None:
        """Check the rule name against the registry and the params against its declaration."""
        if not isinstance(self.params, dict):
            raise ValidationError({"params": "Parameters are a JSON object."})
        try:
            from rules.resolver import resolver  # it reads these models

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
    """Queries of condition rules: a rule source for the resolver."""

    def find(self, names: Collection[str]) -> dict[str, "ConditionRule"]:
        """Return the condition rules among *names*, read now (no cache), by name."""
        return {rule.name: rule for rule in self.filter(name__in=list(names))}


class ConditionRule(models.Model):
    """A rule stored in the database: a JsonLogic condition over an order's fields.

    Checks, batches and rule sets use it exactly like a code rule, by name;
    it is edited in the admin without a deploy.
    """

    name = models.CharField(
        max_length=100,
        unique=True,
        validators=[RegexValidator(CONDITION_RULE_NAME_PATTERN, "Use lower case, digits and _.")],
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
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(severity__in=SEVERITIES),
                name="conditionrule_severity_known",
                violation_error_message="Severity is one of: " + ", ".join(SEVERITIES),
            ),
        ]

    def __str__(self) -> str:
        """Return the rule's name."""
        return self.name

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        """Delete the rule, unless a rule set's current version uses it.

        Raises ``ValidationError`` naming those sets.
        """
        using = self.current_versions_using()
        if using:
            raise ValidationError(self.in_use_message(using))
        return super().delete(*args, **kwargs)

    def current_versions_using(self) -> list["RuleSetVersion"]:
        """Return the current versions of the rule sets that use this rule."""
        current = RuleSetVersion.objects.filter(number=F("ruleset__version"))
        return [
            version
            for version in current.select_related("ruleset")
            if any(item["rule"] == self.name for item in version.items)
        ]

    def in_use_message(self, using: list["RuleSetVersion"]) -> str:
        """Say which rule sets keep this rule from being deleted."""
        names = ", ".join(sorted(str(version) for version in using))
        return (
            f"Condition rule {self.name!r} is used by rule set(s) {names}; remove it there first."
        )

    def clean_fields(self, exclude: Collection[str] | None = None) -> None:
        """Validate the fields, the condition by compiling it before Django's own check.

        Django checks a JSON field by encoding its value, recursively: a
        condition nested thousands deep would raise ``RecursionError``.
        Compiling measures the condition's size first, with a stack of its
        own, so such a condition, like any outside the supported subset, is a
        ``ValidationError`` on ``condition``, and Django's check is skipped.
        """
        errors: dict[str, list[str]] = {}
        excluded = set(exclude or ())
        if "condition" not in excluded:
            try:
                compile_condition(self.condition)
            except ConditionError as exc:
                errors["condition"] = [str(exc)]
                excluded.add("condition")
        try:
            super().clean_fields(exclude=excluded)
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
        if errors:
            raise ValidationError(errors)

    def clean(self) -> None:
        """Refuse a code rule's name."""
        if RuleRegistry.rule_exists(self.name):
            raise ValidationError({"name": f"A code rule is already named {self.name!r}."})

    def bind(self, params: Mapping[str, Any]) -> CompiledConditionRule:
        """Return the rule compiled for the engine, once per saved change and process.

        Raises ``InvalidRuleParamsError`` for any parameter: it takes none.
        """
        return self.as_held().bind(params)

    def describe(self) -> RuleInfo:
        """Return what the rule says about itself."""
        return self.as_held().describe()

    def as_held(self) -> ConditionRuleContent:
        """Return this row's content, compiled at most once per ``updated_at``."""
        return ConditionRuleContent(
            self.name,
            self.content(),
            origin={"rule_id": self.pk},
            cache=("row", self.pk),
            stamp=self.updated_at,
        )

    def content(self) -> dict[str, Any]:
        """Return what a rule set version keeps of this rule: all that decides its outcome."""
        return {
            "description": self.description,
            "severity": self.severity,
            "condition": self.condition,
        }
