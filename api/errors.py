"""The one error body of the API, its serializer, and the one exception handler.

Every error, whatever raised it, reaches the client as
``{"error": "<short title>", "code": "<machine_code>", "detail": ...}``.
Domain errors subclass ``ServiceError``: plain Python exceptions that carry
their HTTP status, machine code, title and detail, so the code that raises
them needs nothing from DRF's views or responses.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, TypeVar

from django.core.exceptions import NON_FIELD_ERRORS, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DatabaseError, InterfaceError, OperationalError, connections
from rest_framework import exceptions, serializers
from rest_framework.settings import api_settings

from api import metrics

if TYPE_CHECKING:
    from rest_framework.response import Response

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Driver error codes that say the database itself is unusable, whatever the
# query: SQLite's "file is not a database" and "database disk image is
# malformed" (primary codes), PostgreSQL's data_corrupted and index_corrupted.
_SQLITE_UNUSABLE = frozenset({sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT})
_POSTGRESQL_UNUSABLE = frozenset({"XX001", "XX002"})
# PostgreSQL's query_canceled: a statement ran past its statement_timeout.
_POSTGRESQL_CANCELED = "57014"
# Refusals of requests that would cost more than their budget, counted by code.
BUDGET_CODES = frozenset({"batch_too_large", "report_too_large", "query_timeout"})


class ServiceError(Exception):
    """An error a client can act on: an HTTP status, a stable code, and what to tell."""

    status_code: int = HTTPStatus.BAD_REQUEST
    code: str = "invalid_request"
    title: str = "Bad Request"

    @property
    def detail(self) -> Any:
        """Return what the client is told: text or structured data."""
        return str(self)


class RequestTooLargeError(exceptions.APIException):
    """The request body exceeds ``DATA_UPLOAD_MAX_MEMORY_SIZE``."""

    status_code = HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    default_detail = "Request body is too large."
    default_code = "request_too_large"


class DatabaseUnavailableError(exceptions.APIException):
    """The database did not answer."""

    status_code = HTTPStatus.SERVICE_UNAVAILABLE
    default_detail = "The database is not available. Try again shortly."
    default_code = "database_unavailable"


class QueryTimeoutError(exceptions.APIException):
    """A statement ran past its time budget and was cancelled; the connection stays usable."""

    status_code = HTTPStatus.SERVICE_UNAVAILABLE
    default_detail = "The query took longer than it may; narrow it, or try again later."
    default_code = "query_timeout"


class ErrorSerializer(serializers.Serializer):
    """The body of every API error."""

    error = serializers.CharField(help_text="Short title, e.g. 'Not Found'.")
    code = serializers.CharField(help_text="Stable machine code, e.g. 'unknown_rule'.")
    detail = serializers.JSONField(
        help_text=(
            "What went wrong; no fixed type. A string for most errors. An object for "
            "`invalid_request` (lists of messages by field name, nested as the body is) and "
            "for errors that carry data: a `message` and the data, e.g. `unknown_rule`'s "
            "`unknown` and `available` rule names."
        )
    )


def call_write_service(service: Callable[..., T], **kwargs: Any) -> T:
    """Call a write *service*, answering its Django ``ValidationError`` with a 400 by field.

    Errors of no field go under DRF's key (``non_field_errors``), as a
    serializer's own do.
    """
    try:
        return service(**kwargs)
    except DjangoValidationError as exc:
        detail = serializers.as_serializer_error(exc)
        if NON_FIELD_ERRORS in detail:
            detail[api_settings.NON_FIELD_ERRORS_KEY] = detail.pop(NON_FIELD_ERRORS)
        raise exceptions.ValidationError(detail) from exc


def error_body(status: int, code: str, detail: Any, title: str | None = None) -> dict[str, Any]:
    """Return the one error body every API error has (the status phrase by default)."""
    return {"error": title or HTTPStatus(status).phrase, "code": code, "detail": detail}


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Turn *exc* into a response with the error body, or ``None`` for a 500.

    A ``ServiceError`` keeps its own status, code and title; DRF's default
    handler deals with its exceptions, ``Http404`` and ``PermissionDenied``;
    a body over Django's size limit is a 413 and a database that cannot be
    used a 503, logged once with its cause, its connection not kept.
    Anything else is left to Django, which logs it with its traceback and
    answers with the JSON ``handler500``.
    Throttled requests, budget refusals and database outages are counted
    (``api.metrics``).
    """
    # Imported here: rest_framework.views reads the API settings, which name
    # this module, so a module-level import would be circular; and the domain
    # errors that subclass ServiceError stay free of DRF's views and responses.
    from rest_framework.response import Response
    from rest_framework.views import exception_handler

    if isinstance(exc, ServiceError):
        logger.info("request rejected", extra={"code": exc.code, "status": exc.status_code})
        _count_refusal(exc, exc.code, context)
        body = error_body(exc.status_code, exc.code, exc.detail, exc.title)
        return Response(body, status=exc.status_code)
    if isinstance(exc, RequestDataTooBig):
        exc = RequestTooLargeError()
    elif isinstance(exc, DatabaseError) and is_query_timeout(exc):
        logger.warning("query timed out", exc_info=exc)
        exc = QueryTimeoutError()
    elif isinstance(exc, DatabaseError) and _database_unusable(exc):
        logger.warning("database unavailable", exc_info=exc)
        discard_connections()
        exc = DatabaseUnavailableError()
    response = exception_handler(exc, context)
    if response is None:
        return None
    code = _error_code(exc, response.status_code)
    is_validation = isinstance(exc, exceptions.ValidationError)
    detail = response.data if is_validation else response.data["detail"]
    response.data = error_body(response.status_code, code, detail)
    logger.info("request rejected", extra={"code": code, "status": response.status_code})
    _count_refusal(exc, code, context)
    return response


def _count_refusal(exc: Exception, code: str, context: dict[str, Any]) -> None:
    """Count a throttled request by scope, a budget refusal by kind, a database outage."""
    if isinstance(exc, exceptions.Throttled):
        metrics.count_throttled(_throttle_scope(context))
    elif code in BUDGET_CODES:
        metrics.count_budget_refusal(code)
    elif code == "database_unavailable":
        metrics.count_database_unavailable()


def _throttle_scope(context: dict[str, Any]) -> str:
    """Return the rate the throttled request in *context* was counted at (its scope)."""
    # Imported here: the throttles read the API settings, which name this module.
    from api.throttles import throttle_scope

    return throttle_scope(context["request"], context["view"])


def is_query_timeout(exc: DatabaseError) -> bool:
    """Return whether *exc* is a statement cancelled for running past its timeout."""
    return getattr(exc.__cause__, "pgcode", None) == _POSTGRESQL_CANCELED


def discard_connections() -> None:
    """Close the open database connections that no transaction holds, after a failure.

    A failed connection must not be kept for the next requests
    (``CONN_MAX_AGE``): SQLite opened on a read-only file stays read-only
    after the file is writable again, so only a new connection recovers.
    One inside a transaction is left open, as closing it would break the
    transaction; the next query opens a connection anew.
    """
    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:
            connection.close()


def _database_unusable(exc: DatabaseError) -> bool:
    """Return whether *exc* says the database cannot be used, not just this query.

    That is a connection the driver lost or could not make, an error raised
    while connecting (no connection is open then), or a driver error code
    that names the database itself: not a database, or corrupt.
    """
    if isinstance(exc, (OperationalError, InterfaceError)):
        return True
    if any(wrapper.connection is None for wrapper in connections.all(initialized_only=True)):
        return True
    cause = exc.__cause__
    sqlite_code = getattr(cause, "sqlite_errorcode", None)
    if sqlite_code is not None:
        return sqlite_code & 0xFF in _SQLITE_UNUSABLE
    return getattr(cause, "pgcode", None) in _POSTGRESQL_UNUSABLE


def _error_code(exc: Exception, status: int) -> str:
    """Return the stable machine code for an exception DRF has handled."""
    if isinstance(exc, exceptions.ValidationError):
        return "invalid_request"
    if isinstance(exc, exceptions.APIException):
        return str(exc.default_code)
    return "not_found" if status == HTTPStatus.NOT_FOUND else "permission_denied"
