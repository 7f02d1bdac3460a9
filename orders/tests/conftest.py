"""Fixtures of the orders tests: a user, and clients that may write."""

import pytest
from rest_framework.test import APIClient


@pytest.fixture
def user(django_user_model):
    """Return a plain user: no staff, no permissions."""
    return django_user_model.objects.create_user(username="clerk", password="not-used-here")


@pytest.fixture
def token(user):
    """Return an API token of *user*."""
    # Imported here: a conftest is loaded before Django's apps are ready.
    from rest_framework.authtoken.models import Token

    return Token.objects.create(user=user)


@pytest.fixture
def writer(token) -> APIClient:
    """Return a JSON client that authenticates with *token*."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client
