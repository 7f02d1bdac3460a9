"""Pagination of the decision log."""

from rest_framework.pagination import CursorPagination


class DecisionCursorPagination(CursorPagination):
    """Pages of decisions, newest first, that stay stable while decisions are added.

    A cursor needs no ``COUNT`` and no ``OFFSET``: every page is read from
    the index on ``decided_at`` (or on the order and ``decided_at``).
    """

    ordering = ("-decided_at", "-id")
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
    cursor_query_description = "Where the page starts: copy it from a `next` or `previous` link."
    page_size_query_description = "Decisions per page: 1 to 500 (default 50)."
