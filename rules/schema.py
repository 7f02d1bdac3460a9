"""Swagger documentation helpers shared by the API views."""

from http import HTTPStatus
from typing import Any

from drf_yasg import openapi
from drf_yasg.inspectors import FieldInspector, NotHandled

from rules.engine import Severity
from rules.serializers import MAX_NAME_LENGTH, ErrorSerializer, RuleItemField

_WHEN = {
    400: "The request is invalid; `detail` says which field or parameter and why.",
    401: "Authentication is missing or invalid: send `Authorization: Token <key>`.",
    403: "The credentials do not allow this (a session write without its CSRF token).",
    404: "No such resource.",
    405: "The method is not allowed on this path.",
    413: "The request body is too large.",
    415: "The request body is not JSON.",
    500: "Unexpected server error; `detail` gives a reference id.",
    503: "The database is not available.",
}


def error_responses(*statuses: int) -> dict[int, openapi.Response]:
    """Return Swagger responses documenting the error body for *statuses*."""
    return {
        status: openapi.Response(f"{HTTPStatus(status).phrase}. {_WHEN[status]}", ErrorSerializer)
        for status in statuses
    }


class RuleItemFieldInspector(FieldInspector):
    """Document a rule item, which is a name *or* an object, with no single type.

    Swagger 2.0 has no ``oneOf``; a schema without ``type`` accepts both, so
    Swagger UI's "Try it out" sends names and objects alike.
    """

    def field_to_swagger_object(
        self, field: Any, swagger_object_type: Any, use_references: bool, **kwargs: Any
    ) -> Any:
        """Return the rule item schema for a ``RuleItemField``."""
        if not isinstance(field, RuleItemField) or swagger_object_type is not openapi.Schema:
            return NotHandled
        return openapi.SwaggerDict(
            description=(
                "A rule name (a string, e.g. `min_total_100`) or an object "
                '`{"name", "params", "as", "severity"}`.'
            ),
            properties={
                "name": {"type": "string", "maxLength": MAX_NAME_LENGTH},
                "params": {"type": "object"},
                "as": {"type": "string", "maxLength": MAX_NAME_LENGTH},
                "severity": {"type": "string", "enum": [s.value for s in Severity]},
            },
            example="min_total_100",
        )
