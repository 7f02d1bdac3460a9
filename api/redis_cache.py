"""Django's Redis cache, with one Redis client per process instead of one per operation.

Django's ``RedisCache`` keeps a connection pool per server, but makes a new
``redis.Redis`` client around it for every operation, and redis-py 8's
constructor copies its ~170 response callbacks each time: about a third of
a cached provider read (``bench/results/2026-12-07-providers.md``). A client
is safe to share (its connections come from the pool), so this one keeps
one per pool, made again in a forked process. Settings use it for both
aliases when ``REDIS_URL`` is set: the throttles' (``default``) and the
providers' answers (``providers``).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from django.core.cache.backends.redis import RedisCache, RedisCacheClient

if TYPE_CHECKING:
    import redis


class ReusedClientRedisCacheClient(RedisCacheClient):
    """Django's Redis cache client, which reuses one ``redis.Redis`` per pool in a process."""

    def __init__(self, servers: list[str], **options: Any) -> None:
        """Make no client yet: each is made on first use."""
        super().__init__(servers, **options)
        self._pid = os.getpid()
        # By the pool's id, with the pool: the client around it.
        self._clients: dict[int, redis.Redis] = {}

    def get_client(self, key: str | None = None, *, write: bool = False) -> redis.Redis:
        """Return this process's client of the pool Django picks for *write* (or a read)."""
        pid = os.getpid()
        if pid != self._pid:  # a forked process: its own clients (and, redis-py's, pools)
            self._pid = pid
            self._clients = {}
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class ReusedClientRedisCache(RedisCache):
    """Django's ``RedisCache``, whose client reuses one ``redis.Redis`` per pool in a process."""

    def __init__(self, server: str | list[str], params: dict[str, Any]) -> None:
        """Set the cache up as Django does, with the client that reuses its ``redis.Redis``."""
        super().__init__(server, params)
        self._class = ReusedClientRedisCacheClient
