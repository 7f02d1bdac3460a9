"""The admin of callers: API keys made, scoped and revoked there; tokens never shown."""

import pytest
from django.contrib import admin
from django.urls import NoReverseMatch, reverse
from rest_framework.authtoken.models import Token
from rest_framework_api_key.models import APIKey

from api.models import ClientKey

pytestmark = pytest.mark.django_db

KEYS = reverse("admin:api_clientkey_changelist")
ADD_KEY = reverse("admin:api_clientkey_add")


def test_a_key_added_in_the_admin_is_shown_once_with_its_scopes(admin_client):
    response = admin_client.post(
        ADD_KEY, {"name": "checkout", "scopes": ["check"], "expiry_date": ""}, follow=True
    )

    stored = ClientKey.objects.get()
    [message] = [str(m) for m in response.context["messages"] if "checkout is: " in str(m)]
    key = message.split("The API key for checkout is: ")[1].split(". ")[0]
    assert stored.scopes == ["check"]
    assert key.startswith(f"{stored.prefix}.")
    assert key not in admin_client.get(KEYS).content.decode()
    assert ClientKey.objects.get_from_key(key) == stored


def test_a_key_with_an_unknown_scope_is_a_form_error(admin_client):
    response = admin_client.post(ADD_KEY, {"name": "checkout", "scopes": ["admin"]})

    assert response.status_code == 200
    assert "Select a valid choice. admin is not one of the available choices." in (
        response.content.decode()
    )
    assert not ClientKey.objects.exists()


def test_the_key_list_shows_prefix_name_and_scopes_but_never_the_key(admin_client, make_key):
    stored, key = make_key("reports", ["check", "analyze"])

    content = admin_client.get(KEYS).content.decode()

    assert stored.prefix in content
    assert "reports" in content
    assert "check, analyze" in content
    assert key not in content


def test_a_key_revoked_in_the_admin_cannot_be_restored(admin_client, make_key):
    stored, _ = make_key("reports", ["analyze"])
    change = reverse("admin:api_clientkey_change", args=[stored.pk])

    admin_client.post(change, {"name": "reports", "scopes": ["analyze"], "revoked": "on"})
    admin_client.post(change, {"name": "reports", "scopes": ["analyze"]})

    assert ClientKey.objects.get().revoked is True


def test_drf_tokens_are_listed_by_user_without_their_keys(admin_client, admin_user):
    token = Token.objects.create(user=admin_user)

    content = admin_client.get(reverse("admin:authtoken_tokenproxy_changelist")).content.decode()

    assert admin_user.username in content
    assert token.key not in content


def test_the_librarys_own_key_model_is_not_in_the_admin():
    assert not admin.site.is_registered(APIKey)
    with pytest.raises(NoReverseMatch):
        reverse("admin:rest_framework_api_key_apikey_changelist")
