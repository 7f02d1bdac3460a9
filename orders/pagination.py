"""Pagination of the orders list."""

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.request import Request

from api.query_params import one_value

PAGE_SIZE_MESSAGE = "Enter a whole number of at least 1."


class OrderCursorPagination(CursorPagination):
    """Pages of orders, newest first, that stay stable while orders are added.

    A cursor needs no ``COUNT`` and no ``OFFSET``, so a page costs the same on
    the first page of a million orders as on the last. An invalid
    ``page_size``, or a parameter given twice, is a 400 (DRF would answer it
    with the default page size).
    """

    ordering = ("-created_at", "-id")
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
    cursor_query_description = "Where the page starts: copy it from a `next` or `previous` link."
    page_size_query_description = "Orders per page: a whole number from 1; more than 500 is 500."

    def get_page_size(self, request: Request) -> int:
        """Return the page size asked for (default 50), at most ``max_page_size``.

        Raises a 400 for a value that is not a whole number of at least 1.
        """
        value = one_value(request.query_params, self.page_size_query_param)
        if value is None:
            return self.page_size
        digits = value.lstrip("0")
        if not value.isascii() or not value.isdigit() or not digits:
            raise ValidationError({self.page_size_query_param: [PAGE_SIZE_MESSAGE]})
        # Compared by length first: int() refuses strings of over 4300 digits.
        too_many = len(digits) > len(str(self.max_page_size))
        return self.max_page_size if too_many else min(int(digits), self.max_page_size)

    def decode_cursor(self, request: Request) -> Cursor | None:
        """Return the cursor the query gives; a 400 if it is given twice, a 404 if forged."""
        one_value(request.query_params, self.cursor_query_param)
        return super().decode_cursor(request)
