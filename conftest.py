"""Test-wide environment: settings module, a throw-away secret, plain HTTP.

Set here, before pytest-django sets Django up, because the settings refuse
to load without ``SECRET_KEY`` when ``DEBUG`` is off.
"""

import os
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("SECRET_KEY", "test-secret-key-only-for-the-test-suite-0123456789abcdef")
os.environ.setdefault("SECURE_SSL_REDIRECT", "False")

import pytest
from rest_framework.test import APIClient


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
