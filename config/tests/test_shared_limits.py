"""Throttle counts are shared by every worker and every replica of the service.

Each test makes its own API key (``manage.py create_api_key``), so counts of
other tests never mix in, and allows it 5 checks a day: a test crossing
midnight UTC would see its count start again (one chance in thousands).
"""

import json
import socket
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
from django.test import override_settings
from django.urls import reverse
from rest_framework.test import APIClient

from config.tests.servers import GunicornServer, http_request, manage
from orders.tests.factories import OrderFactory

pytestmark = pytest.mark.server

RATE = "5/day"
CHECK_BODY = {"order_id": 1, "rules": ["min_total_100"]}


def _make_key(env: dict[str, str], name: str) -> str:
    """Make a key with the check scope on the site; return it."""
    return manage(env, "create_api_key", name, "--scopes", "check").splitlines()[-1]


def _check(url: str, key: str) -> int:
    """Post one check with *key* to the server at *url*; return the status."""
    return http_request(
        f"{url}/rules/check/", CHECK_BODY, headers={"Authorization": f"Api-Key {key}"}
    ).status


class HeldRequest:
    """A check whose request is sent up to its last header, holding the worker that took it.

    A sync worker reads a request to its end before taking another
    connection, so while this one is held the other workers take every
    new connection.
    """

    def __init__(self, url: str, key: str) -> None:
        host, port = url.removeprefix("http://").split(":")
        self.body = json.dumps(CHECK_BODY).encode()
        self.sock = socket.create_connection((host, int(port)), timeout=10)
        self.sock.sendall(
            f"POST /rules/check/ HTTP/1.1\r\nHost: {host}\r\n"
            f"Authorization: Api-Key {key}\r\n".encode()
        )

    def finish(self) -> int:
        """Send the rest of the request; return the response's status."""
        self.sock.sendall(
            b"Content-Type: application/json\r\nConnection: close\r\n"
            + f"Content-Length: {len(self.body)}\r\n\r\n".encode()
            + self.body
        )
        with self.sock, self.sock.makefile("rb") as response:
            return int(response.readline().split()[1])


def test_two_workers_of_one_server_share_one_count(
    gunicorn_factory: Callable[..., GunicornServer], gunicorn_site
):
    _, env = gunicorn_site
    key = _make_key(env, "two-workers")
    server = gunicorn_factory(WEB_CONCURRENCY="2", THROTTLE_CHECK=RATE)

    held_by_first = HeldRequest(server.url, key)  # the first worker takes it and waits
    by_second = [_check(server.url, key) for _ in range(2)]
    held_by_second = HeldRequest(server.url, key)  # now the second worker waits
    first_again = held_by_first.finish()
    by_first = [_check(server.url, key) for _ in range(3)]
    second_again = held_by_second.finish()

    # Counted apart, the first worker would have allowed all of its four.
    assert by_second == [200, 200]
    assert [first_again, *by_first] == [200, 200, 200, 429]
    assert second_again == 429


def test_concurrent_requests_never_pass_the_limit_together(
    gunicorn_factory: Callable[..., GunicornServer], gunicorn_site
):
    _, env = gunicorn_site
    key = _make_key(env, "concurrent")
    server = gunicorn_factory(WEB_CONCURRENCY="2", THROTTLE_CHECK="20/day")

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(lambda _: _check(server.url, key), range(60)))

    # Each increment is atomic: exactly the limit passes, however they interleave.
    assert sorted(statuses) == [200] * 20 + [429] * 40


# Four threads, each with its own database connection, add 200 each to one count,
# the compare-and-swap given {tries} tries before the increment takes a lock.
CONCURRENT_INCREMENTS = """
import sys, threading
from django.core.cache import cache
from django.db import connection
import api.throttles
api.throttles.INCREMENT_TRIES = {tries}

def add_200():
    for _ in range(200):
        cache.incr("shared-count")
    connection.close()

cache.delete("shared-count")
cache.add("shared-count", 0, 300)
threads = [threading.Thread(target=add_200) for _ in range(4)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
sys.stdout.write(str(cache.get("shared-count")))
"""


@pytest.mark.parametrize("tries", [10, 1])
def test_increments_on_the_database_cache_from_many_connections_are_never_lost(
    gunicorn_site, tries
):
    """Django's own ``incr`` (a get, then a set) loses most of them here.

    With one try, most increments meet another writer's change and take the lock.
    """
    _, env = gunicorn_site
    script = CONCURRENT_INCREMENTS.format(tries=tries)

    output = manage(env, "shell", "--no-imports", "--command", script)

    assert output.splitlines()[-1] == "800"


@pytest.mark.redis
def test_replicas_on_one_redis_share_one_count(
    gunicorn_factory: Callable[..., GunicornServer], gunicorn_site, redis_url: str
):
    _, env = gunicorn_site
    key = _make_key(env, "two-replicas")
    replicas = [
        gunicorn_factory(WEB_CONCURRENCY="1", THROTTLE_CHECK=RATE, REDIS_URL=redis_url)
        for _ in range(2)
    ]

    statuses = [_check(replicas[index % 2].url, key) for index in range(7)]

    assert statuses == [200, 200, 200, 200, 200, 429, 429]
    [count_key] = redis.Redis.from_url(redis_url).keys("*throttle:check:key:*")
    assert redis.Redis.from_url(redis_url).get(count_key) is not None


@pytest.mark.redis
@pytest.mark.django_db
def test_a_redis_cache_counts_like_the_database(redis_url: str, settings, make_key):
    order = OrderFactory()
    _, key = make_key("checkout", ["check"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    settings.THROTTLE_RATES = {"check": "2/day", "analyze": "2/day", "anonymous": "2/day"}
    cache = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_url}
    body = {**CHECK_BODY, "order_id": order.pk}

    with override_settings(CACHES={"default": cache}):
        statuses = [
            client.post(reverse("rules:rule-check"), body, format="json").status_code
            for _ in range(3)
        ]

    assert statuses == [200, 200, 429]
