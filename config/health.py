"""Readiness of the database: it is there, it holds the schema the code expects, it has room.

And whether the read replica, if there is one, answers.
"""

import functools
import logging
import shutil
from http import HTTPStatus
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.db import DatabaseError, connection, connections
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder
from rest_framework.exceptions import APIException

from api.errors import DatabaseUnavailableError
from config.replica import REPLICA
from orders.models import Order

logger = logging.getLogger(__name__)


class MigrationsPendingError(APIException):
    """The database lacks migrations that the code has: ``migrate`` has not run."""

    status_code = HTTPStatus.SERVICE_UNAVAILABLE
    default_detail = "The database schema is older than the code: migrations are pending."
    default_code = "migrations_pending"


class DiskLowError(APIException):
    """The database's volume has less free space than ``DISK_FREE_MIN_BYTES``."""

    status_code = HTTPStatus.SERVICE_UNAVAILABLE
    default_detail = (
        "The database's volume is nearly full (under DISK_FREE_MIN_BYTES free): "
        "free space or grow the volume."
    )
    default_code = "disk_low"


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
    if sqlite_file_missing():
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


def check_disk() -> None:
    """Raise ``DiskLowError`` when the SQLite file's volume is short of free space.

    Short is under ``DISK_FREE_MIN_BYTES``, free to an unprivileged process.
    Writes would soon fail (503 ``database_unavailable``); a replica that
    says so is taken out of the load balancer first. On PostgreSQL the
    volume is the database server's, not ours to see: nothing is checked.
    """
    folder = database_folder()
    if folder is None:
        return
    try:
        free = shutil.disk_usage(folder).free
    except FileNotFoundError:  # no folder, no file: check_database says it is missing
        return
    floor = settings.DISK_FREE_MIN_BYTES
    if free < floor:
        logger.warning("disk low", extra={"free_bytes": free, "min_bytes": floor})
        raise DiskLowError


def database_folder() -> Path | None:
    """Return the folder of the SQLite database file, or ``None``.

    ``None`` for PostgreSQL, whose files are the server's, and for a SQLite
    database in memory.
    """
    if connection.vendor != "sqlite" or connection.is_in_memory_db():
        return None
    name = str(connection.settings_dict["NAME"])
    return Path(urlsplit(name).path if name.startswith("file:") else name).parent


def sqlite_file_missing() -> bool:
    """Return whether the database is a SQLite file that is not there.

    Checked before the connection is touched: opening a missing SQLite file
    creates an empty one.
    """
    if connection.vendor != "sqlite" or connection.is_in_memory_db():
        return False
    name = str(connection.settings_dict["NAME"])
    # A file: URI is left to SQLite: its mode=rw refuses a missing file.
    return not name.startswith("file:") and not Path(name).is_file()


def replica_state() -> str | None:
    """Return ``ok`` when the read replica answers a query, ``unavailable`` when it does not.

    ``None`` without a replica. Never a 503: checks do not read the replica,
    so a replica that is down must not take this process out of the load
    balancer; analysis answers 503 ``database_unavailable`` meanwhile. A
    replica that does not answer at all holds the answer up to
    ``DATABASE_CONNECT_TIMEOUT``.
    """
    if REPLICA not in settings.DATABASES:
        return None
    replica = connections[REPLICA]
    try:
        with replica.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        logger.warning("replica unavailable", exc_info=True)
        replica.close()
        return "unavailable"
    return "ok"
