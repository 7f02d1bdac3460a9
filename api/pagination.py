"""Cursor pages whose query parameters are checked, not guessed."""

from datetime import UTC, datetime
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, QuerySet
from django.utils import timezone
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.request import Request
from rest_framework.views import APIView

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

    def paginate_queryset(
        self, queryset: QuerySet, request: Request, view: APIView | None = None
    ) -> list[Any] | None:
        """Return the page of *queryset* that the request's cursor points to.

        Notes the field the pages are ordered by (a column or an
        annotation), so that ``decode_cursor`` can check the cursor's
        position against it before the database sees it.
        """
        ordering = self.get_ordering(request, queryset, view)
        self.position_field = queryset.query.resolve_ref(ordering[0].lstrip("-")).output_field
        self.position_connection = connections[queryset.db]
        return super().paginate_queryset(queryset, request, view)

    def decode_cursor(self, request: Request) -> Cursor | None:
        """Return the cursor the query gives; a 400 if it is given twice, a 404 if forged.

        A cursor is forged, as DRF answers it, when it does not decode, or
        when its position is no value of the ordering field that the
        database can compare: not a date-time, one without a time zone (this
        service issues none), or one outside the years 1 to 9999 in UTC.
        """
        one_value(request.query_params, self.cursor_query_param)
        cursor = super().decode_cursor(request)
        position = cursor.position if cursor is not None else None
        if position is not None and not _holds(
            self.position_field, position, self.position_connection
        ):
            raise NotFound(self.invalid_cursor_message)
        return cursor


def _holds(field: Field, position: str, connection: BaseDatabaseWrapper) -> bool:
    """Return whether *position* is a value of *field* that *connection* can compare."""
    try:
        value = field.to_python(position)
        if isinstance(value, datetime):
            if timezone.is_naive(value):
                return False
            # The same limits on every database: PostgreSQL would take years before 1.
            value.astimezone(UTC)
        field.get_db_prep_value(value, connection)
    except (DjangoValidationError, ValueError, OverflowError):
        return False
    return True
