"""The API app's data migrations: existing rows come through them working."""

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse
from rest_framework.test import APIClient
from rest_framework_api_key.crypto import KeyGenerator

from api.models import ClientKey

BEFORE = [("api", "0002_cache_table")]
AFTER = [("api", "0003_clientkey_id_is_its_prefix")]


def _migrate(targets: list[tuple[str, str]]) -> MigrationExecutor:
    """Migrate the test database to *targets*; return the executor, its graph up to date."""
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor


@pytest.mark.django_db(transaction=True)
def test_a_key_made_before_its_id_became_its_prefix_still_authenticates(settings, admin_user):
    settings.ALLOW_ANONYMOUS_CHECKS = False
    executor = _migrate(BEFORE)
    old_key = executor.loader.project_state(BEFORE).apps.get_model("api", "ClientKey")
    key, prefix, hashed = KeyGenerator().generate()
    old_key.objects.create(
        id=f"{prefix}.{hashed}",
        prefix=prefix,
        hashed_key=hashed,
        name="checkout",
        scopes=["check"],
    )
    LogEntry.objects.create(
        user=admin_user,
        content_type=ContentType.objects.get_for_model(ClientKey),
        object_id=f"{prefix}.{hashed}",
        object_repr="checkout",
        action_flag=CHANGE,
    )

    _migrate(executor.loader.graph.leaf_nodes())
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    response = client.get(reverse("rules:rule-list"))

    assert response.status_code == 200
    assert ClientKey.objects.get().pk == prefix
    assert LogEntry.objects.get().object_id == prefix


@pytest.mark.django_db(transaction=True)
def test_the_prefix_migration_goes_back_to_the_librarys_ids(make_key):
    stored, _ = make_key("checkout", ["check"])

    executor = _migrate(BEFORE)
    back = executor.loader.project_state(BEFORE).apps.get_model("api", "ClientKey")
    ids = list(back.objects.values_list("id", flat=True))
    _migrate(executor.loader.graph.leaf_nodes())

    assert ids == [f"{stored.prefix}.{stored.hashed_key}"]
    assert ClientKey.objects.get().pk == stored.prefix
