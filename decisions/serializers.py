"""Shapes of the decisions API: a decision in a list, the whole record, its parts."""

from collections.abc import Mapping
from typing import Any

from rest_framework import serializers

from decisions.models import OUTCOMES, Decision
from orders.facts import (
    CHANNEL,
    COUPONS,
    CURRENCY,
    CUSTOMER_AGE_DAYS,
    PAYMENT_METHOD,
    SEED_FACTS,
    snapshot_values,
)
from orders.serializers import (
    AttributesField,
    CartAddressSerializer,
    CartBillingSerializer,
    CartCustomerSerializer,
    OrderLineSerializer,
    code_field,
    fact_field,
)


class DecisionRuleSetSerializer(serializers.Serializer):
    """The rule set version a decision was made by; null for listed rules.

    It reads the decision itself (``source="*"``): the name and the version
    are two of its columns.
    """

    name = serializers.CharField()
    version = serializers.IntegerField()

    def to_representation(self, instance: Decision) -> dict[str, Any] | None:
        """Return ``{"name", "version"}``, or ``None`` for a check of listed rules."""
        if not instance.ruleset:
            return None
        return {"name": instance.ruleset, "version": instance.ruleset_version}


class RecordedCustomerSerializer(CartCustomerSerializer):
    """The customer as the rules saw it, its age in days at the check."""

    created_at = None
    age_days = fact_field(CUSTOMER_AGE_DAYS, read_only=True)


class RecordedAddressSerializer(CartAddressSerializer):
    """The shipping address as the rules saw it."""


class RecordedBillingSerializer(CartBillingSerializer):
    """The billing address as the rules saw it."""


class RecordedLineSerializer(OrderLineSerializer):
    """One line of the order as the rules saw it, with its total."""


class SuppliedSerializer(serializers.Serializer):
    """What one provider supplied for the check (``orders.facts.Supplied``)."""

    values = serializers.DictField(
        child=serializers.JSONField(),
        allow_null=True,
        help_text="Its facts by path (`risk.score`); null when it gave none.",
    )
    latency_ms = serializers.FloatField(help_text="How long the check waited for it.")
    cache_hit = serializers.BooleanField(help_text="Whether the answer came from the cache.")
    error = serializers.CharField(
        allow_null=True,
        help_text="Why it gave no answer (timeout, error, malformed, breaker_open, deadline).",
    )
    fallback = serializers.BooleanField(help_text="Whether its fallback values stood in.")
    reference = serializers.CharField(
        allow_null=True, help_text="The id its failure was logged under."
    )


class DecisionOrderSerializer(serializers.Serializer):
    """The order as the rules read it when the decision was made: its snapshot (``orders.facts``).

    A part the order lacked (a customer, lines, ...) is left out, as the
    snapshot leaves it out: each field is optional, so a key the snapshot
    lacks is skipped. A seed-style order is its four facts and its currency.
    """

    def get_fields(self) -> dict[str, serializers.Field]:
        """Return a read-only field per part of an order's snapshot, in its order."""
        return {
            **{fact.path: fact_field(fact, read_only=True) for fact in SEED_FACTS},
            CURRENCY.path: code_field(CURRENCY, read_only=True),
            "customer": RecordedCustomerSerializer(read_only=True),
            "shipping": RecordedAddressSerializer(read_only=True),
            "billing": RecordedBillingSerializer(read_only=True),
            PAYMENT_METHOD.path: code_field(PAYMENT_METHOD, read_only=True),
            CHANNEL.path: code_field(CHANNEL, read_only=True),
            COUPONS.path: serializers.ListField(
                child=serializers.CharField(), read_only=True, help_text=COUPONS.description
            ),
            "lines": serializers.ListField(
                child=RecordedLineSerializer(), read_only=True, help_text="The order's lines."
            ),
            "attributes": AttributesField(read_only=True),
            "providers": serializers.DictField(
                child=SuppliedSerializer(),
                read_only=True,
                help_text="What each provider the rules needed supplied, by provider name.",
            ),
        }

    def to_representation(self, instance: Mapping[str, Any]) -> dict[str, Any]:
        """Return the recorded snapshot *instance*, its seed facts as Python values first."""
        return super().to_representation({**instance, **snapshot_values(instance)})


class DecisionRuleItemSerializer(serializers.Serializer):
    """One listed rule of a decision, as the caller gave it."""

    name = serializers.CharField()
    params = serializers.JSONField(help_text="As the caller gave them.")
    severity = serializers.CharField(allow_null=True, help_text="Null: the rule's default.")
    stored = serializers.JSONField(
        allow_null=True,
        help_text="A stored condition rule as it ran (description, severity, condition).",
    )

    def get_fields(self) -> dict[str, serializers.Field]:
        """Add ``as``, a Python keyword: the rule's key if given."""
        fields = super().get_fields()
        fields["as"] = serializers.CharField(allow_null=True, help_text="The key, if given.")
        return fields


class DecisionResultSerializer(serializers.Serializer):
    """One rule's result in a decision: its outcome, and why."""

    rule = serializers.CharField(help_text="The rule's key: `as` if given, else the name.")
    name = serializers.CharField()
    params = serializers.JSONField(help_text="The parameters the rule ran with.")
    outcome = serializers.ChoiceField(choices=OUTCOMES)
    severity = serializers.CharField()
    message = serializers.CharField()
    facts = serializers.JSONField(help_text="The values behind the message.")


class DecisionSummarySerializer(serializers.Serializer):
    """A decision in a list: who asked, about which order, under which rules, the verdict."""

    id = serializers.IntegerField()
    decided_at = serializers.DateTimeField()
    caller = serializers.CharField(help_text="`anonymous`, `user:<id>`, or an API key's name.")
    request_id = serializers.CharField(allow_blank=True, help_text="The request's X-Request-ID.")
    order_id = serializers.IntegerField(allow_null=True, help_text="Null for an ad-hoc order.")
    ruleset = DecisionRuleSetSerializer(
        source="*", allow_null=True, help_text="The rule set version used; null for listed rules."
    )
    passed = serializers.BooleanField()
    outcomes = serializers.DictField(
        child=serializers.ChoiceField(choices=OUTCOMES), help_text="Each rule's outcome by key."
    )


class DecisionSerializer(DecisionSummarySerializer):
    """The whole record of a decision."""

    order = DecisionOrderSerializer(source="snapshot")
    rules = DecisionRuleItemSerializer(
        many=True, allow_null=True, help_text="The listed rules; null for a rule set."
    )
    fail_fast = serializers.BooleanField()
    results = DecisionResultSerializer(many=True)
