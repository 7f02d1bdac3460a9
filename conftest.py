"""Test-wide environment: settings module, a throw-away secret, plain HTTP, no throttles.

Set here, before pytest-django sets Django up, because the settings refuse
to load without ``SECRET_KEY`` when ``DEBUG`` is off. Throttling is off
(here and in the live servers the tests start, which inherit this
environment) except in the tests of the throttles themselves: elsewhere a
test's hundreds of requests from one address must not be refused.
"""

import os
from collections.abc import Callable, Sequence
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("SECRET_KEY", "test-secret-key-only-for-the-test-suite-0123456789abcdef")
os.environ.setdefault("SECURE_SSL_REDIRECT", "False")
# The suite counts metrics in its own process; each gunicorn it starts makes its own directory.
os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
os.environ.setdefault("THROTTLE_CHECK", "off")
os.environ.setdefault("THROTTLE_ANALYZE", "off")
os.environ.setdefault("THROTTLE_ANONYMOUS", "off")

import pytest
from django.db import connection
from django.test import Client
from rest_framework.test import APIClient

from config.tests.scrapes import Scrape


@pytest.fixture(autouse=True)
def _postgresql_where_marked(request: pytest.FixtureRequest) -> None:
    """Fail a test marked ``postgres`` that runs on another database: never skip it."""
    if request.node.get_closest_marker("postgres") and connection.vendor != "postgresql":
        pytest.fail(
            "this test needs PostgreSQL: run `make test-postgres`, or set DATABASE_URL "
            "to a PostgreSQL database"
        )


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


@pytest.fixture
def make_key(db: None) -> Callable[..., tuple[Any, str]]:
    """Return a function that makes an API key: ``make_key("checkout", ["check"])``.

    It returns the stored key and the key itself (shown once).
    """
    # Imported here: a conftest is loaded before Django's apps are ready.
    from api.models import ClientKey

    def make(name: str = "client", scopes: Sequence[str] = ("check",), **fields: Any) -> Any:
        """Make a key named *name* with *scopes* and any other *fields*."""
        return ClientKey.objects.create_key(name=name, scopes=list(scopes), **fields)

    return make


@pytest.fixture
def analyst(make_key: Callable[..., tuple[Any, str]]) -> APIClient:
    """Return a JSON client that sends an API key with the ``analyze`` scope."""
    _, key = make_key("analyst", ["analyze"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client
