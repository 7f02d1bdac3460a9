"""The Redis cache that reuses its client in each process (``api.redis_cache``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from api.redis_cache import ReusedClientRedisCache
from config.tests.servers import start_redis

pytestmark = pytest.mark.redis


@pytest.fixture
def cache(tmp_path: Path) -> Iterator[ReusedClientRedisCache]:
    """Yield the cache on a throw-away redis-server."""
    with start_redis(tmp_path) as server:
        yield ReusedClientRedisCache(server.url, {"KEY_PREFIX": "test"})


def test_every_operation_in_a_process_uses_the_same_client(cache, monkeypatch):
    made = []
    client_class = cache._cache._client
    monkeypatch.setattr(
        cache._cache, "_client", lambda **kwargs: made.append(1) or client_class(**kwargs)
    )

    cache.set("a", {"x": 1}, 60)
    cache.set_many({"b": 2, "c": (1.5, {"y": 3})}, 60)
    found = cache.get_many(["a", "b", "c", "d"])

    assert found == {"a": {"x": 1}, "b": 2, "c": (1.5, {"y": 3})}
    assert cache.incr("b") == 3
    assert len(made) == 1
    assert cache._cache.get_client() is cache._cache.get_client(write=True)


def test_a_forked_process_makes_its_own_client(cache, monkeypatch):
    cache.set("a", 1, 60)
    parents = cache._cache.get_client()
    monkeypatch.setattr("api.redis_cache.os.getpid", lambda: -1)

    childs = cache._cache.get_client()

    assert childs is not parents
    assert childs is cache._cache.get_client()
    assert cache.get("a") == 1
