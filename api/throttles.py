"""Limits per caller: requests counted per fixed window in Django's cache.

Every worker and every replica counts in the same cache: the database's by
default (``CountingDatabaseCache``: Django's ``DatabaseCache`` with an
increment that loses no count), Redis when ``REDIS_URL`` is set. A key or a
user has the rate of the view's scope (``THROTTLE_CHECK``,
``THROTTLE_ANALYZE``); an anonymous caller, by address, ``THROTTLE_ANONYMOUS``,
and so does a wrong key or token (``api.authentication``).
"""

from __future__ import annotations

import base64
import functools
import logging
import math
import pickle
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.cache.backends.db import DatabaseCache
from django.db import connections, router
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rest_framework.throttling import SimpleRateThrottle

from api.auth import client_address, view_scope
from api.models import VerifiedKey

if TYPE_CHECKING:
    from rest_framework.request import Request
    from rest_framework.views import APIView

logger = logging.getLogger(__name__)

# The rate of anonymous callers, whatever the view's scope.
ANONYMOUS = "anonymous"
# How often an increment of a count retries when other workers keep changing it.
INCREMENT_TRIES = 10


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
    them, so every other method works on them as before.
    """

    def incr(self, key: str, delta: int = 1, version: int | None = None) -> int:
        """Add *delta* to the number under *key* and return it.

        Raises ``ValueError`` when there is none, or it has expired. A count
        that other workers change at every one of its ``INCREMENT_TRIES``
        reads is returned without this increment.
        """
        key = self.make_and_validate_key(key, version=version)
        connection = connections[router.db_for_write(self.cache_model_class)]
        read, write = _counting_sql(self._table, connection.alias)
        with connection.cursor() as cursor:
            for _ in range(INCREMENT_TRIES):
                cursor.execute(read, [key])
                row = cursor.fetchone()
                if row is None:
                    raise ValueError(f"Key {key!r} not found.")
                stored = connection.ops.process_clob(row[0])
                # The value was written by this cache (Django's format): not outside data.
                value = pickle.loads(base64.b64decode(stored.encode())) + delta  # noqa: S301  # nosec B301
                pickled = pickle.dumps(value, self.pickle_protocol)
                cursor.execute(write, [base64.b64encode(pickled).decode("latin1"), key, stored])
                if cursor.rowcount:
                    break
        return value


@functools.cache
def _counting_sql(table: str, alias: str) -> tuple[str, str]:
    """Return the read and the conditional write of a count in the cache's *table*."""
    quote = connections[alias].ops.quote_name
    table, key, value, expires = (quote(name) for name in (table, "cache_key", "value", "expires"))
    # Only the cache's own names are formatted in; the values are bound parameters.
    read = f"SELECT {value} FROM {table} WHERE {key} = %s AND {expires} > CURRENT_TIMESTAMP"  # noqa: S608  # nosec B608
    write = f"UPDATE {table} SET {value} = %s WHERE {key} = %s AND {value} = %s"  # noqa: S608  # nosec B608
    return read, write


class CallerRateThrottle(SimpleRateThrottle):
    """Refuse a caller's requests past its rate, with a 429 and ``Retry-After``.

    A count per caller and fixed window (a minute for ``n/min``) is one
    increment of a small integer, whatever the rate: DRF's own throttles keep
    a timestamp per request, thousands of them per write at the rates a
    checkout system needs. The increment is atomic on Redis (``INCR``) and on
    the database (``CountingDatabaseCache``), so concurrent requests never
    pass a limit together. At a window's end the count starts again, so a
    caller may send up to twice its rate across one boundary. A Redis that
    does not answer counts nothing (logged) rather than refusing every request.
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
        try:
            return self._count() <= self.num_requests
        except (RedisConnectionError, RedisTimeoutError) as exc:
            logger.warning("throttle cache unavailable", extra={"error": str(exc)})
        return True

    def _count(self) -> int:
        """Count this request in the caller's window; return the window's count."""
        try:
            return self.cache.incr(self.key)
        except ValueError:  # the window's first request: its count expires with the window
            self.cache.add(self.key, 0, math.ceil(self.wait()))
            return self.cache.incr(self.key)

    def wait(self) -> float:
        """Return the seconds until the current window ends."""
        return self.duration - self.now % self.duration
