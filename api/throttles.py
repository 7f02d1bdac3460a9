"""Limits per caller: requests counted per fixed window in Django's cache.

Every worker and every replica counts in the same cache: the database's
(``DatabaseCache``) by default, Redis when ``REDIS_URL`` is set. A key or a
user has the rate of the view's scope (``THROTTLE_CHECK``,
``THROTTLE_ANALYZE``); an anonymous caller, by address, ``THROTTLE_ANONYMOUS``.
"""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING

from django.conf import settings
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


class CallerRateThrottle(SimpleRateThrottle):
    """Refuse a caller's requests past its rate, with a 429 and ``Retry-After``.

    A count per caller and fixed window (a minute for ``n/min``) costs one
    read and one write of a small integer, whatever the rate: DRF's own
    throttles keep a timestamp per request, thousands of them per write at
    the rates a checkout system needs. Two requests that read the count at
    the same moment may both count as one; a limit is a guard, not a bill.
    At a window's end the count starts again, so a caller may send up to
    twice its rate across one boundary. A Redis that does not answer counts
    nothing (logged) rather than refusing every request.
    """

    def __init__(self) -> None:
        """Leave the rate to ``allow_request``: it depends on the view and the caller."""

    def bucket(self, request: Request, view: APIView) -> tuple[str, str]:
        """Return the name of the caller's rate and the name of its count."""
        key = request.auth
        if isinstance(key, VerifiedKey):
            return view_scope(view), f"key:{key.prefix}"
        if request.user.is_authenticated:
            return view_scope(view), f"user:{request.user.pk}"
        return ANONYMOUS, f"address:{client_address(request)}"

    def get_rate(self) -> str | None:
        """Return the rate of ``self.scope`` from the settings; ``None`` is no limit."""
        return settings.THROTTLE_RATES[self.scope]

    def allow_request(self, request: Request, view: APIView) -> bool:
        """Count the request; return whether the caller is still within its rate."""
        self.scope, ident = self.bucket(request, view)
        self.rate = self.get_rate()
        if self.rate is None:
            return True
        self.num_requests, self.duration = self.parse_rate(self.rate)
        self.now = self.timer()
        self.key = f"throttle:{self.scope}:{ident}:{int(self.now // self.duration)}"
        try:
            count = self.cache.get(self.key, 0)
            if count >= self.num_requests:
                return False
            self.cache.set(self.key, count + 1, math.ceil(self.wait()))
        except (RedisConnectionError, RedisTimeoutError) as exc:
            logger.warning("throttle cache unavailable", extra={"error": str(exc)})
        return True

    def wait(self) -> float:
        """Return the seconds until the current window ends."""
        return self.duration - self.now % self.duration
