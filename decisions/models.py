"""The decision log: one row per check, as the rules saw the order and what they said."""

from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import F, Func, Q, Value
from django.db.models.sql.compiler import SQLCompiler
from django.utils import timezone

from orders.facts import snapshot_values

# What a rule's outcome can be, as the record stores it (rules.engine.Outcome's values).
OUTCOMES = ("passed", "failed", "error", "skipped")
PASSED = OUTCOMES[0]


class Decision(models.Model):
    """One check as it was decided: who asked, the order as the rules read it, and why.

    ``snapshot`` holds the order's facts as the rules read them, by path
    (``orders.facts``: money as strings, times in ISO 8601), so a new fact
    needs no column here; a query over decisions reads each fact from it
    under the fact's own name (``orders.facts.snapshot_aliases``), so a
    rule's database filter, written against orders, selects decisions too.
    ``order_id`` is no foreign key: the record outlives the order. A
    decision names a rule set's version, or holds the rules a caller listed
    (``rules``, stored condition rules as they were);
    ``results`` has one entry per rule (``rule``, ``name``, ``params``,
    ``outcome``, ``severity``, ``message``, ``facts``), and ``outcomes`` the
    same outcomes by rule key, for filtering. A decision is never changed.
    """

    id = models.BigAutoField(primary_key=True)
    decided_at = models.DateTimeField(default=timezone.now, help_text="When the check ran.")
    caller = models.CharField(max_length=150, help_text="Who asked: API key, user or anonymous.")
    request_id = models.CharField(max_length=128, blank=True, help_text="The X-Request-ID.")
    order_id = models.BigIntegerField(null=True, blank=True, help_text="Null for an ad-hoc order.")
    snapshot = models.JSONField(help_text="The order's facts as the rules read them, by path.")
    ruleset = models.CharField(max_length=100, blank=True, help_text="Blank for listed rules.")
    ruleset_version = models.PositiveIntegerField(null=True, blank=True)
    rules = models.JSONField(
        null=True, blank=True, encoder=DjangoJSONEncoder, help_text="The listed rules, if any."
    )
    fail_fast = models.BooleanField(default=False)
    results = models.JSONField(encoder=DjangoJSONEncoder)
    outcomes = models.JSONField(encoder=DjangoJSONEncoder, help_text="Outcome by rule key.")
    passed = models.BooleanField()

    class Meta:
        ordering = ["-decided_at", "-id"]
        indexes = [
            models.Index(fields=["-decided_at", "-id"], name="decision_decided_at_idx"),
            models.Index(fields=["order_id", "-decided_at", "-id"], name="decision_order_idx"),
            models.Index(
                fields=["ruleset", "ruleset_version", "-decided_at"], name="decision_ruleset_idx"
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(ruleset="", ruleset_version__isnull=True, rules__isnull=False)
                | (
                    ~Q(ruleset="")
                    & Q(ruleset_version__isnull=False, ruleset_version__gte=1, rules__isnull=True)
                ),
                name="decision_ruleset_or_rules",
                violation_error_message="A decision names a rule set version, or lists rules.",
            ),
            models.CheckConstraint(
                condition=Q(order_id__isnull=True) | Q(order_id__gte=1),
                name="decision_order_id_positive",
                violation_error_message="A stored order's id is 1 or more.",
            ),
        ]

    def __str__(self) -> str:
        """Return a short label for the admin and logs."""
        verdict = "passed" if self.passed else "did not pass"
        return f"Decision {self.pk}: {self.subject} {verdict}"

    @property
    def subject(self) -> str:
        """Return what was checked: the stored order, or an ad-hoc one."""
        return f"order {self.order_id}" if self.order_id is not None else "ad-hoc order"

    @property
    def order(self) -> dict[str, Any]:
        """Return the order's fields as the rules read them: the snapshot's Python values."""
        return snapshot_values(self.snapshot)


class DecisionOutcome(models.Model):
    """A rule that did not pass in a decision, under its key: the decision log's index by rule.

    The database keeps it, not the code: a trigger on every INSERT into
    decisions adds a row per key of its ``outcomes`` whose outcome is not
    ``passed``, with the decision's time, within the same statement, and one
    on DELETE removes them (see migration 0002). So every writer of
    decisions, the one-statement INSERT of ``decisions.services`` included,
    keeps it whole, and the decisions where a rule failed, errored or was
    skipped are read from its index by rule, outcome and time, newest first,
    a page at a time, instead of scanning every decision's JSON. Those are
    what one looks for, and few: a check whose rules all pass writes no row.
    A key is matched whole, whatever its characters.
    """

    decision = models.ForeignKey(
        Decision,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="outcome_rows",
    )
    rule = models.TextField(help_text="The rule's key: its `as`, else its name.")
    outcome = models.CharField(max_length=10, help_text="Any but `passed`.")
    decided_at = models.DateTimeField(help_text="The decision's time, for paging by rule.")

    class Meta:
        indexes = [
            models.Index(
                fields=["rule", "outcome", "-decided_at", "-decision"],
                name="decision_outcome_rule_idx",
            ),
        ]

    def __str__(self) -> str:
        """Return the decision, the rule's key and its outcome."""
        return f"Decision {self.decision_id}: {self.rule} {self.outcome}"


class RecordedOutcome(Func):
    """A decision's recorded outcome of the rule with *key*, as text; null if it did not run.

    The key is one string, matched whole whatever its characters: Django's
    key transforms read a key of digits as an array index, and SQLite's JSON
    paths refuse ``-1`` and cannot name a key with a double quote.
    """

    output_field = models.CharField()

    def __init__(self, key: str) -> None:
        """Read the outcome of *key* from the decision's ``outcomes``."""
        super().__init__(F("outcomes"), Value(key))

    def as_sql(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra: Any
    ) -> tuple[str, tuple[Any, ...]]:
        """Return PostgreSQL's ``outcomes ->> key``, the key given as text."""
        (outcomes, outcomes_params), (key, key_params) = self._compiled(compiler)
        return f"({outcomes} ->> ({key})::text)", (*outcomes_params, *key_params)

    def as_sqlite(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra: Any
    ) -> tuple[str, tuple[Any, ...]]:
        """Return the value of the one member of ``outcomes`` named *key*."""
        (outcomes, outcomes_params), (key, key_params) = self._compiled(compiler)
        # Only the column and the key's placeholder are formatted in.
        sql = f"(SELECT value FROM json_each({outcomes}) WHERE key = {key})"  # noqa: S608  # nosec B608
        return sql, (*outcomes_params, *key_params)

    def _compiled(self, compiler: SQLCompiler) -> list[tuple[str, tuple[Any, ...]]]:
        """Return the SQL and parameters of the column and of the key."""
        return [compiler.compile(expression) for expression in self.get_source_expressions()]
