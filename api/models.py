"""API keys of client systems: hashed, shown once, revocable, with scopes and an expiry.

``djangorestframework-api-key`` keeps the key: a public prefix (indexed) and
the SHA-512 hash of the whole key; the key itself is shown once, when made.
"""

from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from rest_framework_api_key.models import AbstractAPIKey


class Scope(models.TextChoices):
    """What a key may do."""

    CHECK = "check", "check: check orders, one or a batch"
    ANALYZE = "analyze", "analyze: query, report and preview over stored orders"


def validate_scopes(value: Any) -> None:
    """Refuse anything but a list of distinct known scopes."""
    if (
        not isinstance(value, list)
        or not all(isinstance(scope, str) and scope in Scope.values for scope in value)
        or len(set(value)) != len(value)
    ):
        names = ", ".join(Scope.values)
        raise ValidationError(f"Scopes are a list of distinct names among: {names}.")


class ClientKey(AbstractAPIKey):
    """The API key of one client system, and the scopes it grants."""

    scopes = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_scopes],
        help_text="check: checks and batches; analyze: query, report, preview.",
    )

    class Meta(AbstractAPIKey.Meta):
        verbose_name = "API key"
        verbose_name_plural = "API keys"

    def has_scope(self, scope: str) -> bool:
        """Return whether the key grants *scope*."""
        return scope in self.scopes
