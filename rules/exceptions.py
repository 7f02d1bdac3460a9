"""Rule errors, and the one DRF exception handler that shapes every API error."""

import logging
from collections.abc import Iterable, Mapping
from http import HTTPStatus
from typing import Any

from django.core.exceptions import ImproperlyConfigured, RequestDataTooBig
from django.db import InterfaceError, OperationalError
from rest_framework import exceptions
from rest_framework.response import Response

logger = logging.getLogger(__name__)


class RuleError(Exception):
    """Base class of the rule engine's errors that a client can act on."""

    status_code: int = HTTPStatus.BAD_REQUEST
    code: str = "rule_error"
    title: str = "Rule error"

    @property
    def detail(self) -> Any:
        """Return what the client is told: text or structured data."""
        return str(self)


class UnknownRuleError(RuleError, KeyError):
    """One or more requested rule names are not registered.

    Subclasses ``KeyError`` so that ``RuleRegistry.get_rule`` keeps its
    documented contract.
    """

    code = "unknown_rule"
    title = "Unknown rule"

    def __init__(self, unknown: Iterable[str], available: Iterable[str]) -> None:
        """Record the names that were not found and those that exist."""
        self.unknown = list(unknown)
        self.available = sorted(available)
        super().__init__(self.unknown)

    def __str__(self) -> str:
        """Name every unknown rule."""
        return "Unknown rule(s): " + ", ".join(self.unknown)

    @property
    def detail(self) -> dict[str, Any]:
        """Return the message, the unknown names and the available ones."""
        return {"message": str(self), "unknown": self.unknown, "available": self.available}


class InvalidRuleParamsError(RuleError):
    """A rule's parameters are missing, unknown or of the wrong type."""

    code = "invalid_params"
    title = "Invalid rule parameters"

    def __init__(self, errors_by_rule: Mapping[str, Mapping[str, Any]]) -> None:
        """Record ``{rule key: {param: [message, ...]}}``."""
        self.rules = {
            rule: {
                param: [str(m) for m in _as_list(messages)] for param, messages in errors.items()
            }
            for rule, errors in errors_by_rule.items()
        }
        super().__init__(self.rules)

    def __str__(self) -> str:
        """Name each rule and its bad parameters."""
        parts = [f"{rule} ({', '.join(errors)})" for rule, errors in self.rules.items()]
        return "Invalid parameters for rule(s): " + "; ".join(parts)

    @property
    def detail(self) -> dict[str, Any]:
        """Return the message and the errors by rule key and parameter."""
        return {"message": str(self), "rules": self.rules}


class UnknownRuleSetError(RuleError):
    """No active rule set has the requested name."""

    status_code = HTTPStatus.NOT_FOUND
    code = "unknown_ruleset"
    title = "Unknown rule set"

    def __init__(self, name: str) -> None:
        """Record the requested name."""
        self.name = name
        super().__init__(name)

    def __str__(self) -> str:
        """Name the rule set."""
        return f"No active rule set named {self.name!r}."


class InvalidCursorError(RuleError, ValueError):
    """A pagination cursor that this service did not issue."""

    code = "invalid_cursor"
    title = "Invalid cursor"

    def __str__(self) -> str:
        """Say what to do."""
        return "The cursor is not one this service issued; start again without it."


class DuplicateRuleError(ImproperlyConfigured):
    """Two rule classes claim the same name: a configuration error at start-up."""


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


def _as_list(messages: Any) -> list[Any]:
    """Return *messages* as a list (DRF gives a list per field, or a nested dict)."""
    return messages if isinstance(messages, list) else [messages]


def error_body(status: int, code: str, detail: Any) -> dict[str, Any]:
    """Return the one error body every API error has."""
    return {"error": HTTPStatus(status).phrase, "code": code, "detail": detail}


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Turn *exc* into a response with the SPEC error shape, or ``None`` for a 500.

    Rule errors keep their own status and code; DRF's default handler deals
    with its exceptions, ``Http404`` and ``PermissionDenied``; a body over
    Django's size limit is a 413 and a database that does not answer a 503.
    Anything else is left to Django, which logs it with its traceback and
    answers with the JSON ``handler500``.
    """
    # Imported here: rest_framework.views reads the API settings, which name
    # this module's neighbours, so a module-level import would be circular.
    from rest_framework.views import exception_handler

    if isinstance(exc, RuleError):
        logger.info("request rejected", extra={"code": exc.code, "status": exc.status_code})
        body = {"error": exc.title, "code": exc.code, "detail": exc.detail}
        return Response(body, status=exc.status_code)
    if isinstance(exc, RequestDataTooBig):
        exc = RequestTooLargeError()
    elif isinstance(exc, (OperationalError, InterfaceError)):
        logger.warning("database unavailable", exc_info=exc)
        exc = DatabaseUnavailableError()
    response = exception_handler(exc, context)
    if response is None:
        return None
    code = _error_code(exc, response.status_code)
    is_validation = isinstance(exc, exceptions.ValidationError)
    detail = response.data if is_validation else response.data["detail"]
    response.data = error_body(response.status_code, code, detail)
    logger.info("request rejected", extra={"code": code, "status": response.status_code})
    return response


def _error_code(exc: Exception, status: int) -> str:
    """Return the stable machine code for an exception DRF has handled."""
    if isinstance(exc, exceptions.ValidationError):
        return "invalid_request"
    if isinstance(exc, exceptions.APIException):
        return str(exc.default_code)
    return "not_found" if status == HTTPStatus.NOT_FOUND else "permission_denied"
