"""The plain comparison view, in front of the service's URLs (for ``/health/``)."""

from django.urls import path

from bench.views import plain_check
from config import urls as service_urls

urlpatterns = [
    path("bench/plain-check/", plain_check, name="bench-plain-check"),
    *service_urls.urlpatterns,
]

handler400 = service_urls.handler400
handler404 = service_urls.handler404
handler500 = service_urls.handler500
