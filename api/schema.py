"""Swagger documentation shared by every API view: operations and their error responses."""

from collections.abc import Callable, Iterable, Mapping
from http import HTTPStatus
from typing import Any

from drf_yasg import openapi
from drf_yasg.utils import swagger_auto_schema

from api.errors import ErrorSerializer
from api.pagination import StrictCursorPagination

_WHEN = {
    400: "The request is invalid; `detail` says which field or parameter and why.",
    401: (
        "Credentials are missing where they are needed, or wrong, revoked or expired: "
        "send `Authorization: Api-Key <key>` (order writes: `Token <key>`)."
    ),
    403: (
        "The credentials do not allow this: a key without the scope, a user without the "
        "permission, or a session's write without its CSRF token."
    ),
    404: "No such resource.",
    405: "The method is not allowed on this path.",
    413: (
        "The request body is too large, or what it asks for is over a budget (`detail` "
        "names the setting)."
    ),
    415: "The request body is not JSON, or its charset is not UTF-8, UTF-16 or UTF-32.",
    429: (
        "Too many requests from this caller, or too many wrong credentials from its address; "
        "`Retry-After` gives the seconds to wait."
    ),
    500: "Unexpected server error; `detail` gives a reference id.",
    503: "The database is not available.",
}
# What can go wrong with any request that sends a JSON body.
JSON_BODY_ERRORS = (400, 405, 413, 415, 500, 503)
# What any call that authenticates and counts its caller can answer.
CALLER_ERRORS = (401, 403, 429)


def error_responses(*statuses: int) -> dict[int, openapi.Response]:
    """Return Swagger responses documenting the error body for *statuses*."""
    return {
        status: openapi.Response(f"{HTTPStatus(status).phrase}. {_WHEN[status]}", ErrorSerializer)
        for status in statuses
    }


def operation(
    operation_id: str,
    responses: Mapping[int | str, Any],
    errors: Iterable[int],
    **options: Any,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Document a view method: its id, success responses and error statuses.

    The method's docstring is the operation's summary (its first line) and
    description (the rest), as drf-yasg reads it. *options* go to
    ``swagger_auto_schema`` as they are (``request_body``, ``security``, ...).
    """
    return swagger_auto_schema(
        operation_id=operation_id,
        responses={**responses, **error_responses(*sorted(set(errors)))},
        **options,
    )


def page_size_parameter(pagination: type[StrictCursorPagination]) -> openapi.Parameter:
    """Return the ``page_size`` query parameter of *pagination*, with its lower bound.

    Give it in ``manual_parameters``: drf-yasg documents the one DRF
    describes, a bare integer.
    """
    return openapi.Parameter(
        pagination.page_size_query_param,
        openapi.IN_QUERY,
        description=pagination.page_size_query_description,
        type=openapi.TYPE_INTEGER,
        minimum=1,
    )


def path_id_parameter(name: str, description: str) -> openapi.Parameter:
    """Return the path parameter *name* as Django's ``int`` converter reads it: 0 or more.

    Give it in ``manual_parameters``: drf-yasg documents such a parameter as a string.
    """
    return openapi.Parameter(
        name,
        openapi.IN_PATH,
        description=description,
        type=openapi.TYPE_INTEGER,
        minimum=0,
        required=True,
    )
