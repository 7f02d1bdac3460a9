"""Pagination of the orders list."""

from rest_framework.pagination import CursorPagination


class OrderCursorPagination(CursorPagination):
    """Pages of orders, newest first, that stay stable while orders are added.

    A cursor needs no ``COUNT`` and no ``OFFSET``, so a page costs the same on
    the first page of a million orders as on the last.
    """

    ordering = ("-created_at", "-id")
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
    cursor_query_description = "Where the page starts: copy it from a `next` or `previous` link."
    page_size_query_description = "Orders per page: 1 to 500 (default 50)."
