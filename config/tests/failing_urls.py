"""URLs for the tests: the real ones plus a view that fails unexpectedly."""

from django.http import HttpRequest, HttpResponse
from django.urls import path
from rest_framework.decorators import api_view

from config import urls


@api_view(["GET", "POST", "PUT", "PATCH", "DELETE"])
def failing_view(request: HttpRequest) -> HttpResponse:
    """Fail the way a bug would."""
    raise RuntimeError("password=hunter2 at /srv/app/secret.py")


urlpatterns = [path("failing/", failing_view), *urls.urlpatterns]
handler400 = urls.handler400
handler404 = urls.handler404
handler500 = urls.handler500
