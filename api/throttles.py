"""Limits per caller: requests counted per fixed window in Django's cache.

Every worker and every replica counts in the same cache, the throttle
store: the database's by default (``CountingDatabaseCache``: Django's
``DatabaseCache`` with an increment that loses no count and a cull that
keeps live counts), Redis when ``REDIS_URL`` is set. A key or a user has the
rate of the view's scope (``THROTTLE_CHECK``, ``THROTTLE_ANALYZE``); an
anonymous caller, by address, ``THROTTLE_ANONYMOUS``, and so does a wrong
key or token (``api.authentication``).

A store that fails lets the request through uncounted (fail open): counted
in ``rule_engine_throttle_store_errors_total``, logged once per failure,
never an error answer of its own (``use_store``).
"""

from __future__ import annotations

import base64
import functools
import logging
import math
import pickle
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, ClassVar, TypeVar

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.db import DatabaseCache
from django.core.cache.backends.redis import RedisCache
from django.db import DatabaseError, connections, router, transaction
from redis.exceptions import RedisError
from rest_framework.throttling import SimpleRateThrottle

from api import metrics
from api.auth import client_address, view_scope
from api.errors import discard_connections
from api.models import VerifiedKey
from api.sqlite_writes import write_turn

if TYPE_CHECKING:
    from datetime import datetime

    from django.core.cache.backends.base import BaseCache
    from django.db.backends.base.base import BaseDatabaseWrapper
    from django.db.backends.utils import CursorWrapper
    from rest_framework.request import Request
    from rest_framework.views import APIView

logger = logging.getLogger(__name__)

T = TypeVar("T")

# The rate of anonymous callers, whatever the view's scope.
ANONYMOUS = "anonymous"
# How often an increment of a count retries when other workers keep changing it.
INCREMENT_TRIES = 10
# A key that no count has: readiness asks the store whether it holds it.
PROBE_KEY = "throttle:probe"


class ThrottleStoreError(Exception):
    """The store took a window's first count without an error, yet does not hold it.

    Django's database cache swallows the error of a write it could not make
    (a read-only database, say): the count is then found missing.
    """


# What a throttle store raises when it cannot count: the database's errors,
# Redis's (refused, timed out, or an error reply), and a count it did not keep.
STORE_ERRORS = (DatabaseError, RedisError, ThrottleStoreError)


def throttle_scope(request: Request, view: APIView) -> str:
    """Return the rate a request is counted at: its view's scope, or ``anonymous``."""
    if isinstance(request.auth, VerifiedKey) or request.user.is_authenticated:
        return view_scope(view)
    return ANONYMOUS


class CountingDatabaseCache(DatabaseCache):
    """Django's database cache, with an ``incr`` of one read and one write that loses no count.

    Django's own ``incr`` is a ``get`` and a ``set``: five statements and a
    transaction, and two workers adding at once may both write the same
    number. This one reads the value and writes the next only where the row
    still holds what it read (compare and swap), else reads again; the row
    keeps the expiry that ``add`` gave it. Values are stored as Django stores
    them, so Django's other methods read and write them as their own.
    """

    def incr(self, key: str, delta: int = 1, version: int | None = None) -> int:
        """Add *delta* to the number under *key* and return it.

        Raises ``ValueError`` when there is none, or it has expired. A count
        that other workers change at every one of its ``INCREMENT_TRIES``
        reads is then incremented under a lock: a transaction that takes the
        row (PostgreSQL) or the database's write lock (SQLite's transactions
        are IMMEDIATE) before it reads, so no increment is ever lost.
        """
        key = self.make_and_validate_key(key, version=version)
        connection = connections[router.db_for_write(self.cache_model_class)]
        read, write = _counting_sql(self._table, connection.alias)
        with connection.cursor() as cursor:
            for _ in range(INCREMENT_TRIES):
                value, written = self._increment(cursor, connection, read, write, key, delta)
                if written:
                    return value
        lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            # Under the lock no other writer can change the count in between.
            value, _ = self._increment(cursor, connection, read + lock, write, key, delta)
        return value

    def _increment(
        self,
        cursor: CursorWrapper,
        connection: BaseDatabaseWrapper,
        read: str,
        write: str,
        key: str,
        delta: int,
    ) -> tuple[int, bool]:
        """Read the count under *key* and write it plus *delta* where it is unchanged.

        Return the new count and whether it was written: not when another
        writer changed the count between the read and the write. Raises
        ``ValueError`` when there is no count, or it has expired.
        """
        cursor.execute(read, [key])
        row = cursor.fetchone()
        if row is None:
            raise ValueError(f"Key {key!r} not found.")
        stored = connection.ops.process_clob(row[0])
        # The value was written by this cache (Django's format): not outside data.
        value = pickle.loads(base64.b64decode(stored.encode())) + delta  # noqa: S301  # nosec B301
        pickled = pickle.dumps(value, self.pickle_protocol)
        with write_turn(connection):
            cursor.execute(write, [base64.b64encode(pickled).decode("latin1"), key, stored])
        return value, bool(cursor.rowcount)

    def _cull(self, db: str, cursor: CursorWrapper, now: datetime, num: int) -> None:
        """Delete the expired rows, and only them: a live count is never removed.

        Django's own cull, past ``MAX_ENTRIES`` rows, goes on to delete a
        share of the live rows (``CULL_FREQUENCY``): a caller's count at its
        limit among them, which then started again from zero. Here the table
        holds at most the counts of the current windows.
        """
        connection = connections[db]
        table, expires = (connection.ops.quote_name(name) for name in (self._table, "expires"))
        # Only the cache's own names are formatted in; the time is a bound parameter.
        cursor.execute(
            f"DELETE FROM {table} WHERE {expires} < %s",  # noqa: S608  # nosec B608
            [connection.ops.adapt_datetimefield_value(now)],
        )


@functools.cache
def _counting_sql(table: str, alias: str) -> tuple[str, str]:
    """Return the read and the conditional write of a count in the cache's *table*."""
    quote = connections[alias].ops.quote_name
    table, key, value, expires = (quote(name) for name in (table, "cache_key", "value", "expires"))
    # Only the cache's own names are formatted in; the values are bound parameters.
    read = f"SELECT {value} FROM {table} WHERE {key} = %s AND {expires} > CURRENT_TIMESTAMP"  # noqa: S608  # nosec B608
    write = f"UPDATE {table} SET {value} = %s WHERE {key} = %s AND {value} = %s"  # noqa: S608  # nosec B608
    return read, write


class StoreBreaker:
    """Leave a Redis that failed alone for a while, in this process.

    A Redis that accepts connections and never answers costs a request its
    socket timeout (``REDIS_TIMEOUT_MS``). After a failure, nothing is asked
    of it for ``seconds``; then the next request tries it again. Each Redis
    (by its ``LOCATION``) has its own period. A failing database is not left
    alone: its errors come at once, or (a lock held) hold up the request's
    own writes as well.
    """

    seconds: ClassVar[float] = 5.0
    clock: ClassVar[Callable[[], float]] = time.monotonic

    def __init__(self) -> None:
        """Start with every store in use."""
        self._retry_at: dict[str, float] = {}

    def is_open(self, location: str) -> bool:
        """Return whether the store at *location* is being left alone."""
        return self.clock() < self._retry_at.get(location, 0.0)

    def trip(self, location: str) -> None:
        """Leave the store at *location* alone for ``seconds`` from now."""
        self._retry_at[location] = self.clock() + self.seconds


_breaker = StoreBreaker()


def use_store(operation: Callable[[BaseCache], T]) -> T | None:
    """Return what *operation* returns on the throttle store, or ``None`` when it fails.

    The policy for a store that fails (a database cache table missing, a
    read-only or locked database, a Redis that refuses connections or never
    answers): the caller goes on without it. Each failure is counted in
    ``rule_engine_throttle_store_errors_total`` by store and logged once.
    A Redis that failed is then left alone for the ``StoreBreaker`` period,
    every operation meanwhile counted and not tried; a database connection
    that failed is closed (``discard_connections``).
    """
    cache = caches["default"]
    store = "redis" if isinstance(cache, RedisCache) else "database"
    location = str(settings.CACHES["default"].get("LOCATION", ""))
    if _breaker.is_open(location):
        metrics.count_throttle_store_error(store)
        return None
    try:
        with within_savepoint(cache):
            return operation(cache)
    except STORE_ERRORS as exc:
        metrics.count_throttle_store_error(store)
        logger.warning("throttle store unavailable", extra={"store": store, "error": str(exc)})
        if store == "redis":
            _breaker.trip(location)
        else:
            discard_connections()
    return None


def within_savepoint(cache: BaseCache) -> AbstractContextManager[object]:
    """Return a savepoint when *cache* is the database's and a transaction is open.

    On PostgreSQL a failed statement aborts the whole transaction it is in:
    the cache's failure must not fail the rest of the request. Outside a
    transaction (a request's throttles, readiness) there is nothing to keep.
    The providers' cache (``rules.fetching``) uses it too.
    """
    if isinstance(cache, DatabaseCache):
        alias = router.db_for_write(cache.cache_model_class)
        if connections[alias].in_atomic_block:
            return transaction.atomic(using=alias)
    return nullcontext()


def throttle_store_state() -> str:
    """Return ``ok`` when the throttle store answers a read, else ``unavailable``.

    One read of a key that no count has; none while a Redis that failed is
    left alone (``StoreBreaker``).
    """
    answered = use_store(lambda cache: cache.has_key(PROBE_KEY))
    return "unavailable" if answered is None else "ok"


class CallerRateThrottle(SimpleRateThrottle):
    """Refuse a caller's requests past its rate, with a 429 and ``Retry-After``.

    A count per caller and fixed window (a minute for ``n/min``) is one
    increment of a small integer, whatever the rate: DRF's own throttles keep
    a timestamp per request, thousands of them per write at the rates a
    checkout system needs. The increment is atomic on Redis (``INCR``) and on
    the database (``CountingDatabaseCache``), so concurrent requests never
    pass a limit together. At a window's end the count starts again, so a
    caller may send up to twice its rate across one boundary. A store that
    fails counts nothing and refuses nothing (``use_store``).
    """

    def __init__(self) -> None:
        """Leave the rate to ``allow_request``: it depends on the view and the caller."""

    def bucket(self, request: Request, view: APIView) -> tuple[str, str]:
        """Return the name of the caller's rate and the name of its count."""
        key = request.auth
        scope = throttle_scope(request, view)
        if isinstance(key, VerifiedKey):
            return scope, f"key:{key.prefix}"
        if request.user.is_authenticated:
            return scope, f"user:{request.user.pk}"
        return scope, f"address:{client_address(request)}"

    def get_rate(self) -> str | None:
        """Return the rate of ``self.scope`` from the settings; ``None`` is no limit."""
        return settings.THROTTLE_RATES[self.scope]

    def allow_request(self, request: Request, view: APIView) -> bool:
        """Count the request; return whether the caller is still within its rate."""
        return self._allow(*self.bucket(request, view))

    def allow_failure(self, request: Request) -> bool:
        """Count a failed authentication as an anonymous request of its address.

        Return whether the address is still within the anonymous rate. It
        reads no credential: authentication has not finished.
        """
        return self._allow(ANONYMOUS, f"address:{client_address(request)}")

    def _allow(self, scope: str, ident: str) -> bool:
        """Count a request of *ident* at the rate *scope*; return whether it is within it."""
        self.scope = scope
        self.rate = self.get_rate()
        if self.rate is None:
            return True
        self.num_requests, self.duration = self.parse_rate(self.rate)
        self.now = self.timer()
        self.key = f"throttle:{self.scope}:{ident}:{int(self.now // self.duration)}"
        count = use_store(self._count)
        return count is None or count <= self.num_requests

    def _count(self, cache: BaseCache) -> int:
        """Count this request in the caller's window in *cache*; return the window's count.

        Raises ``ThrottleStoreError`` when the window's first count, added
        without an error, is not there.
        """
        try:
            return cache.incr(self.key)
        except ValueError:  # the window's first request: its count expires with the window
            cache.add(self.key, 0, math.ceil(self.wait()))
        try:
            return cache.incr(self.key)
        except ValueError:
            raise ThrottleStoreError("the store did not keep the count") from None

    def wait(self) -> float:
        """Return the seconds until the current window ends."""
        return self.duration - self.now % self.duration
