"""Test-wide environment: settings module, a throw-away secret, plain HTTP.

Set here, before pytest-django sets Django up, because the settings refuse
to load without ``SECRET_KEY`` when ``DEBUG`` is off.
"""

import os
from collections.abc import Callable
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("SECRET_KEY", "test-secret-key-only-for-the-test-suite-0123456789abcdef")
os.environ.setdefault("SECURE_SSL_REDIRECT", "False")
# The suite counts metrics in its own process; each gunicorn it starts makes its own directory.
os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)

import pytest
from django.test import Client
from rest_framework.test import APIClient

from config.tests.scrapes import Scrape


@pytest.fixture
def api_client() -> APIClient:
    """Return a DRF test client that sends JSON."""
    return APIClient()


@pytest.fixture(autouse=True)
def _static_files_without_manifest(settings: Any) -> None:
    """Serve static files without the manifest that only ``collectstatic`` writes.

    The browser tests run the real stack, manifest included, in a subprocess.
    """
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def scrape(client: Client) -> Callable[[], Scrape]:
    """Return a function that reads ``/metrics`` as Prometheus on the loopback would."""

    def read() -> Scrape:
        """Scrape once; fail unless the metrics are served."""
        response = client.get("/metrics")
        if response.status_code != 200:
            pytest.fail(f"/metrics answered {response.status_code}: {response.content!r}")
        return Scrape(response.content.decode())

    return read
