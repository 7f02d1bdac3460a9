"""The decision log's daily partitions on PostgreSQL: made ahead, listed, dropped whole.

On PostgreSQL, ``decisions_decision`` and its trigger-kept side table
``decisions_decisionoutcome`` are both partitioned by range of
``decided_at``, one partition a UTC day, with the same bounds and names
(``<table>_p20261207``), so a day's outcome rows live beside its decisions
and leave with them. Each also has a DEFAULT partition for a time no day
covers, and, where migration 0004 found decisions, a ``_legacy`` partition
holding them (up to the day after the newest). SQLite keeps one table: every
function here does nothing there.

Why a day: at 1,000 checks a second the log grows by 86 million rows a day.
A month would be 2.6 billion rows a partition, kept up to a month past the
retention, and purging its boundary month row by row is the very DELETE that
partitions are meant to replace; a day keeps 90 days of retention in about
95 partitions, which pruning reads no more of than a query's time range needs.
"""

import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from django.db import DatabaseError, IntegrityError, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

DECISIONS = "decisions_decision"
OUTCOMES = "decisions_decisionoutcome"
TABLES = (DECISIONS, OUTCOMES)
DAY = timedelta(days=1)
# How long a DDL statement waits for its lock on the log: creating or dropping a
# partition takes an ACCESS EXCLUSIVE lock on the parent, and a request for it that
# waits behind a long query would make every check's INSERT wait behind it too.
LOCK_TIMEOUT = "5s"
logger = logging.getLogger(__name__)
_BOUNDS = re.compile(r"FROM \((MINVALUE|'[^']+')\) TO \('([^']+)'\)")


class PartitionError(Exception):
    """A partition could not be made or dropped; nothing of that day was changed."""


@dataclass(frozen=True)
class PartitionsMade:
    """What ``partitions_create`` did: the partitions it made, and the days it could not.

    A day is ``stranded`` when the DEFAULT partition already holds decisions
    of it (nothing made partitions for it in time): it stays there, and the
    purge deletes its decisions row by row.
    """

    made: list[str] = field(default_factory=list)
    stranded: list[date] = field(default_factory=list)


@dataclass(frozen=True)
class Partition:
    """A range partition of the decisions, and the rows PostgreSQL's statistics estimate.

    ``suffix`` names it and its outcome rows' partition (``p20261207`` or
    ``legacy``); it holds from ``start`` (``None``: any time before) up to
    ``end``, excluded.
    """

    suffix: str
    start: datetime | None
    end: datetime
    estimated_rows: int

    @property
    def name(self) -> str:
        """Return the decisions partition's table name."""
        return f"{DECISIONS}_{self.suffix}"


def is_partitioned(connection: BaseDatabaseWrapper) -> bool:
    """Return whether *connection*'s decisions table is partitioned (PostgreSQL, 0004 on)."""
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", [DECISIONS])
        row = cursor.fetchone()
    return row is not None and row[0] == "p"


def day_suffix(day: date) -> str:
    """Return the name suffix of *day*'s partitions."""
    return f"p{day:%Y%m%d}"


def partitions_create(
    connection: BaseDatabaseWrapper, *, ahead: int, today: date | None = None
) -> PartitionsMade:
    """Make the partitions of *today* (UTC) and the *ahead* days after it, those missing.

    A day that has its partitions, or that another partition covers (the
    legacy one), is left alone, so running it again makes nothing. Each
    day's two partitions are made in one transaction. A day whose decisions
    the DEFAULT partition already holds is stranded (logged, and the next
    days still made). Raises ``PartitionError`` when a day's lock was not had
    within ``LOCK_TIMEOUT`` or PostgreSQL refused it otherwise.
    """
    result = PartitionsMade()
    if not is_partitioned(connection):
        return result
    first = today if today is not None else datetime.now(UTC).date()
    existing = partitions_list(connection)
    for offset in range(ahead + 1):
        day = first + timedelta(days=offset)
        suffix = day_suffix(day)
        start = datetime.combine(day, time.min, tzinfo=UTC)
        if any(_overlaps(partition, start, start + DAY) for partition in existing):
            continue
        try:
            with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
                cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
                for table in TABLES:
                    # Only our own table names are formatted in; the bounds are parameters.
                    cursor.execute(
                        f"CREATE TABLE {table}_{suffix} PARTITION OF {table} "
                        "FOR VALUES FROM (%s) TO (%s)",
                        [start, start + DAY],
                    )
        except IntegrityError:
            logger.warning("decisions of a day are in the default partition", extra={"day": day})
            result.stranded.append(day)
            continue
        except DatabaseError as error:
            raise PartitionError(f"could not make the partitions of {day}: {error}") from error
        result.made.append(f"{DECISIONS}_{suffix}")
    return result


def partitions_list(connection: BaseDatabaseWrapper) -> list[Partition]:
    """Return the range partitions of the decisions, oldest first (not the DEFAULT one)."""
    if not is_partitioned(connection):
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT child.relname, pg_get_expr(child.relpartbound, child.oid), child.reltuples
            FROM pg_inherits
            JOIN pg_class AS child ON child.oid = pg_inherits.inhrelid
            WHERE pg_inherits.inhparent = %s::regclass
            """,
            [DECISIONS],
        )
        rows = cursor.fetchall()
    partitions = []
    for name, bound, tuples in rows:
        bounds = _BOUNDS.search(bound)
        if bounds is None:
            continue
        lower, upper = bounds.groups()
        partitions.append(
            Partition(
                name.removeprefix(f"{DECISIONS}_"),
                None if lower == "MINVALUE" else _moment(lower.strip("'")),
                _moment(upper),
                max(int(tuples), 0),
            )
        )
    return sorted(partitions, key=lambda partition: partition.end)


def _moment(text: str) -> datetime:
    """Return the time of a partition bound as PostgreSQL writes it, in UTC."""
    return datetime.fromisoformat(text).astimezone(UTC)


def _overlaps(partition: Partition, start: datetime, end: datetime) -> bool:
    """Return whether *partition* holds any time from *start* up to *end*."""
    return (partition.start is None or partition.start < end) and start < partition.end


def partition_drop(connection: BaseDatabaseWrapper, partition: Partition) -> None:
    """Detach and drop *partition* and its outcome rows' partition, in one transaction.

    No row is deleted one by one, and no DELETE trigger runs: the outcome
    rows of those decisions are exactly the other partition's, which has the
    same bounds. Raises ``PartitionError`` when the lock was not had within
    ``LOCK_TIMEOUT``; then nothing changed.
    """
    try:
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
            for table in TABLES:
                cursor.execute(f"ALTER TABLE {table} DETACH PARTITION {table}_{partition.suffix}")
            cursor.execute(
                f"DROP TABLE {DECISIONS}_{partition.suffix}, {OUTCOMES}_{partition.suffix}"
            )
    except DatabaseError as error:
        raise PartitionError(f"could not drop {partition.name}: {error}") from error
