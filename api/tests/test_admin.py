"""The admin of callers: API keys made, scoped and revoked there; tokens never shown."""

import re

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


def _links(content: str, pattern: str) -> list[str]:
    """Return the paths the page links to that match *pattern*, in order, once each."""
    found = re.findall(rf'href="({pattern})"', content)
    return list(dict.fromkeys(found))


def _token_changelist(client) -> str:
    """Return the path of the token list, found on the admin's index."""
    index = client.get(reverse("admin:index")).content.decode()
    [changelist] = [path for path in _links(index, r"/admin/\w+/\w+/") if "token" in path]
    return changelist


def _token_pages(client) -> dict[str, str]:
    """Walk the token admin as an operator would, to its one token; return each page's path."""
    changelist = _token_changelist(client)
    [change] = _links(client.get(changelist).content.decode(), rf"{changelist}[^\"/]+/change/")
    page = client.get(change).content.decode()
    [history] = _links(page, r"/admin/[^\"]+/history/")
    [delete] = _links(page, r"/admin/[^\"]+/delete/")
    return {"changelist": changelist, "change": change, "history": history, "delete": delete}


def test_no_page_of_the_token_admin_shows_a_token(admin_client, django_user_model):
    writer = django_user_model.objects.create_user(username="writer")
    token = Token.objects.create(user=writer)

    pages = _token_pages(admin_client)
    contents = {name: admin_client.get(path).content.decode() for name, path in pages.items()}
    deleted = admin_client.post(pages["delete"], {"post": "yes"}, follow=True)
    index = admin_client.get(reverse("admin:index"))

    assert "writer" in contents["changelist"]
    for name, path in pages.items():
        assert token.key not in path, name
        assert token.key not in contents[name], name
    assert token.key not in deleted.content.decode()
    assert token.key not in index.content.decode()
    assert not Token.objects.exists()
    assert django_user_model.objects.filter(username="writer").exists()


def test_deleting_tokens_in_bulk_deletes_no_user(admin_client, django_user_model):
    writers = [django_user_model.objects.create_user(username=f"writer{n}") for n in range(2)]
    for writer in writers:
        Token.objects.create(user=writer)
    changelist = _token_changelist(admin_client)

    admin_client.post(
        changelist,
        {"action": "delete_selected", "_selected_action": [w.pk for w in writers], "post": "yes"},
    )

    assert not Token.objects.exists()
    assert django_user_model.objects.filter(username__startswith="writer").count() == 2


def test_no_page_of_the_key_admin_shows_the_keys_hash(admin_client, make_key):
    stored, key = make_key("reports", ["analyze"])
    change = reverse("admin:api_clientkey_change", args=[stored.pk])
    admin_client.post(change, {"name": "reports v2", "scopes": ["analyze"]})
    pages = [
        KEYS,
        change,
        reverse("admin:api_clientkey_history", args=[stored.pk]),
        reverse("admin:api_clientkey_delete", args=[stored.pk]),
    ]

    contents = [admin_client.get(path).content.decode() for path in pages]
    index = admin_client.get(reverse("admin:index")).content.decode()

    for path, content in zip(pages, [*contents], strict=True):
        assert stored.hashed_key not in path
        assert stored.hashed_key not in content, path
        assert key not in content, path
    assert "reports v2" in contents[2]
    assert stored.hashed_key not in index


def test_the_librarys_own_key_model_is_not_in_the_admin():
    assert not admin.site.is_registered(APIKey)
    with pytest.raises(NoReverseMatch):
        reverse("admin:rest_framework_api_key_apikey_changelist")
