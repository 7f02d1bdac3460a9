"""Admin of the API's callers: API keys with their scopes, and DRF tokens without their keys.

Neither a key's hash nor a token's key is in any page, URL or log entry of
the admin: a key is known by its prefix, a token by its user.
"""

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import F, QuerySet
from django.http import HttpRequest
from rest_framework.authtoken.models import TokenProxy
from rest_framework_api_key.admin import APIKeyModelAdmin
from rest_framework_api_key.models import APIKey

from api.models import ClientKey, Scope, TokenHolder

# The library's own key model is not ours: keys are made here, with scopes.
admin.site.unregister(APIKey)
# DRF's token admin shows each token's key in its pages and URLs.
admin.site.unregister(TokenProxy)


class ClientKeyForm(forms.ModelForm):
    """A key's form: its scopes as checkboxes."""

    scopes = forms.MultipleChoiceField(
        choices=Scope.choices, widget=forms.CheckboxSelectMultiple, required=False
    )

    class Meta:
        model = ClientKey
        fields = ("name", "scopes", "expiry_date", "revoked")


@admin.register(ClientKey)
class ClientKeyAdmin(APIKeyModelAdmin):
    """Make, list and revoke API keys; a new key is shown once, in a message."""

    form = ClientKeyForm
    list_display = (
        "prefix",
        "name",
        "scope_list",
        "created",
        "expiry_date",
        "_has_expired",
        "revoked",
    )
    list_filter = ("created", "revoked")

    @admin.display(description="scopes")
    def scope_list(self, obj: ClientKey) -> str:
        """Return the key's scopes as a comma list."""
        return ", ".join(obj.scopes)


@admin.register(TokenHolder)
class TokenHolderAdmin(admin.ModelAdmin):
    """List whose DRF tokens exist, and delete them; a token's key is never shown.

    Tokens are issued by ``manage.py drf_create_token``. Each row is the
    token's user (``TokenHolder``), so the URLs and the log name the user;
    deleting one deletes the token, never the user.
    """

    list_display = ("username", "token_created")
    fields = ("username", "token_created")
    readonly_fields = fields
    search_fields = ("username",)
    ordering = ("username",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[TokenHolder]:
        """Return the users who hold a token, with when it was made."""
        return (
            super()
            .get_queryset(request)
            .filter(auth_token__isnull=False)
            .annotate(created=F("auth_token__created"))
        )

    @admin.display(description="created", ordering="created")
    def token_created(self, obj: Any) -> Any:
        """Return when the user's token was made."""
        return obj.created

    def has_add_permission(self, request: HttpRequest) -> bool:
        """Refuse: a token made here could never be shown to its user."""
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Refuse: there is nothing to change in a token."""
        return False

    def get_deleted_objects(
        self, objs: Any, request: HttpRequest
    ) -> tuple[list[str], dict[str, int], set[str], list[str]]:
        """List the tokens that deleting *objs* deletes, and nothing else: the users stay."""
        tokens = [f"The token of {holder}" for holder in objs]
        return tokens, {str(self.opts.verbose_name_plural): len(tokens)}, set(), []
