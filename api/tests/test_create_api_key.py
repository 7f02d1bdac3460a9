"""``manage.py create_api_key``: a key with scopes and an expiry, printed once."""

from datetime import UTC, datetime
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from rest_framework.test import APIClient

from api.models import ClientKey

pytestmark = pytest.mark.django_db

QUERY = reverse("rules:rule-query")


def _create(*args: str) -> list[str]:
    out = StringIO()
    call_command("create_api_key", *args, stdout=out)
    return out.getvalue().splitlines()


def test_the_key_is_printed_alone_on_the_last_line_and_works():
    lines = _create("reports", "--scopes", "analyze")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {lines[-1]}")

    response = client.post(QUERY, {"rules": ["min_items_2"], "outcome": "failed"}, format="json")

    assert response.status_code == 200
    stored = ClientKey.objects.get()
    assert (stored.name, stored.scopes, stored.expiry_date) == ("reports", ["analyze"], None)
    assert lines[-1].startswith(f"{stored.prefix}.")
    assert lines[-1] not in stored.hashed_key
    assert stored.prefix in lines[0]


def test_scopes_and_an_expiry_are_stored():
    _create("checkout", "--scopes", "check, analyze,check", "--expires", "2999-01-01T00:00:00Z")

    stored = ClientKey.objects.get()
    assert stored.scopes == ["check", "analyze"]
    assert stored.expiry_date == datetime(2999, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["x", "--scopes", "check,admin"], "--scopes takes a comma list of: check, analyze."),
        (["x", "--scopes", ","], "--scopes takes a comma list of: check, analyze."),
        (["x", "--scopes", "check", "--expires", "soon"], "is not an ISO 8601 date-time"),
        (["x", "--scopes", "check", "--expires", "2001-01-01"], "--expires is in the past."),
        (["", "--scopes", "check"], "NAME must be 1 to 50 characters."),
        (["x" * 51, "--scopes", "check"], "NAME must be 1 to 50 characters."),
    ],
)
def test_bad_arguments_are_refused_and_make_no_key(args, message):
    with pytest.raises(CommandError, match=message):
        _create(*args)

    assert not ClientKey.objects.exists()
