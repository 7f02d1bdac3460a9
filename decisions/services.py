"""Writing decisions: who the caller is, and every check of a request in one INSERT."""

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone

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
    """Store *entries*, the checks of one request, in one INSERT; return their ids.

    ``DECISION_LOG`` decides which are kept: ``all``, ``failed`` (the checks
    that did not pass) or ``off``; an entry left out has the id ``None``.
    The decisions share one time and *source*. One statement is atomic in
    autocommit, so they are stored, all or none, once this returns. Raises
    ``DecisionLogTooLargeError``, having written nothing, when their JSON
    would be over ``DECISION_LOG_MAX_BYTES``.
    """
    mode = settings.DECISION_LOG
    kept = [mode == ALL or (mode == FAILED and not entry.passed) for entry in entries]
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
    """INSERT *entries* with one statement; return their ids, in the entries' order.

    The ORM's ``bulk_create`` splits rows into statements of at most 999
    parameters on SQLite (66 decisions); one statement keeps a batch atomic
    in autocommit, and cheap. Times are adapted by the database's own
    operations, as the ORM adapts them, so the rows read back, and filter,
    exactly as if the ORM had written them; JSON goes as text made by
    the fields' encoder, which either database stores as JSON (psycopg2 would
    encode it again for every row). What all rows share is adapted once. The
    JSON is measured as it is made: over ``DECISION_LOG_MAX_BYTES`` raises
    ``DecisionLogTooLargeError`` before the statement runs.
    """
    connection = connections[Decision.objects.db]
    ops = connection.ops
    rules = None if source.rules is None else _encode(source.rules)
    shared = (
        ops.adapt_datetimefield_value(timezone.now()),
        source.caller,
        source.request_id,
        source.ruleset,
        source.ruleset_version,
        None if rules is None else rules.decode(),
        source.fail_fast,
    )
    size = (0 if rules is None else len(rules)) * len(entries)
    params: list[Any] = []
    for entry in entries:
        snapshot = _encode(entry.snapshot)
        results = _encode(entry.results)
        outcomes = _encode({result["rule"]: result["outcome"] for result in entry.results})
        size += len(snapshot) + len(results) + len(outcomes)
        params.extend(shared)
        params.extend(
            (
                entry.order_id,
                snapshot.decode(),
                results.decode(),
                outcomes.decode(),
                entry.passed,
            )
        )
    if size > settings.DECISION_LOG_MAX_BYTES:
        raise DecisionLogTooLargeError(size, settings.DECISION_LOG_MAX_BYTES)
    insert, values, returning = _statement(connection)
    with connection.cursor() as cursor:
        cursor.execute(f"{insert} VALUES {', '.join([values] * len(entries))} {returning}", params)
        # One statement numbers its rows in order, but RETURNING may list them in any.
        return sorted(row_id for (row_id,) in cursor.fetchall())


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
