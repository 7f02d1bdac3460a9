"""Root URLs: admin, the rules, orders and decisions APIs, health, Swagger/ReDoc/JSON schema."""

from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.contrib import admin
from django.urls import include, path, re_path
from drf_yasg import openapi
from drf_yasg.renderers import SwaggerJSONRenderer
from drf_yasg.views import get_schema_view
from rest_framework.permissions import AllowAny

from api.negotiation import JSONOnlyNegotiation
from config.views import (
    HealthLiveView,
    HealthReadyView,
    HealthView,
    UnknownPathView,
)
from decisions import urls as decisions_urls
from orders.views import FactListView
from rules import urls as rules_urls

API_INFO = openapi.Info(
    title="Pluggable Rule Engine API",
    default_version="v1",
    description=(
        "Tells checkout and back-office systems whether an order satisfies a set of "
        "business rules, and why. Every error has the body "
        '`{"error": "<title>", "code": "<machine_code>", "detail": ...}`. '
        "No string, object keys included, may hold a NUL character or an unpaired surrogate: "
        "such a string is a 400. A body's `charset`, if given, is UTF-8, UTF-16 or UTF-32; "
        "any other is a 415. "
        "One answer cannot have it: a request line (method, path and query string) longer "
        "than 8190 bytes is refused by the HTTP server itself, before the service sees it, "
        "with `414 URI Too Long` and a short HTML page. Send long input in a POST body."
    ),
)

# The documentation is public and takes no credentials; it is counted as
# anonymous traffic, since generating the schema is not free.
schema_view = get_schema_view(
    API_INFO, public=True, permission_classes=[AllowAny], authentication_classes=[]
)
# What the documentation pages need beyond the site's policy (settings): both
# style themselves with inline <style> elements (drf-yasg's insertion-query
# helper, ReDoc's styled components) and draw data: images; ReDoc parses the
# schema in a worker made from a blob: URL, and shows Redocly's logo from its CDN.
DOCS_POLICY = {"style-src": [UNSAFE_INLINE], "img-src": ["data:"]}
swagger_ui = csp_update(DOCS_POLICY)(schema_view.with_ui("swagger", cache_timeout=0))
redoc = csp_update(
    {
        **DOCS_POLICY,
        "img-src": ["data:", "https://cdn.redoc.ly/redoc/logo-mini.svg"],
        "worker-src": ["blob:"],
    }
)(schema_view.with_ui("redoc", cache_timeout=0))

# The decision log's URLs, and replaying a decision, which takes the rules.
DECISION_URLS = [*decisions_urls.urlpatterns, *rules_urls.decision_urlpatterns]

urlpatterns = [
    # The checks first: every request walks the patterns in order until one matches.
    path("", include("rules.urls")),
    path("", swagger_ui, name="schema-swagger-ui"),
    path("redoc/", redoc, name="schema-redoc"),
    path(
        "swagger.json",
        schema_view.as_cached_view(
            renderer_classes=[SwaggerJSONRenderer], content_negotiation_class=JSONOnlyNegotiation
        ),
        name="schema-json",
    ),
    path("admin/", admin.site.urls),
    path("health/", HealthView.as_view(), name="health"),
    path("health/live", HealthLiveView.as_view(), name="health-live"),
    path("health/ready", HealthReadyView.as_view(), name="health-ready"),
    path("orders/", include("orders.urls")),
    path("facts/", FactListView.as_view(), name="fact-list"),
    path("decisions/", include((DECISION_URLS, "decisions"))),
    # Everything else is a JSON 404, except /admin (redirected to /admin/) and
    # static files (served by whitenoise before routing).
    re_path(r"^(?!admin$|static/).*$", UnknownPathView.as_view(), name="unknown-path"),
]

handler400 = "config.views.handler400"
handler404 = "config.views.handler404"
handler500 = "config.views.handler500"
