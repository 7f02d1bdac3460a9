"""Fixtures of the orders tests: users, and clients that may write or only read."""

import pytest
from rest_framework.test import APIClient

ORDER_PERMISSIONS = ("add_order", "change_order", "delete_order")


def _token_client(user) -> APIClient:
    """Return a JSON client that authenticates with a new token of *user*."""
    # Imported here: a conftest is loaded before Django's apps are ready.
    from rest_framework.authtoken.models import Token

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


@pytest.fixture
def user(django_user_model):
    """Return a clerk: not staff, with the permissions to add, change and delete orders."""
    from django.contrib.auth.models import Permission

    clerk = django_user_model.objects.create_user(username="clerk", password="not-used-here")
    clerk.user_permissions.set(
        Permission.objects.filter(content_type__app_label="orders", codename__in=ORDER_PERMISSIONS)
    )
    return clerk


@pytest.fixture
def writer(user) -> APIClient:
    """Return a JSON client that authenticates with a token of the clerk."""
    return _token_client(user)


@pytest.fixture
def reader(django_user_model) -> APIClient:
    """Return a JSON client with a token of a user who has no permission at all."""
    return _token_client(django_user_model.objects.create_user(username="reader"))
