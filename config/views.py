"""Site-wide views: health, and JSON answers for unknown paths and server errors."""

import logging
from http import HTTPStatus

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import Resolver404, resolve
from django.views import defaults
from rest_framework.exceptions import APIException, NotFound
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.errors import error_body
from api.request_ids import current_request_id
from api.schema import operation
from api.throttles import throttle_store_state
from config.health import check_database, check_disk, replica_state
from config.serializers import HealthSerializer, LivenessSerializer
from config.shutdown import is_shutting_down
from rules.engine import RuleRegistry

logger = logging.getLogger(__name__)

HTML_PREFIXES = ("/admin/", "/static/")

READINESS_DESCRIPTION = (
    "200 when the database holds every migration of the code and rules are registered. "
    "`throttle_store` says whether the store of the throttles' counts answers a read: "
    "`unavailable` keeps the 200, as requests then pass uncounted (the throttles fail open). "
    "503 in the error shape while the service shuts down (`shutting_down`), when the "
    "database is missing, unusable or holds no schema (`database_unavailable`), when "
    "migrations are pending (`migrations_pending`), or when the SQLite database's volume "
    "has less free space than `DISK_FREE_MIN_BYTES` (`disk_low`; on PostgreSQL the "
    "volume is the database server's, and is not checked). With a read replica "
    "(`DATABASE_REPLICA_URL`), `replica` says whether it answers a query: `unavailable` "
    "keeps the 200, as checks never read it (analysis answers 503 `database_unavailable` "
    "meanwhile)."
)


class ServerShuttingDownError(APIException):
    """The process has been told to stop and takes no new traffic."""

    status_code = HTTPStatus.SERVICE_UNAVAILABLE
    default_detail = "The server is shutting down; send requests to another instance."
    default_code = "shutting_down"


class NoRulesRegisteredError(APIException):
    """No rule is registered, so no check could pass: the process is misconfigured."""

    status_code = HTTPStatus.SERVICE_UNAVAILABLE
    default_detail = "No rules are registered."
    default_code = "no_rules_registered"


class SiteView(APIView):
    """A view of the site, not of the API: open to all, it neither authenticates nor counts.

    A load balancer's probe must get its answer whatever header it sends and
    however often it asks, without a query to count it.
    """

    authentication_classes = ()
    permission_classes = (AllowAny,)
    throttle_classes = ()


class HealthLiveView(SiteView):
    """Report that the process answers, without touching the database."""

    @operation("health_live", {200: LivenessSerializer})
    def get(self, request: Request) -> Response:
        """Liveness: the process answers.

        Never queries the database: restart the process if this fails.
        """
        return Response({"status": "ok"})


class HealthReadyView(SiteView):
    """Report whether this process should receive traffic."""

    @operation(
        "health_ready",
        {200: HealthSerializer},
        (503,),
        operation_summary=(
            "Readiness: the database holds the schema and has room, rules are registered"
        ),
        operation_description=READINESS_DESCRIPTION,
    )
    def get(self, request: Request) -> Response:
        """Answer 200 when the database holds the code's schema and rules are registered.

        Raises a 503 while the service shuts down, when the database is
        missing, unusable or behind the code, when the SQLite file's volume
        is short of free space, or when no rule is registered. A throttle
        store that fails is reported, not a 503: the throttles then let
        requests through uncounted. So is a read replica that fails.
        """
        if is_shutting_down():
            raise ServerShuttingDownError
        # The volume first: on a full disk, opening the database fails too.
        check_disk()
        check_database()
        if not RuleRegistry.get_all_rules():
            raise NoRulesRegisteredError
        health = {"status": "ok", "database": "ok", "throttle_store": throttle_store_state()}
        replica = replica_state()
        if replica is not None:
            health["replica"] = replica
        return Response(health)


class HealthView(HealthReadyView):
    """Report the service's health: the readiness check, at ``/health/``."""

    @operation(
        "health",
        {200: HealthSerializer},
        (503,),
        operation_summary="Service health (the readiness check)",
        operation_description=READINESS_DESCRIPTION,
    )
    def get(self, request: Request) -> Response:
        """Answer as ``/health/ready`` does."""
        return super().get(request)


class UnknownPathView(SiteView):
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
