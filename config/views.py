"""Site-wide views: health, and JSON answers for unknown paths and server errors."""

import logging
from http import HTTPStatus

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import Resolver404, resolve
from django.views import defaults
from drf_yasg.utils import swagger_auto_schema
from rest_framework.exceptions import NotFound
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import BaseParser
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.request_logging import current_request_id
from rules.exceptions import error_body
from rules.schema import error_responses
from rules.serializers import HealthSerializer

logger = logging.getLogger(__name__)

HTML_PREFIXES = ("/admin/", "/static/")


class HealthView(APIView):
    """Report whether the service and its database answer."""

    @swagger_auto_schema(
        operation_id="health",
        operation_summary="Service health",
        responses={200: HealthSerializer, **error_responses(503)},
    )
    def get(self, request: Request) -> Response:
        """Run a trivial query; a database that does not answer is a 503."""
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return Response({"status": "ok", "database": "ok"})


class JSONOnlyNegotiation(BaseContentNegotiation):
    """Answer with the view's first renderer whatever the ``Accept`` header says.

    ``/swagger.json`` is JSON by its name: a plain ``curl`` or a browser asking
    for HTML gets JSON, not YAML or a 406.
    """

    def select_parser(self, request: Request, parsers: list[BaseParser]) -> BaseParser:
        """Use the first parser."""
        return parsers[0]

    def select_renderer(
        self, request: Request, renderers: list[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        """Use the first renderer and its media type."""
        return renderers[0], renderers[0].media_type


class UnknownPathView(APIView):
    """Answer any path that matches no route with a JSON 404, whatever the method."""

    swagger_schema = None

    def _not_found(self, request: Request, *args: object, **kwargs: object) -> Response:
        """Raise a 404 that suggests the slashed path when that one exists."""
        raise NotFound(_not_found_detail(request.path))

    get = post = put = patch = delete = options = _not_found


def _not_found_detail(path: str) -> str:
    """Return the 404 message for *path*."""
    if not path.endswith("/"):
        try:
            match = resolve(path + "/")
        except Resolver404:
            match = None
        if match is not None and match.url_name != "unknown-path":
            return f"No endpoint at {path}. Did you mean {path}/ (with a trailing slash)?"
    return f"No endpoint at {path}."


def handler400(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Answer a 400 raised outside the API views (e.g. a bad Host): JSON."""
    if request.path.startswith(HTML_PREFIXES):
        return defaults.bad_request(request, exception)
    body = error_body(HTTPStatus.BAD_REQUEST, "bad_request", "The request was malformed.")
    return JsonResponse(body, status=HTTPStatus.BAD_REQUEST)


def handler404(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Answer a 404 raised outside the API views: JSON, except for admin pages."""
    if request.path.startswith(HTML_PREFIXES):
        return defaults.page_not_found(request, exception)
    body = error_body(HTTPStatus.NOT_FOUND, "not_found", _not_found_detail(request.path))
    return JsonResponse(body, status=HTTPStatus.NOT_FOUND)


def handler500(request: HttpRequest) -> HttpResponse:
    """Answer an unexpected error with JSON and a reference id, and no internals.

    Django has already logged the traceback; the reference id is the request
    id, found on that log line.
    """
    if request.path.startswith(HTML_PREFIXES):
        return defaults.server_error(request)
    reference = getattr(request, "id", None) or current_request_id() or "unknown"
    detail = f"An unexpected error occurred. Reference: {reference}"
    body = error_body(HTTPStatus.INTERNAL_SERVER_ERROR, "server_error", detail)
    return JsonResponse(body, status=HTTPStatus.INTERNAL_SERVER_ERROR)
