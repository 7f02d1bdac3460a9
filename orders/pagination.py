"""Pagination of the orders list."""

from api.pagination import StrictCursorPagination


class OrderCursorPagination(StrictCursorPagination):
    """Pages of orders, newest first, that stay stable while orders are added.

    A cursor needs no ``COUNT`` and no ``OFFSET``, so a page costs the same on
    the first page of a million orders as on the last. An invalid
    ``page_size``, or a parameter given twice, is a 400.
    """

    ordering = ("-created_at", "-id")
    page_size = 50
    max_page_size = 500
    cursor_query_description = "Where the page starts: copy it from a `next` or `previous` link."
    page_size_query_description = "Orders per page: a whole number from 1; more than 500 is 500."
