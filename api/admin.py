"""Admin of the API's callers: API keys with their scopes, and DRF tokens without their keys."""

from django import forms
from django.contrib import admin
from rest_framework.authtoken.admin import TokenAdmin
from rest_framework.authtoken.models import TokenProxy
from rest_framework_api_key.admin import APIKeyModelAdmin
from rest_framework_api_key.models import APIKey

from api.models import ClientKey, Scope

# The library's own key model is not ours: keys are made here, with scopes.
admin.site.unregister(APIKey)
# DRF lists every token's key in its changelist; a secret is never shown.
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


@admin.register(TokenProxy)
class KeylessTokenAdmin(TokenAdmin):
    """DRF's token admin, listing whose tokens exist but never their keys."""

    list_display = ("user", "created")
