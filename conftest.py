"""Test-wide environment: settings module, a throw-away secret, plain HTTP.

Set here, before pytest-django sets Django up, because the settings refuse
to load without ``SECRET_KEY`` when ``DEBUG`` is off.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("SECRET_KEY", "test-secret-key-only-for-the-test-suite-0123456789abcdef")
os.environ.setdefault("SECURE_SSL_REDIRECT", "False")
