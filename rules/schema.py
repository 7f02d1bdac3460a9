"""Swagger documentation helpers shared by the API views."""

from http import HTTPStatus

from drf_yasg import openapi

from rules.serializers import ErrorSerializer

_WHEN = {
    400: "The request body is invalid; `detail` says which field and why.",
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
