"""Cursor pages whose query parameters are checked, not guessed."""

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.request import Request

from api.query_params import one_value

PAGE_SIZE_MESSAGE = "Enter a whole number of at least 1."


class StrictCursorPagination(CursorPagination):
    """Cursor pages that answer an invalid ``page_size`` or a repeated parameter with a 400.

    DRF answers ``page_size=null``, ``0`` or ``-1`` with the default page
    size, and takes the last of repeated values; a client then gets what it
    did not ask for. A size above ``max_page_size`` is still that maximum.
    Document ``page_size`` with ``api.schema.page_size_parameter``.
    """

    page_size_query_param = "page_size"

    def get_page_size(self, request: Request) -> int:
        """Return the page size asked for (default ``page_size``), at most ``max_page_size``.

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
