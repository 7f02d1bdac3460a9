"""A key's primary key becomes its public prefix: the library's held the key's hash.

Every existing key keeps working (a key is verified by its prefix and hash
columns, which do not change), and so does the admin's history of each key.
"""

from django.db import migrations
from django.db.models import F, Value
from django.db.models.functions import Concat


def _key_log(apps):
    """Return the admin's log entries of API keys (none before content types exist)."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    LogEntry = apps.get_model("admin", "LogEntry")
    content_type = ContentType.objects.filter(app_label="api", model="clientkey").first()
    return LogEntry.objects.filter(content_type=content_type) if content_type else None


def ids_to_prefixes(apps, schema_editor):
    """Make each key's primary key its prefix, in the admin's log too."""
    ClientKey = apps.get_model("api", "ClientKey")
    log = _key_log(apps)
    for old_id, prefix in ClientKey.objects.values_list("id", "prefix"):
        if log is not None:
            log.filter(object_id=old_id).update(object_id=prefix)
    ClientKey.objects.update(id=F("prefix"))


def prefixes_to_ids(apps, schema_editor):
    """Give each key its library primary key back: ``<prefix>.<hash>``."""
    ClientKey = apps.get_model("api", "ClientKey")
    ClientKey.objects.update(id=Concat("prefix", Value("."), "hashed_key"))
    log = _key_log(apps)
    for old_id, prefix in ClientKey.objects.values_list("id", "prefix"):
        if log is not None:
            log.filter(object_id=prefix).update(object_id=old_id)


class Migration(migrations.Migration):
    dependencies = [
        ("api", "0002_cache_table"),
        ("admin", "0003_logentry_add_action_flag_choices"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(ids_to_prefixes, prefixes_to_ids)]
