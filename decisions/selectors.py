"""Reading decisions, and how much room the decision log takes."""

from django.db import connections
from django.http import Http404

from decisions.models import Decision


def decision_get(pk: int) -> Decision:
    """Return the decision with id *pk*; raise ``Http404`` if there is none."""
    decision = Decision.objects.filter(pk=pk).first()
    if decision is None:
        raise Http404(f"Decision with id {pk} does not exist.")
    return decision


def decision_log_size() -> int:
    """Return the bytes the decision log takes in the database, cheaply enough for a scrape.

    On PostgreSQL that is the decisions table with its indexes and TOAST
    (``pg_total_relation_size``). SQLite can size one table only by reading
    every page of it (``dbstat``, where it is built in at all), so there it
    is the whole database file, which the decisions fill: its pages x their
    size.
    """
    connection = connections[Decision.objects.db]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_total_relation_size(%s)", [Decision._meta.db_table])
        else:
            cursor.execute(
                "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()"
            )
        return int(cursor.fetchone()[0])
