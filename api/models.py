"""API keys of client systems: hashed, shown once, revocable, with scopes and an expiry.

``djangorestframework-api-key`` keeps the key: a public prefix (indexed) and
the SHA-512 hash of the whole key; the key itself is shown once, when made.
A key's primary key is its prefix, which the admin shows anyway: the
library's, ``<prefix>.<hash>``, put the hash in the admin's URLs, its pages
and the access log.
"""

import functools
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import connections, models
from rest_framework.authtoken.models import Token
from rest_framework_api_key.models import AbstractAPIKey, APIKeyManager


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


@dataclass(frozen=True, slots=True)
class VerifiedKey:
    """A key that a request proved it holds: which one, and what it may do."""

    prefix: str
    name: str
    scopes: frozenset[str]
    expired: bool

    def has_scope(self, scope: str) -> bool:
        """Return whether the key grants *scope*."""
        return scope in self.scopes


class ClientKeyManager(APIKeyManager):
    """The keys, and the one lookup that authenticating a request makes."""

    def assign_key(self, obj: AbstractAPIKey) -> str:
        """Give *obj* a new key's prefix and hash, its prefix as primary key; return the key."""
        key = super().assign_key(obj)
        obj.id = obj.prefix
        return key

    def verify(self, key: str) -> VerifiedKey | None:
        """Return the unrevoked key *key* if its hash matches, else ``None``.

        One raw ``SELECT`` by the indexed prefix, as ``orders.selectors``
        reads an order: the ORM spends about 200 us building the query and
        the model, ten times what the rest of authenticating costs. The
        database tells whether the key has expired; the hash is compared by
        the library's key generator.
        """
        prefix, _, _ = key.partition(".")
        connection = connections[self.db]
        with connection.cursor() as cursor:
            cursor.execute(self._verify_sql(connection.alias), [prefix, False])
            row = cursor.fetchone()
        if row is None or not self.key_generator.verify(key, row[1]):
            return None
        scopes = self.model._meta.get_field("scopes").from_db_value(row[2], None, connection)
        return VerifiedKey(prefix, row[0], frozenset(scopes), bool(row[3]))

    @functools.cache  # noqa: B019 (one manager per model, one query per database)
    def _verify_sql(self, alias: str) -> str:
        """Return the query of ``verify`` on the database *alias*."""
        quote = connections[alias].ops.quote_name
        field = self.model._meta.get_field
        name, hashed, scopes, expiry, prefix, revoked = (
            quote(field(name).column)
            for name in ("name", "hashed_key", "scopes", "expiry_date", "prefix", "revoked")
        )
        table = quote(self.model._meta.db_table)
        expired = f"CASE WHEN {expiry} <= CURRENT_TIMESTAMP THEN 1 ELSE 0 END"
        # Only the model's own names are formatted in; the values are bound parameters.
        return (
            f"SELECT {name}, {hashed}, {scopes}, {expired} FROM {table} "  # noqa: S608  # nosec B608
            f"WHERE {prefix} = %s AND {revoked} = %s"
        )


class ClientKey(AbstractAPIKey):
    """The API key of one client system, and the scopes it grants."""

    objects = ClientKeyManager()

    scopes = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_scopes],
        help_text="check: checks and batches; analyze: query, report, preview.",
    )

    class Meta(AbstractAPIKey.Meta):
        verbose_name = "API key"
        verbose_name_plural = "API keys"


class TokenHolderQuerySet(models.QuerySet["TokenHolder"]):
    """Users who hold a DRF token; deleting them deletes their tokens, never the users."""

    def delete(self) -> tuple[int, dict[str, int]]:
        """Delete these users' tokens; return what was deleted, as ``QuerySet.delete`` does."""
        return Token.objects.filter(user__in=self.values("pk")).delete()


class TokenHolder(User):
    """A user who holds a DRF token: how the admin shows a token, by whose it is.

    A token's primary key is its key, so an admin of tokens puts the key in
    its URLs, titles and log; this proxy's is the user's id. Deleting one
    deletes the token and keeps the user.
    """

    objects = models.Manager.from_queryset(TokenHolderQuerySet)()

    class Meta:
        proxy = True
        verbose_name = "token"
        verbose_name_plural = "tokens"
        default_permissions = ("view", "delete")

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        """Delete the user's token and keep the user."""
        return Token.objects.filter(user_id=self.pk).delete()
