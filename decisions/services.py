"""Writing decisions: who the caller is, and every check of a request in one statement."""

import io
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DatabaseError, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone

from api.sqlite_writes import write_turn
from decisions.models import Decision
from decisions.partitions import partition_drop, partitions_list

ALL = "all"
FAILED = "failed"
OFF = "off"
# The columns _insert writes, in its order: what a request's decisions share,
# then each order's own. The id is the database's.
COLUMNS = (
    *("decided_at", "caller", "request_id", "ruleset", "ruleset_version", "rules", "fail_fast"),
    *("order_id", "snapshot", "results", "outcomes"),
    "passed",
)
# Decisions deleted per transaction by purge_decisions: a short lock, a small WAL.
PURGE_BATCH_SIZE = 10_000
# The JSON fields' encoder (DjangoJSONEncoder: decimals, times), without the spaces.
_JSON = DjangoJSONEncoder(separators=(",", ":"))
# orjson writes the same JSON ten times faster; what it does not know (decimals,
# and times, passed through) it asks DjangoJSONEncoder for.
_ORJSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME
# The INSERT of each database vendor, made once: see _statement.
_STATEMENTS: dict[str, tuple[str, str, str]] = {}
# COPY's text format: a tab between columns, a newline after each row, NULL as \N, and
# in a value a backslash, tab, newline or carriage return escaped (the backslash first).
_COPY_ESCAPES = (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r"))
_COPY_NULL = "\\N"


@dataclass(frozen=True, slots=True)
class DecisionEntry:
    """One order's check to put on the record: the order as the rules read it, and the results.

    ``order_id`` is ``None`` for an ad-hoc order; ``snapshot`` holds its
    facts as JSON values by path (``orders.facts.snapshot``). ``results``
    holds one plain dict per rule: ``rule`` (its key), ``name``, ``params``,
    ``outcome``, ``severity``, ``message`` and ``facts``.
    """

    order_id: int | None
    snapshot: dict[str, Any]
    results: list[dict[str, Any]]
    passed: bool


@dataclass(frozen=True, slots=True)
class DecisionSource:
    """What the checks of one request were asked for, and by whom.

    A check of a rule set gives its ``ruleset`` name and ``ruleset_version``;
    a check of listed rules gives them as ``rules`` (each ``name``,
    ``params``, ``as``, ``severity``, and ``stored``: a stored condition
    rule as it was, else ``None``).
    """

    caller: str
    request_id: str
    fail_fast: bool
    ruleset: str = ""
    ruleset_version: int | None = None
    rules: list[dict[str, Any]] | None = None


class DecisionLogTooLargeError(Exception):
    """The checks of one request would put more bytes on the record than allowed.

    Raised before anything is written. ``size`` is the JSON the decisions
    would hold (``results``, ``outcomes`` and the listed ``rules``, which
    every decision repeats), ``limit`` is ``DECISION_LOG_MAX_BYTES``.
    """

    def __init__(self, size: int, limit: int) -> None:
        """Record the bytes the decisions would take and the limit."""
        self.size, self.limit = size, limit
        super().__init__(size, limit)


def decision_log_enabled() -> bool:
    """Return whether ``DECISION_LOG`` keeps any check (it is not ``off``)."""
    return settings.DECISION_LOG != OFF


def decisions_record(
    *, source: DecisionSource, entries: Sequence[DecisionEntry]
) -> list[int | None]:
    """Store *entries*, the checks of one request, in one statement; return their ids.

    ``DECISION_LOG`` decides which are kept: ``all``, ``failed`` (the checks
    that did not pass) or ``off``; an entry left out has the id ``None``.
    The decisions share one time and *source*. One statement is atomic in
    autocommit, so they are stored, all or none, once this returns. Raises
    ``DecisionLogTooLargeError``, having written nothing, when their JSON
    would be over ``DECISION_LOG_MAX_BYTES``. With ``all``, each entry is
    read once, as it is written: *entries* may make each when it is read.
    """
    mode = settings.DECISION_LOG
    if mode == ALL:
        return list(_insert(source, entries)) if entries else []
    entries = list(entries)
    kept = [mode == FAILED and not entry.passed for entry in entries]
    if not any(kept):
        return [None] * len(entries)
    ids = iter(_insert(source, [entry for entry, keep in zip(entries, kept, strict=True) if keep]))
    return [next(ids) if keep else None for keep in kept]


@dataclass(frozen=True, slots=True)
class Purged:
    """One step of a purge: a batch of decisions deleted, or a whole partition dropped.

    For a dropped partition, ``partition`` is its table and ``count`` the
    rows PostgreSQL's statistics estimate it held (counting them would read
    it all).
    """

    count: int
    partition: str = ""


def decisions_purge(*, before: datetime, batch_size: int = PURGE_BATCH_SIZE) -> Iterator[Purged]:
    """Remove the decisions made before *before*, oldest first; yield each step.

    On PostgreSQL each daily partition that ends by *before* is detached and
    dropped whole, with its outcome rows' partition (``decisions.partitions``;
    ``PartitionError`` if its lock is not had in time). What is left (the
    rows of the partition *before* falls in, and of the DEFAULT one) is
    deleted in batches: each of at most *batch_size* is one DELETE in its
    own short transaction (autocommit), chosen through the index on
    ``decided_at``, so checks keep writing between batches and nothing is
    locked for long. The last batch is the first that deletes fewer than
    *batch_size*.
    """
    connection = connections[Decision.objects.db]
    for partition in partitions_list(connection):
        if partition.end <= before:
            partition_drop(connection, partition)
            yield Purged(partition.estimated_rows, partition.name)
    for deleted in decisions_delete(before=before, batch_size=batch_size):
        yield Purged(deleted)


def decisions_delete(*, before: datetime, batch_size: int = PURGE_BATCH_SIZE) -> Iterator[int]:
    """Delete the decisions made before *before* row by row, in batches; yield each count.

    What ``decisions_purge`` does with the rows no partition drop removes;
    ``bench/partitions.py`` times it against the drop.
    """
    while True:
        oldest = Decision.objects.filter(decided_at__lt=before).order_by("decided_at", "id")
        deleted, _ = Decision.objects.filter(pk__in=oldest.values("pk")[:batch_size]).delete()
        if deleted:
            yield deleted
        if deleted < batch_size:
            return


def as_recorded(value: Any) -> Any:
    """Return *value* as the record gives it back: encoded to JSON and decoded again."""
    return json.loads(_encode(value))


def _encode(value: Any) -> bytes:
    """Return *value* as the JSON a JSON field of the record stores, in UTF-8.

    The text decodes to what DjangoJSONEncoder's would; an integer beyond 64
    bits, which orjson refuses, is encoded by DjangoJSONEncoder itself.
    """
    try:
        return orjson.dumps(value, default=_JSON.default, option=_ORJSON_OPTIONS)
    except TypeError:
        return _JSON.encode(value).encode()


def _insert(source: DecisionSource, entries: Sequence[DecisionEntry]) -> list[int]:
    """Write *entries* with one statement; return their ids, in the entries' order.

    A single check, and any request on SQLite, is one INSERT
    (``_insert_values``); a batch on PostgreSQL is one COPY (``_copy``),
    which PostgreSQL reads in about half the time of the same rows as an
    INSERT's VALUES, and begins to while the next rows are still being made
    (bench/results/2026-12-07-decision-log-cost.md). Either way one
    statement, atomic in autocommit. Times are adapted as the ORM adapts
    them, so the rows read back, and filter, exactly as if the ORM had
    written them; JSON goes as text made by the fields' encoder, which either
    database stores as JSON (psycopg2 would encode it again for every row).
    What all rows share is encoded once. The JSON is measured as it is made:
    over ``DECISION_LOG_MAX_BYTES`` raises ``DecisionLogTooLargeError``
    before the INSERT is sent, or during the COPY, which then stores nothing.
    """
    connection = connections[Decision.objects.db]
    rules = None if source.rules is None else _encode(source.rules)
    shared = (
        timezone.now(),
        source.caller,
        source.request_id,
        source.ruleset,
        source.ruleset_version,
        None if rules is None else rules.decode(),
        source.fail_fast,
    )
    rows = _rows(entries, shared_size=(0 if rules is None else len(rules)) * len(entries))
    if connection.vendor == "postgresql" and len(entries) > 1:
        return _copy(connection, shared, rows, len(entries))
    return _insert_values(connection, shared, list(rows))


def _rows(
    entries: Iterable[DecisionEntry], *, shared_size: int
) -> Iterator[tuple[int | None, str, str, str, bool]]:
    """Yield each entry's own values (order id, three JSON texts, verdict), as it is read.

    Raises ``DecisionLogTooLargeError`` once the JSON, *shared_size* bytes of
    it shared, is over ``DECISION_LOG_MAX_BYTES``: at the entry that takes it
    over, having measured the rest without yielding them, so that the error
    names the size of them all.
    """
    limit, size = settings.DECISION_LOG_MAX_BYTES, shared_size
    for entry in entries:
        snapshot = _encode(entry.snapshot)
        results = _encode(entry.results)
        outcomes = _encode({result["rule"]: result["outcome"] for result in entry.results})
        size += len(snapshot) + len(results) + len(outcomes)
        if size <= limit:
            yield (
                entry.order_id,
                snapshot.decode(),
                results.decode(),
                outcomes.decode(),
                entry.passed,
            )
    if size > limit:
        raise DecisionLogTooLargeError(size, limit)


def _insert_values(
    connection: BaseDatabaseWrapper, shared: tuple[Any, ...], rows: Sequence[tuple[Any, ...]]
) -> list[int]:
    """INSERT *rows*, each after what they *shared*, in one statement; return their ids.

    The ORM's ``bulk_create`` splits rows into statements of at most 999
    parameters on SQLite (66 decisions); one statement keeps a batch atomic.
    """
    adapted = (connection.ops.adapt_datetimefield_value(shared[0]), *shared[1:])
    params: list[Any] = []
    for row in rows:
        params.extend(adapted)
        params.extend(row)
    insert, values, returning = _statement(connection)
    # On SQLite the statement waits its turn among the workers (api.sqlite_writes).
    with write_turn(connection), connection.cursor() as cursor:
        cursor.execute(f"{insert} VALUES {', '.join([values] * len(rows))} {returning}", params)
        # One statement numbers its rows in order, but RETURNING may list them in any.
        return sorted(row_id for (row_id,) in cursor.fetchall())


def _copy(
    connection: BaseDatabaseWrapper,
    shared: tuple[Any, ...],
    rows: Iterator[tuple[int | None, str, str, str, bool]],
    count: int,
) -> list[int]:
    """COPY the *count* *rows*, each after what they *shared*, into PostgreSQL; return their ids.

    COPY returns no ids, so the rows' ids are taken from the table's
    sequence first (one query), in order, and written with them: the ids
    ascend in the rows' order, as an INSERT's do. The rows are made as
    PostgreSQL reads them (``_CopyLines``), so it stores the first while the
    next are made. An error in making one (``DecisionLogTooLargeError``)
    ends the COPY, which stores nothing, and is raised; the COPY runs in a
    transaction (a savepoint within the caller's), so that nothing else is
    rolled back with it. The trigger that indexes the rules that did not
    pass runs for each row, as for an INSERT.
    """
    quote = connection.ops.quote_name
    table, pk = Decision._meta.db_table, Decision._meta.pk.column
    columns = ", ".join(quote(Decision._meta.get_field(name).column) for name in ("id", *COLUMNS))
    head = "\t".join(_copy_value(value) for value in shared)
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(sequence) "
            "FROM (SELECT pg_get_serial_sequence(%s, %s)::regclass AS sequence) AS serial, "
            "generate_series(1, %s)",
            [quote(table), pk, count],
        )
        ids = sorted(row_id for (row_id,) in cursor.fetchall())
        lines = _CopyLines(
            f"{row_id}\t{head}\t{_copy_row(row)}\n" for row_id, row in zip(ids, rows, strict=True)
        )
        try:
            # Only the model's own names are formatted in; the rows are COPY's data.
            with connection.wrap_database_errors:
                cursor.cursor.copy_expert(f"COPY {quote(table)} ({columns}) FROM STDIN", lines)
        except DatabaseError:
            # psycopg2 ends the COPY on an error in read() and raises its own.
            if lines.error is not None:
                raise lines.error from None
            raise
    return ids


class _CopyLines(io.TextIOBase):
    """COPY's data as psycopg2 reads it: lines made when it asks for more.

    ``error`` keeps what making a line raised, which psycopg2 replaces
    with an error of its own when it ends the COPY.
    """

    def __init__(self, lines: Iterator[str]) -> None:
        """Read from *lines*, each ending with its newline."""
        super().__init__()
        self._lines = lines
        self.error: Exception | None = None

    def read(self, size: int | None = -1) -> str:
        """Return whole lines, at least *size* characters of them unless they run out."""
        chunk: list[str] = []
        length = 0
        try:
            for line in self._lines:
                chunk.append(line)
                length += len(line)
                if size is not None and 0 <= size <= length:
                    break
        except Exception as error:
            self.error = error
            raise
        return "".join(chunk)


def _copy_row(row: tuple[int | None, str, str, str, bool]) -> str:
    """Return an entry's own values (order id, three JSON texts, verdict) as a COPY line's."""
    order_id, snapshot, results, outcomes, passed = row
    return "\t".join(
        (
            _COPY_NULL if order_id is None else str(order_id),
            _copy_text(snapshot),
            _copy_text(results),
            _copy_text(outcomes),
            "t" if passed else "f",
        )
    )


def _copy_value(value: Any) -> str:
    """Return *value* (``None``, a bool, a number, a time or text) as COPY's text format."""
    if value is None:
        return _COPY_NULL
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime):
        return value.isoformat()
    return _copy_text(str(value))


def _copy_text(text: str) -> str:
    """Return *text* with what COPY's text format escapes escaped."""
    for character, escaped in _COPY_ESCAPES:
        if character in text:
            text = text.replace(character, escaped)
    return text


def _statement(connection: BaseDatabaseWrapper) -> tuple[str, str, str]:
    """Return the INSERT for *connection*'s database in three parts: head, one row, tail."""
    statement = _STATEMENTS.get(connection.vendor)
    if statement is None:
        quote = connection.ops.quote_name
        columns = ", ".join(quote(Decision._meta.get_field(name).column) for name in COLUMNS)
        # Only the model's own names are formatted in; every value is a bound parameter.
        statement = _STATEMENTS[connection.vendor] = (
            f"INSERT INTO {quote(Decision._meta.db_table)} ({columns})",
            f"({', '.join(['%s'] * len(COLUMNS))})",
            f"RETURNING {quote(Decision._meta.pk.column)}",
        )
    return statement
