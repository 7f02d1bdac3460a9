"""Views of the decision log: the decisions, newest first, and one whole record.

Reading decisions is analysis: it needs an API key with the `analyze` scope
(or an admin session of staff allowed to view decisions).
"""

from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_yasg import openapi
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.models import Scope
from api.schema import operation, page_size_parameter, path_id_parameter
from decisions.filters import DecisionFilter
from decisions.models import Decision
from decisions.pagination import DecisionCursorPagination
from decisions.selectors import decision_get
from decisions.serializers import DecisionSerializer, DecisionSummarySerializer
from orders.filters import IntegerFilter, UtcDateTimeFilter

FILTER_PARAMETERS = [
    openapi.Parameter(
        name,
        openapi.IN_QUERY,
        description=filter_.label,
        type=openapi.TYPE_INTEGER if isinstance(filter_, IntegerFilter) else openapi.TYPE_STRING,
        format=openapi.FORMAT_DATETIME if isinstance(filter_, UtcDateTimeFilter) else None,
        enum=[value for value, _ in filter_.extra["choices"]]
        if "choices" in filter_.extra
        else None,
        minimum=filter_.minimum if isinstance(filter_, IntegerFilter) else None,
        maximum=filter_.maximum if isinstance(filter_, IntegerFilter) else None,
    )
    for name, filter_ in DecisionFilter.base_filters.items()
]


# Reading decisions needs a key with `analyze`, or a session with this permission.
VIEW_DECISION = "decisions.view_decision"
DECISION_ID = path_id_parameter("id", "The decision's id.")


class DecisionListView(GenericAPIView):
    """List decisions, newest first, filtered."""

    required_scope = Scope.ANALYZE
    session_permissions = (VIEW_DECISION,)
    serializer_class = DecisionSummarySerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = DecisionFilter
    pagination_class = DecisionCursorPagination

    @operation(
        "decisions_list",
        {},
        # An invalid filter; a cursor that names no page.
        (400, 404),
        manual_parameters=[*FILTER_PARAMETERS, page_size_parameter(DecisionCursorPagination)],
    )
    def get(self, request: Request) -> Response:
        """List decisions.

        Newest first, a page at a time: follow `next` and `previous` (cursor
        links). `rule` (any key, matched whole) with `outcome` finds, say,
        every decision where `min_total_100` failed (`outcome` only beside a
        `rule`: Swagger 2.0 cannot state it), from an index of the rules
        that did not pass; `created_min` and `created_max` bound when the
        decision was made, inclusive. An invalid filter value, an empty one
        too, is a 400.
        Needs an API key with the `analyze` scope, or an admin session of
        staff allowed to view decisions.
        """
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(DecisionSummarySerializer(page, many=True).data)

    def get_queryset(self) -> QuerySet[Decision]:
        """Return the decisions without the columns a list does not show."""
        return Decision.objects.defer("results", "rules")


class DecisionDetailView(APIView):
    """Show one decision: the whole record."""

    required_scope = Scope.ANALYZE
    session_permissions = (VIEW_DECISION,)

    @operation(
        "decisions_read",
        {200: DecisionSerializer},
        (404,),
        manual_parameters=[DECISION_ID],
    )
    def get(self, request: Request, pk: int) -> Response:
        """Show a decision.

        Who asked and when, the order as the rules read it, the rule set
        version or the listed rules, every rule's result and the verdict.
        Needs an API key with the `analyze` scope, or an admin session of
        staff allowed to view decisions.
        """
        return Response(DecisionSerializer(decision_get(pk)).data)
