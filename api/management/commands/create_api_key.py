"""``manage.py create_api_key NAME --scopes check,analyze [--expires ISO]``."""

from argparse import ArgumentParser
from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from api.models import ClientKey, Scope


def _scopes(text: str) -> list[str]:
    """Return the scopes of a comma list; raise ``CommandError`` for an unknown one."""
    scopes = list(dict.fromkeys(scope.strip() for scope in text.split(",") if scope.strip()))
    unknown = [scope for scope in scopes if scope not in Scope.values]
    if unknown or not scopes:
        raise CommandError(f"--scopes takes a comma list of: {', '.join(Scope.values)}.")
    return scopes


def _expiry(text: str) -> datetime:
    """Return the ISO 8601 date-time *text* (in ``TIME_ZONE`` without an offset)."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise CommandError(f"--expires is not an ISO 8601 date-time: {text!r}.") from None
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    if moment <= timezone.now():
        raise CommandError("--expires is in the past.")
    return moment


class Command(BaseCommand):
    """Make an API key for a client system and print it, once, on the last line."""

    help = (
        "Make an API key with scopes (check, analyze) and an optional expiry. The key is "
        "printed alone on the last line and never shown again: only its hash is stored."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        """Declare the name, the scopes and the expiry."""
        parser.add_argument("name", help="Who the key is for, e.g. 'checkout' (50 characters).")
        parser.add_argument(
            "--scopes", required=True, help="Comma list of scopes: check, analyze."
        )
        parser.add_argument(
            "--expires", help="ISO 8601 date-time after which the key no longer works."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        """Make the key and print it."""
        name = options["name"].strip()
        if not name or len(name) > ClientKey._meta.get_field("name").max_length:
            raise CommandError("NAME must be 1 to 50 characters.")
        scopes = _scopes(options["scopes"])
        expiry = _expiry(options["expires"]) if options["expires"] else None
        client_key, key = ClientKey.objects.create_key(
            name=name, scopes=scopes, expiry_date=expiry
        )
        expires = f", expires {expiry.isoformat()}" if expiry else ""
        self.stdout.write(
            f"API key {name!r} (prefix {client_key.prefix}, scopes {', '.join(scopes)}{expires}). "
            "Store it now: it is not shown again."
        )
        self.stdout.write(key)
