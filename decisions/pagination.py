"""Pagination of the decision log."""

from django.db.models import QuerySet
from rest_framework.request import Request
from rest_framework.views import APIView

from api.pagination import StrictCursorPagination
from decisions.filters import RULE_ORDERING


class DecisionCursorPagination(StrictCursorPagination):
    """Pages of decisions, newest first, that stay stable while decisions are added.

    A cursor needs no ``COUNT`` and no ``OFFSET``: every page is read from
    the index on ``decided_at`` (or on the order and ``decided_at``), or,
    for the decisions where a rule did not pass, from the index of the
    rule's outcome rows.
    """

    ordering = ("-decided_at", "-id")
    page_size = 50
    max_page_size = 500
    cursor_query_description = "Where the page starts: copy it from a `next` or `previous` link."
    page_size_query_description = "Decisions per page: 1 to 500 (default 50)."

    def get_ordering(
        self, request: Request, queryset: QuerySet, view: APIView | None
    ) -> tuple[str, ...]:
        """Return the order of *queryset*'s pages: by its rule's outcome rows, if read from them.

        Those rows hold the decision's time and id, so the order is the
        same; ordered by their columns, a page reads their index.
        """
        if RULE_ORDERING[0].lstrip("-") in queryset.query.annotations:
            return RULE_ORDERING
        return self.ordering
