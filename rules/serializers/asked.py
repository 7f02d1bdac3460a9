"""The rules a request asks for: names or items (`rules`), or a rule set (`ruleset`)."""

import re
from collections import Counter
from typing import Any

from rest_framework import serializers

from api.serializers import RequestSerializer
from rules.engine import (
    RuleSpec,
    Severity,
)

MAX_RULES_PER_CHECK = 100


MAX_NAME_LENGTH = 100


# A key (`as`) is repeated in every result of a batch and every decision: at most
# 64 characters, which any name a person would read fits in.
MAX_KEY_LENGTH = 64


# A rule set's name, optionally pinned to a version: "checkout" or "checkout@7".
RULESET_PATTERN = r"^[-a-zA-Z0-9_]+(@[1-9][0-9]{0,9})?$"


MAX_VERSION = 2**31 - 1


class RuleItemSerializer(RequestSerializer):
    """One requested rule: a name, or an object with params, a key and a severity."""

    name = serializers.CharField(min_length=1, max_length=MAX_NAME_LENGTH, trim_whitespace=False)
    params = serializers.DictField(
        child=serializers.JSONField(allow_null=True),
        required=False,
        default=dict,
        help_text="The rule's params, by name: any JSON values, as the rule declares them.",
    )
    alias = serializers.CharField(
        source="alias",
        required=False,
        min_length=1,
        max_length=MAX_KEY_LENGTH,
        help_text="Key of this rule in `details` and `results`; the name if omitted.",
    )
    severity = serializers.ChoiceField(
        choices=[s.value for s in Severity],
        required=False,
        help_text="`error` blocks `passed`; `warning` is reported only.",
    )

    def get_fields(self) -> dict[str, serializers.Field]:
        """Expose ``alias`` as ``as``, a Python keyword."""
        fields = super().get_fields()
        fields["as"] = fields.pop("alias")
        return fields


_RULE_NAME = serializers.CharField(min_length=1, max_length=MAX_NAME_LENGTH, trim_whitespace=False)


# What _RULE_NAME accepts, as one regular expression: 1 to 100 characters, none
# of them a null character or a lone surrogate.
_PLAIN_RULE_NAME = re.compile(f"[^\\x00\\ud800-\\udfff]{{1,{MAX_NAME_LENGTH}}}")


def plain_rule(item: Any) -> RuleSpec | None:
    """Return the spec of *item* if it is a rule name that needs no field, else ``None``."""
    if isinstance(item, str) and _PLAIN_RULE_NAME.fullmatch(item):
        return RuleSpec(item)
    return None


_PLAIN_ITEM_KEYS = frozenset({"name", "params"})


def plain_item(item: dict[str, Any]) -> RuleSpec | None:
    """Return the spec of an object of a plain name and maybe params, else ``None``.

    What ``RuleItemSerializer`` would give it, without its fields (~60 us
    an item): the parser has refused what JSON fields would (a NUL, a lone
    surrogate), so any JSON object of params is what the field returns.
    Anything else (a key, a severity, a bad name or params) goes through
    the serializer, and its errors.
    """
    if not item.keys() <= _PLAIN_ITEM_KEYS:
        return None
    name, params = item.get("name"), item.get("params", {})
    if isinstance(name, str) and _PLAIN_RULE_NAME.fullmatch(name) and type(params) is dict:
        return RuleSpec(name, params)
    return None


class RuleItemField(serializers.Field):
    """A rule name, or a ``RuleItemSerializer`` object; becomes a ``RuleSpec``."""

    default_error_messages = {  # DRF merges these per class
        "invalid": "Expected a rule name or an object with a 'name'.",
    }

    def to_internal_value(self, data: Any) -> RuleSpec:
        """Return the spec for a name or an object."""
        if isinstance(data, str):
            # The common case, on every check: a name the regular expression
            # accepts needs no field (~1 us for three names, the CharField ~40 us);
            # any other string gets the CharField's own error.
            return plain_rule(data) or RuleSpec(_RULE_NAME.run_validation(data))
        if not isinstance(data, dict):
            self.fail("invalid")
        plain = plain_item(data)
        if plain is not None:
            return plain
        item = RuleItemSerializer(data=data)
        item.is_valid(raise_exception=True)
        values = item.validated_data
        severity = values.get("severity")
        return RuleSpec(
            values["name"],
            values["params"],
            values.get("alias"),
            Severity(severity) if severity else None,
        )

    def to_representation(self, value: RuleSpec) -> Any:
        """Return the spec as a name."""
        return value.name


class RuleSourceSerializer(RequestSerializer):
    """Which rules to run: a list (`rules`) or a stored rule set (`ruleset`)."""

    rules = serializers.ListField(
        child=RuleItemField(),
        required=False,
        min_length=1,
        max_length=MAX_RULES_PER_CHECK,
        help_text=(
            "Rules to evaluate, in order: names or objects. Each key at most once. "
            "Give exactly one of `rules` and `ruleset`."
        ),
    )
    ruleset = serializers.RegexField(
        RULESET_PATTERN,
        required=False,
        max_length=MAX_NAME_LENGTH + 12,
        help_text=(
            "Name of an active rule set, runs its current version; `name@7` pins version 7. "
            "Give exactly one of `rules` and `ruleset`."
        ),
    )
    ruleset_version = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_VERSION,
        help_text=(
            "Pin this version of `ruleset` (the same as `name@7`): only beside a `ruleset` "
            "that names no version."
        ),
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """Require exactly one of `rules` and `ruleset`, distinct keys, and one version pin.

        ``name@7`` becomes ``ruleset="name"`` and ``ruleset_version=7``.
        """
        exactly_one(attrs, "rules", "ruleset")
        try:
            distinct_keys(attrs.get("rules", ()))
        except serializers.ValidationError as exc:
            raise serializers.ValidationError({"rules": exc.detail}) from None
        name, _, pinned = attrs.get("ruleset", "").partition("@")
        if "ruleset_version" in attrs and (pinned or "ruleset" not in attrs):
            problem = "Pin a version once: `ruleset_version` beside a `ruleset`, or `name@N`."
            raise serializers.ValidationError({"ruleset_version": [problem]})
        if pinned:
            attrs["ruleset"], attrs["ruleset_version"] = name, int(pinned)
        return attrs


class FailFastField(serializers.BooleanField):
    """``fail_fast``: stop at the first blocking failure; JSON ``true`` or ``false`` only."""

    default_error_messages = {  # DRF merges these per class
        "invalid": "Must be true or false.",
    }

    def __init__(self) -> None:
        """Default to running every rule."""
        super().__init__(
            default=False,
            help_text="Stop at the first failing rule of severity `error`; the rest are skipped.",
        )

    def to_internal_value(self, data: Any) -> bool:
        """Return *data*; refuse ``0``, ``"true"`` and the other spellings DRF would take."""
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class UniqueListField(serializers.ListField):
    """A list documented with ``uniqueItems``; its serializer refuses a repeated item."""

    class Meta:
        swagger_schema_fields = {"uniqueItems": True}


def distinct_keys(specs: list[RuleSpec]) -> None:
    """Raise a validation error if two specs share a key."""
    if len({spec.alias or spec.name for spec in specs}) == len(specs):
        # Every check asks this; a set answers it in a fifth of a Counter's time
        # (and ``spec.key`` spelled out: a property is a call per rule).
        return
    keys = Counter(spec.key for spec in specs)
    repeated = sorted(key for key, count in keys.items() if count > 1)
    if repeated:
        raise serializers.ValidationError(
            f"Each key may appear once; repeated: {', '.join(repeated)}."
        )


def exactly_one(attrs: dict[str, Any], first: str, second: str) -> None:
    """Raise a validation error unless exactly one of *first* and *second* is given."""
    given = [name for name in (first, second) if name in attrs]
    if len(given) == 1:
        return
    message = f"Give exactly one of '{first}' and '{second}'."
    # Neither given: the usual field is missing, so name it.
    field = "non_field_errors" if given else first
    raise serializers.ValidationError({field: [message]})


class ProposedRulesSerializer(RequestSerializer):
    """Rules a rule set might have, to try before saving them, and how many ids to show."""

    rules = serializers.ListField(
        child=RuleItemField(),
        min_length=1,
        max_length=MAX_RULES_PER_CHECK,
        help_text="The proposed rules, as in a check: names or objects.",
    )
    sample_size = serializers.IntegerField(min_value=0, max_value=100, default=10)

    def validate_rules(self, value: list[RuleSpec]) -> list[RuleSpec]:
        """Reject two rules with the same key."""
        distinct_keys(value)
        return value
