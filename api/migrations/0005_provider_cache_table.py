"""The providers' cache table (``CACHES["providers"]``), for databases migrated before it."""

from django.core.management import call_command
from django.db import migrations


def create_cache_tables(apps, schema_editor):
    """Make the table of every database cache in ``CACHES``, unless it exists."""
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = [("api", "0004_tokenholder")]

    operations = [migrations.RunPython(create_cache_tables, migrations.RunPython.noop)]
