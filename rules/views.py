"""Views of the rules API: parse, call the engine, serialize."""

import logging

from django.shortcuts import get_object_or_404
from drf_yasg.utils import swagger_auto_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from orders.models import Order
from rules.engine import RuleEngine, RuleRegistry
from rules.schema import error_responses
from rules.serializers import (
    RuleCheckRequestSerializer,
    RuleCheckResponseSerializer,
    RuleSerializer,
)

logger = logging.getLogger(__name__)


class RuleListView(APIView):
    """List every registered rule."""

    @swagger_auto_schema(
        operation_id="rules_list",
        operation_summary="List the registered rules",
        responses={200: RuleSerializer(many=True), **error_responses(405, 500)},
    )
    def get(self, request: Request) -> Response:
        """Return every rule's name and description, sorted by name."""
        rules = sorted(RuleRegistry.get_all_rules().items())
        data = [{"name": name, "description": rule.description} for name, rule in rules]
        return Response(RuleSerializer(data, many=True).data)


class RuleCheckView(APIView):
    """Check one stored order against a list of rules."""

    engine = RuleEngine()

    @swagger_auto_schema(
        operation_id="rules_check",
        operation_summary="Check an order against rules",
        operation_description=(
            "Evaluates each named rule against the stored order, in the order given. "
            "`passed` is true when every rule passed; `details` gives each rule's verdict. "
            "Unknown rule names are a 400 that lists the available rules."
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
        check = self.engine.prepare(serializer.validated_data["rules"])
        order = get_object_or_404(Order, pk=serializer.validated_data["order_id"])
        result = check.run(order)
        logger.info("rules checked", extra={"order_id": order.pk, "passed": result.passed})
        return Response(
            {
                "order_id": order.pk,
                "passed": result.passed,
                "details": result.details,
                "errors": result.errors,
            }
        )
