"""Views of the rules API: parse, call the engine, serialize."""

import logging
from typing import Any

from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_yasg.utils import swagger_auto_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from orders.models import Order
from rules.engine import CheckResult, RuleCheck, RuleEngine, RuleRegistry
from rules.models import ConditionRule, RuleSet
from rules.schema import error_responses
from rules.serializers import (
    RuleBatchCheckRequestSerializer,
    RuleBatchCheckResponseSerializer,
    RuleCheckRequestSerializer,
    RuleCheckResponseSerializer,
    RuleSerializer,
    RuleSetSerializer,
)

logger = logging.getLogger(__name__)

engine = RuleEngine()


class RuleListView(APIView):
    """List every registered rule."""

    @swagger_auto_schema(
        operation_id="rules_list",
        operation_summary="List the registered rules",
        operation_description=(
            "Every rule with its parameters (a JSON Schema object), default severity "
            "and the examples it is checked against at start-up."
        ),
        responses={200: RuleSerializer(many=True), **error_responses(405, 500)},
    )
    def get(self, request: Request) -> Response:
        """Return every code and stored rule, sorted by name."""
        data = [
            {
                "name": name,
                "description": rule.description,
                "stored": False,
                "params": rule.parameter_schema(),
                "severity": rule.severity.value,
                "examples": [
                    {
                        "order": dict(example.order),
                        "params": dict(example.params),
                        "expected": "passed" if example.passes else "failed",
                    }
                    for example in rule.examples
                ],
            }
            for name, rule in RuleRegistry.get_all_rules().items()
        ]
        data += [
            {
                "name": rule.name,
                "description": rule.description,
                "stored": True,
                "condition": rule.condition,
                "params": {"type": "object", "properties": {}, "additionalProperties": False},
                "severity": rule.severity,
                "examples": [],
            }
            for rule in ConditionRule.objects.all()
        ]
        data.sort(key=lambda rule: rule["name"])
        return Response(RuleSerializer(data, many=True).data)


class RuleCheckView(APIView):
    """Check one order, stored or given, against rules or a rule set."""

    @swagger_auto_schema(
        operation_id="rules_check",
        operation_summary="Check an order against rules",
        operation_description=(
            "Give the order as `order_id` (stored) or `order` (checked without storing), "
            "and the rules as `rules` (names, or objects with `params`, `as` and "
            "`severity`) or `ruleset` (the name of an active rule set). `passed` is true "
            "when no rule of severity `error` failed or errored; `details` gives each "
            "rule's verdict by key and `results` says why. Unknown rule names are a 400 "
            "that lists the available rules."
        ),
        request_body=RuleCheckRequestSerializer,
        responses={
            200: RuleCheckResponseSerializer,
            **error_responses(400, 404, 405, 413, 415, 500, 503),
        },
    )
    def post(self, request: Request) -> Response:
        """Evaluate the requested rules against the requested order."""
        serializer = RuleCheckRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        check, ruleset = _prepare(data)
        if "order" in data:
            order = Order(**{"created_at": timezone.now(), **data["order"]})
        else:
            order = get_object_or_404(Order, pk=data["order_id"])
        result = check.run(order, fail_fast=data["fail_fast"])
        logger.info("rules checked", extra={"order_id": order.pk, "passed": result.passed})
        return Response(
            {
                "order_id": order.pk,
                "ruleset": ruleset,
                **_report(result),
                "errors": _errors(result),
            }
        )


class RuleBatchCheckView(APIView):
    """Check many stored orders against the same rules."""

    @swagger_auto_schema(
        operation_id="rules_check_batch",
        operation_summary="Check up to 1000 stored orders against rules",
        operation_description=(
            "One entry per found order, in request order, and a summary. Ids with no "
            "stored order are listed in `summary.missing`, not an error."
        ),
        request_body=RuleBatchCheckRequestSerializer,
        responses={
            200: RuleBatchCheckResponseSerializer,
            **error_responses(400, 404, 405, 413, 415, 500, 503),
        },
    )
    def post(self, request: Request) -> Response:
        """Evaluate the requested rules against every requested order."""
        serializer = RuleBatchCheckRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        check, ruleset = _prepare(data)
        orders = Order.objects.in_bulk(data["order_ids"])
        results = []
        errors = passed = 0
        for order_id in data["order_ids"]:
            if order_id not in orders:
                continue
            result = check.run(orders[order_id], fail_fast=data["fail_fast"])
            passed += result.passed
            errors += result.has_errors
            results.append({"order_id": order_id, **_report(result)})
        summary = {
            "total": len(data["order_ids"]),
            "passed": passed,
            "failed": len(results) - passed,
            "errors": errors,
            "missing": [order_id for order_id in data["order_ids"] if order_id not in orders],
        }
        logger.info(
            "rules checked in batch", extra={k: v for k, v in summary.items() if k != "missing"}
        )
        return Response({"ruleset": ruleset, "results": results, "summary": summary})


class RuleSetListView(APIView):
    """List the rule sets."""

    @swagger_auto_schema(
        operation_id="rulesets_list",
        operation_summary="List the rule sets",
        responses={200: RuleSetSerializer(many=True), **error_responses(405, 500, 503)},
    )
    def get(self, request: Request) -> Response:
        """Return every rule set with its rules, sorted by name."""
        rulesets = RuleSet.objects.prefetch_related("items")
        return Response(RuleSetSerializer(rulesets, many=True).data)


class RuleSetDetailView(APIView):
    """Show one rule set."""

    @swagger_auto_schema(
        operation_id="rulesets_read",
        operation_summary="Show a rule set",
        responses={200: RuleSetSerializer, **error_responses(404, 405, 500, 503)},
    )
    def get(self, request: Request, name: str) -> Response:
        """Return the rule set named *name* with its rules."""
        ruleset = get_object_or_404(RuleSet.objects.prefetch_related("items"), name=name)
        return Response(RuleSetSerializer(ruleset).data)


def _prepare(data: dict[str, Any]) -> tuple[RuleCheck, dict[str, Any] | None]:
    """Return the check for the request's rules or rule set, and the set's reference."""
    if "rules" in data:
        specs, reference = data["rules"], None
    else:
        ruleset = RuleSet.objects.get_active(data["ruleset"])
        specs, reference = ruleset.specs(), {"name": ruleset.name, "version": ruleset.version}
    stored = ConditionRule.objects.for_check([spec.name for spec in specs])
    return engine.prepare(specs, stored), reference


def _report(result: CheckResult) -> dict[str, Any]:
    """Return a check's verdict, details and results as the API shows them."""
    return {
        "passed": result.passed,
        "details": result.details,
        "results": [rule_result.as_dict() for rule_result in result.results],
    }


def _errors(result: CheckResult) -> list[dict[str, str]]:
    """Return the rules that could not be evaluated, with their reference ids."""
    return [
        {"rule": r.key, "reference": r.facts["reference"]}
        for r in result.results
        if "reference" in r.facts
    ]
