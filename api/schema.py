"""Swagger documentation shared by every API view: operations and their error responses.

What an operation's view declares documents its security and the errors any
of its callers can meet (``ApiAutoSchema``, drf-yasg's default inspector
here); ``operation`` adds the operation's own.
"""

from collections.abc import Callable, Iterable, Mapping
from http import HTTPStatus
from typing import Any

from drf_yasg import openapi
from drf_yasg.app_settings import swagger_settings
from drf_yasg.inspectors import SwaggerAutoSchema
from drf_yasg.utils import swagger_auto_schema
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import (
    SAFE_METHODS,
    AllowAny,
    BasePermission,
    DjangoModelPermissionsOrAnonReadOnly,
)
from rest_framework.views import APIView

from api.auth import ScopePermission, open_to_anonymous
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
    409: "The resource is in use; `detail` says by what.",
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
# What any API view, one that authenticates its callers, can answer: a method
# its path does not allow, an unexpected error, a database that does not answer.
API_ERRORS = frozenset({405, 500, 503})
# What an operation that takes a JSON body can answer about the body.
BODY_ERRORS = frozenset({400, 413, 415})


def error_responses(*statuses: int) -> dict[str, openapi.Response]:
    """Return Swagger responses documenting the error body for *statuses*, in order."""
    return {
        str(status): openapi.Response(
            f"{HTTPStatus(status).phrase}. {_WHEN[status]}", ErrorSerializer
        )
        for status in sorted(statuses)
    }


def operation(
    operation_id: str,
    responses: Mapping[int | str, Any],
    errors: Iterable[int] = (),
    **options: Any,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Document a view method: its id, success responses and its own error statuses.

    *errors* are those particular to the operation, such as a 404 for what
    its path names; ``ApiAutoSchema`` adds those its view declares. The
    method's docstring is the operation's summary (its first line) and
    description (the rest), as drf-yasg reads it. *options* go to
    ``swagger_auto_schema`` as they are (``request_body``, ...).
    """
    return swagger_auto_schema(
        operation_id=operation_id, responses=responses, errors=frozenset(errors), **options
    )


class ApiAutoSchema(SwaggerAutoSchema):
    """Document an operation's security and caller errors from what its view declares.

    The view's authentication classes name the schemes a caller may send
    (each one's ``keyword``, as ``SECURITY_DEFINITIONS`` names it: ``Api-Key``,
    ``Token``), and its permissions say whether a caller may send none (``{}``
    in ``security``). From them follow 401 (wrong credentials), 403 (a
    caller without the scope or the permission, or a session's write without
    its CSRF token) and 429 (the view's throttles, and wrong credentials
    counted against the address). A view that authenticates is an API view:
    it can answer ``API_ERRORS``; an operation with a body, ``BODY_ERRORS``.
    Site views, which authenticate nobody, document only their own errors.
    """

    def get_security(self) -> list[dict[str, list[str]]] | None:
        """Return the schemes the operation takes, and ``{}`` when it takes none."""
        schemes = self._schemes()
        if not schemes:
            return None
        anyone: list[dict[str, list[str]]] = [{}] if self._admits_anonymous() else []
        return [{scheme: []} for scheme in schemes] + anyone

    def get_response_serializers(self) -> dict[str, Any]:
        """Return the success responses, then every error the operation can answer."""
        errors = self.overrides.get("errors", frozenset()) | self._view_errors()
        return {**super().get_response_serializers(), **error_responses(*errors)}

    def _view_errors(self) -> frozenset[int]:
        """Return the errors that follow from what the view declares."""
        errors = set()
        if self.view.get_authenticators():
            errors |= API_ERRORS
        if self._schemes():
            errors |= {401, 429}
        if self.view.get_throttles():
            errors.add(429)
        if not self._admits_anonymous() or self._checks_csrf():
            errors.add(403)
        if self.get_request_serializer() is not None:
            errors |= BODY_ERRORS
        return frozenset(errors)

    def _schemes(self) -> list[str]:
        """Return the documented schemes of the view's authentication classes."""
        keywords = (getattr(auth, "keyword", None) for auth in self.view.get_authenticators())
        return [k for k in keywords if k in swagger_settings.SECURITY_DEFINITIONS]

    def _admits_anonymous(self) -> bool:
        """Return whether every permission of the view lets a caller without credentials in."""
        return all(
            _admits_anonymous(permission, self.view, self.method)
            for permission in self.view.get_permissions()
        )

    def _checks_csrf(self) -> bool:
        """Return whether a session's request of this method needs its CSRF token."""
        return self.method not in SAFE_METHODS and any(
            isinstance(auth, SessionAuthentication) for auth in self.view.get_authenticators()
        )


def _admits_anonymous(permission: BasePermission, view: APIView, method: str) -> bool:
    """Return whether *permission* lets a caller without credentials use *method* of *view*.

    A permission this does not know is taken to refuse them.
    """
    if isinstance(permission, ScopePermission):
        return open_to_anonymous(view)
    if isinstance(permission, DjangoModelPermissionsOrAnonReadOnly):
        return method in SAFE_METHODS
    return isinstance(permission, AllowAny)


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


def path_name_parameter(description: str) -> openapi.Parameter:
    """Return the path parameter ``name`` as Django's ``slug`` converter reads it."""
    return openapi.Parameter(
        "name",
        openapi.IN_PATH,
        description=description,
        type=openapi.TYPE_STRING,
        pattern=r"^[-a-zA-Z0-9_]+$",
        required=True,
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
