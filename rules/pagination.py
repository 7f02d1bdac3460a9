"""Pagination of the condition rules list."""

from rest_framework.exceptions import NotFound
from rest_framework.pagination import Cursor
from rest_framework.request import Request

from api.pagination import StrictCursorPagination


class ConditionRuleCursorPagination(StrictCursorPagination):
    """Pages of condition rules, by name, that stay stable while rules are added."""

    ordering = ("name",)
    page_size = 50
    max_page_size = 500
    cursor_query_description = "Where the page starts: copy it from a `next` or `previous` link."
    page_size_query_description = "Condition rules per page: 1 to 500 (default 50)."

    def decode_cursor(self, request: Request) -> Cursor | None:
        """Return the cursor the query gives; a 404 for a forged one holding a NUL.

        A name is the position: PostgreSQL refuses a NUL in a string outright.
        """
        cursor = super().decode_cursor(request)
        if cursor is not None and cursor.position is not None and "\x00" in cursor.position:
            raise NotFound(self.invalid_cursor_message)
        return cursor
