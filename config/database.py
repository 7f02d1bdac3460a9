"""The served processes' database connections: how long one statement may run."""

from typing import Any

from django.conf import settings
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.signals import connection_created


def limit_statement_time() -> None:
    """Give every new PostgreSQL connection of this process ``CHECK_STATEMENT_TIMEOUT_MS``.

    Checks and every other request's statements run under it; queries over
    stored orders raise it for their own transaction
    (``ANALYZE_STATEMENT_TIMEOUT_MS``). A statement that runs out is
    cancelled and answered 503 ``query_timeout``; the connection stays usable.
    """
    connection_created.connect(_set_statement_timeout, dispatch_uid="statement_timeout")


def _set_statement_timeout(sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    """Set the statement timeout of a new PostgreSQL *connection*."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SET statement_timeout = %s", [settings.CHECK_STATEMENT_TIMEOUT_MS])
