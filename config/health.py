"""Readiness of the database: it is there, and it holds the schema the code expects."""

import functools
import logging
from http import HTTPStatus
from pathlib import Path

from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder
from rest_framework.exceptions import APIException

from api.errors import DatabaseUnavailableError
from orders.models import Order

logger = logging.getLogger(__name__)


class MigrationsPendingError(APIException):
    """The database lacks migrations that the code has: ``migrate`` has not run."""

    status_code = HTTPStatus.SERVICE_UNAVAILABLE
    default_detail = "The database schema is older than the code: migrations are pending."
    default_code = "migrations_pending"


@functools.cache
def _code_migrations() -> frozenset[tuple[str, str]]:
    """Return every migration the code holds, as ``(app, name)``; read once per process."""
    return frozenset(MigrationLoader(None, ignore_no_migrations=True).graph.nodes)


def check_database() -> None:
    """Raise unless the database is there and holds every migration of the code.

    Raises ``DatabaseUnavailableError`` when a SQLite file is missing or the
    database holds no schema (no migrations table, or no orders table), and
    ``MigrationsPendingError`` when some of the code's migrations are not
    recorded; database errors propagate. Recorded migrations that the code
    does not know are fine: an older release still serves while the next
    one migrates. It never creates a SQLite file, and costs two small
    queries: the tables, and the migrations recorded.
    """
    if _sqlite_file_missing():
        logger.warning("database unavailable", extra={"cause": "the SQLite file is missing"})
        raise DatabaseUnavailableError
    recorder = MigrationRecorder(connection)
    with connection.cursor() as cursor:
        tables = set(connection.introspection.table_names(cursor))
    if not {recorder.Migration._meta.db_table, Order._meta.db_table} <= tables:
        logger.warning("database unavailable", extra={"cause": "the database holds no schema"})
        raise DatabaseUnavailableError
    recorded = set(recorder.migration_qs.values_list("app", "name"))
    pending = _code_migrations() - recorded
    if pending:
        names = sorted(f"{app}.{name}" for app, name in pending)
        logger.warning("migrations pending", extra={"migrations": names})
        raise MigrationsPendingError


def _sqlite_file_missing() -> bool:
    """Return whether the database is a SQLite file that is not there.

    Checked before the connection is touched: opening a missing SQLite file
    creates an empty one.
    """
    if connection.vendor != "sqlite" or connection.is_in_memory_db():
        return False
    name = str(connection.settings_dict["NAME"])
    # A file: URI is left to SQLite: its mode=rw refuses a missing file.
    return not name.startswith("file:") and not Path(name).is_file()
