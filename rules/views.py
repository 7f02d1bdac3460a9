"""Views of the rules API: parse, call the engine, serialize."""

import csv
import io
import json
import logging
from collections.abc import Iterator
from dataclasses import asdict
from typing import Any

from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_yasg import openapi
from drf_yasg.utils import swagger_auto_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import Serializer
from rest_framework.views import APIView

from api.negotiation import JSONOnlyNegotiation
from api.schema import error_responses
from orders.models import Order
from orders.selectors import order_get
from orders.serializers import OrderSerializer
from rules import queries
from rules.engine import CheckResult, RuleCheck, RuleEngine, RuleRegistry
from rules.models import ConditionRule, RuleSet
from rules.serializers import (
    RuleBatchCheckRequestSerializer,
    RuleBatchCheckResponseSerializer,
    RuleCheckRequestSerializer,
    RuleCheckResponseSerializer,
    RuleQueryRequestSerializer,
    RuleQueryResponseSerializer,
    RuleReportRequestSerializer,
    RuleSerializer,
    RuleSetPreviewRequestSerializer,
    RuleSetPreviewResponseSerializer,
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
        data = _validated(RuleCheckRequestSerializer, request)
        check, ruleset = _prepare(data)
        if "order" in data:
            order = Order(**{"created_at": timezone.now(), **data["order"]})
        else:
            order = order_get(data["order_id"])
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
        data = _validated(RuleBatchCheckRequestSerializer, request)
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


class RuleQueryView(APIView):
    """Find the stored orders that pass, or fail, rules or a rule set."""

    @swagger_auto_schema(
        operation_id="rules_query",
        operation_summary="Find the stored orders that pass or fail rules",
        operation_description=(
            "One SQL query when every rule has a database form (`evaluated_in: database`); "
            "otherwise the orders are streamed through the Python engine "
            "(`evaluated_in: python`). Pages are newest id first; pass `next` back as "
            "`cursor` for the next page."
        ),
        request_body=RuleQueryRequestSerializer,
        responses={
            200: RuleQueryResponseSerializer,
            **error_responses(400, 404, 405, 413, 415, 500, 503),
        },
    )
    def post(self, request: Request) -> Response:
        """Return a page of the matching orders and their count."""
        data = _validated(RuleQueryRequestSerializer, request)
        check, ruleset = _prepare(data)
        page = queries.orders_matching(
            check,
            queries.filtered_orders(data["filters"]),
            passed=data["outcome"] == "passed",
            page_size=data["page_size"],
            cursor=data.get("cursor"),
        )
        return Response(
            {
                "ruleset": ruleset,
                "count": page.count,
                "evaluated_in": page.evaluated_in,
                "next": page.next_cursor,
                "results": OrderSerializer(page.orders, many=True).data,
            }
        )


class RuleReportView(APIView):
    """Stream every stored order's verdict on every rule."""

    content_negotiation_class = JSONOnlyNegotiation

    @swagger_auto_schema(
        operation_id="rules_report",
        operation_summary="Report every order x every rule, streamed",
        operation_description=(
            "One row per order: `order_id`, one boolean column per rule key, `passed`. "
            "JSON lines by default, CSV with `Accept: text/csv`. Computed by one annotated "
            "SQL query when every rule has a database form (header `X-Evaluated-In`), "
            "streamed in constant memory."
        ),
        request_body=RuleReportRequestSerializer,
        produces=["application/x-ndjson", "text/csv"],
        responses={
            200: openapi.Response("One row per order.", schema=openapi.Schema(type="string")),
            **error_responses(400, 404, 405, 413, 415, 500, 503),
        },
    )
    def post(self, request: Request) -> StreamingHttpResponse:
        """Stream the report as CSV or JSON lines."""
        data = _validated(RuleReportRequestSerializer, request)
        check, _ = _prepare(data)
        rows, evaluated_in = queries.report_rows(check, queries.filtered_orders(data["filters"]))
        header = ["order_id", *(bound.key for bound in check.rules), "passed"]
        if "text/csv" in request.headers.get("Accept", ""):
            body, content_type = _csv_lines(header, rows), "text/csv; charset=utf-8"
        else:
            body, content_type = _json_lines(header, rows), "application/x-ndjson"
        response = StreamingHttpResponse(body, content_type=content_type)
        response["X-Evaluated-In"] = evaluated_in
        return response


class RuleSetPreviewView(APIView):
    """Show what a change to a rule set would do to the stored orders, before saving it."""

    @swagger_auto_schema(
        operation_id="rulesets_preview",
        operation_summary="Preview the impact of changing a rule set's rules",
        operation_description=(
            "How many stored orders pass the set now, how many would pass with the "
            "proposed rules, how many flip each way, and a sample of flipped ids — "
            "computed in the database when every rule has a database form. Nothing is saved."
        ),
        request_body=RuleSetPreviewRequestSerializer,
        responses={
            200: RuleSetPreviewResponseSerializer,
            **error_responses(400, 404, 405, 413, 415, 500, 503),
        },
    )
    def post(self, request: Request, name: str) -> Response:
        """Return the counts and samples for the proposed rules."""
        data = _validated(RuleSetPreviewRequestSerializer, request)
        ruleset = get_object_or_404(RuleSet.objects.prefetch_related("items"), name=name)
        current, _ = _prepare({"rules": ruleset.specs()})
        proposed, _ = _prepare({"rules": data["rules"]})
        result = queries.impact(current, proposed, sample_size=data["sample_size"])
        return Response(
            {"ruleset": {"name": ruleset.name, "version": ruleset.version}, **asdict(result)}
        )


# A verdict as the report writes it; the driver gives True/False or 1/0.
_TRUE_FALSE = ("false", "true")


def _csv_lines(header: list[str], batches: Iterator[list[tuple[Any, ...]]]) -> Iterator[str]:
    """Yield the report as CSV: the header, then a chunk of lines per batch."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(header)
    yield buffer.getvalue()
    line = ",".join(["%d"] + ["%s"] * (len(header) - 1)) + "\n"
    for batch in batches:
        yield "".join(
            [
                line % (pk, *[_TRUE_FALSE[verdict] for verdict in verdicts])
                for pk, *verdicts in batch
            ]
        )


def _json_lines(header: list[str], batches: Iterator[list[tuple[Any, ...]]]) -> Iterator[str]:
    """Yield the report as one JSON object per line, a chunk of lines per batch.

    Each line fills a template whose keys were JSON-escaped once: the values
    are an id and booleans, so no per-row ``json.dumps`` is needed.
    """
    keys = [json.dumps(key).replace("%", "%%") for key in header]
    line = "{" + f"{keys[0]}: %d, " + ", ".join(f"{key}: %s" for key in keys[1:]) + "}\n"
    for batch in batches:
        yield "".join(
            [
                line % (pk, *[_TRUE_FALSE[verdict] for verdict in verdicts])
                for pk, *verdicts in batch
            ]
        )


def _validated(serializer_class: type[Serializer], request: Request) -> dict[str, Any]:
    """Return the request body validated by *serializer_class*; raise a 400 if invalid."""
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


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
