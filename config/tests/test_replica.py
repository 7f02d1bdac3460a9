"""Analysis on a real PostgreSQL streaming replica; checks, writes and rule sets on the primary.

A primary and a ``pg_basebackup`` copy of it following as a hot standby run
on 127.0.0.1 (``postgres_clusters``), with the production gunicorn given
both (``DATABASE_URL``, ``DATABASE_REPLICA_URL``). Pausing the replica's
replay makes it visibly behind: whatever an answer shows of what was
written meanwhile says which database it read.

Each phase of a test calls the seven analysis endpoints once with a key of
its own, allowed exactly seven analyses a day: a test crossing midnight UTC
would see a count start again (one chance in thousands).
"""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from config.tests.postgres_clusters import (
    Cluster,
    start_primary,
    start_replica,
    wait_for_replay,
)
from config.tests.servers import (
    GunicornServer,
    Reply,
    http_request,
    manage,
    production_env,
    start_gunicorn,
    wait_until,
)

pytestmark = [pytest.mark.postgres, pytest.mark.server]

PAUSE_TIMEOUT = 30.0
ANALYSES = 7
RULES = ["min_items_2"]
CHECKOUT = """
from rules.models import RuleSet, RuleSetItem
from rules.services import ruleset_publish
ruleset = RuleSet.objects.create(name="checkout")
RuleSetItem.objects.create(ruleset=ruleset, position=1, rule="min_total_100")
ruleset_publish(ruleset=ruleset)
"""
# Each key on a line of its own, in the order of the names.
KEYS = """
import sys
from api.models import ClientKey
for name in {names!r}:
    sys.stdout.write(ClientKey.objects.create_key(name=name, scopes=["check", "analyze"])[1])
    sys.stdout.write("\\n")
"""
# Written while the replica is paused: the three sample orders, a rule set, and a key.
WHILE_PAUSED = """
from django.core.management import call_command
from rules.models import RuleSet, RuleSetItem
from rules.services import ruleset_publish
call_command("seed_orders")
ruleset = RuleSet.objects.create(name="late")
RuleSetItem.objects.create(ruleset=ruleset, position=1, rule="min_total_100")
ruleset_publish(ruleset=ruleset)
""" + KEYS.format(names=["late"])
DATABASE_UNAVAILABLE = {
    "error": "Service Unavailable",
    "code": "database_unavailable",
    "detail": "The database is not available. Try again shortly.",
}


@dataclass
class ReplicatedSite:
    """The service on a primary and its replica, its environment, and keys by phase."""

    primary: Cluster
    replica: Cluster
    server: GunicornServer
    env: dict[str, str]
    keys: dict[str, str]

    def call(self, path: str, body: object = None, *, key: str) -> Reply:
        """Send a GET (or a JSON POST of *body*) to *path* with API *key*."""
        return http_request(
            f"{self.server.url}{path}",
            body,
            timeout=10.0,
            headers={"Authorization": f"Api-Key {key}"},
        )

    def analyses(self, ruleset: str, decision_id: int, *, key: str) -> dict[str, Reply]:
        """Ask every analysis endpoint once, naming *ruleset* and decision *decision_id*."""
        replies = {
            "query": self.call("/rules/query/", {"rules": RULES, "outcome": "passed"}, key=key),
            "report": self.call("/rules/report/", {"rules": RULES}, key=key),
            "preview": self.call(f"/rulesets/{ruleset}/preview/", {"rules": RULES}, key=key),
            "backtest": self.call(f"/rulesets/{ruleset}/backtest/", {"rules": RULES}, key=key),
            "list": self.call("/decisions/", key=key),
            "detail": self.call(f"/decisions/{decision_id}/", key=key),
            "replay": self.call(f"/decisions/{decision_id}/replay/", {}, key=key),
        }
        assert len(replies) == ANALYSES
        return replies

    def ready(self) -> Reply:
        """Ask for readiness."""
        return http_request(f"{self.server.url}/health/ready")

    def pause_replay(self) -> None:
        """Stop the replica replaying the primary's writes, and return once it has."""
        self.replica.query("SELECT pg_wal_replay_pause()")
        paused = wait_until(
            lambda: self.replica.query("SELECT pg_get_wal_replay_pause_state()") == [("paused",)],
            PAUSE_TIMEOUT,
        )
        assert paused, "the replica did not pause its replay"

    def resume_replay(self) -> None:
        """Let the replica replay again, and return once it has caught up."""
        self.replica.query("SELECT pg_wal_replay_resume()")
        wait_for_replay(self.primary, self.replica)


def make_keys(env: dict[str, str], script: str, count: int) -> list[str]:
    """Run *script* in ``manage.py shell``; return the *count* keys it wrote last, a line each."""
    return manage(env, "shell", "--command", script).splitlines()[-count:]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReplicatedSite]:
    """Serve the service, one worker, on a migrated primary with a rule set, and its replica."""
    folder: Path = tmp_path_factory.mktemp("replica-site")
    with start_primary() as primary, start_replica(primary) as replica:
        env = production_env(
            folder,
            DATABASE_URL=primary.url,
            DATABASE_REPLICA_URL=replica.url,
            WEB_CONCURRENCY="1",
            LOG_LEVEL="WARNING",
            THROTTLE_CHECK="off",
            THROTTLE_ANALYZE=f"{ANALYSES}/day",
        )
        manage(env, "migrate", "--noinput")
        manage(env, "shell", "--command", CHECKOUT)
        names = ["caught-up", "down", "back"]
        keys = dict(zip(names, make_keys(env, KEYS.format(names=names), len(names)), strict=True))
        wait_for_replay(primary, replica)
        with start_gunicorn(env, folder / "gunicorn.log") as server:
            yield ReplicatedSite(primary, replica, server, env, keys)


def test_analysis_reads_the_replica_while_checks_rule_sets_and_keys_read_the_primary(site):
    site.pause_replay()
    [late_key] = make_keys(site.env, WHILE_PAUSED, 1)
    check = site.call("/rules/check/", {"order_id": 1, "ruleset": "late"}, key=late_key)
    decision_id = check.json()["decision_id"]

    behind = site.analyses("late", decision_id, key=late_key)

    # The order, the rule set and the key are on the primary only: read there.
    assert check.status == 200, check.body
    assert site.primary.query("SELECT count(*) FROM orders_order") == [(3,)]
    assert site.replica.query("SELECT count(*) FROM orders_order") == [(0,)]
    assert {name: reply.status for name, reply in behind.items()} == {
        "query": 200,
        "report": 200,
        "preview": 200,
        "backtest": 200,
        "list": 200,
        "detail": 404,
        "replay": 404,
    }
    assert behind["query"].json()["count"] == 0
    # Counted, then streamed from the replica too, after the view returned.
    assert behind["report"].body.decode().splitlines() == [
        '{"columns": ["order_id", "min_items_2", "passed"]}'
    ]
    assert behind["preview"].json()["total"] == 0
    assert behind["backtest"].json()["decisions"] == 0
    assert behind["list"].json()["results"] == []
    assert behind["detail"].json() == {
        "error": "Not Found",
        "code": "not_found",
        "detail": f"Decision with id {decision_id} does not exist.",
    }
    assert behind["replay"].json() == behind["detail"].json()

    site.resume_replay()
    caught_up = site.analyses("late", decision_id, key=site.keys["caught-up"])

    assert {name: reply.status for name, reply in caught_up.items()} == dict.fromkeys(
        caught_up, 200
    )
    assert caught_up["query"].json()["count"] == 2
    assert caught_up["report"].body.decode().splitlines()[1:] == [
        "[1,true,true]",
        "[2,false,false]",
        "[3,true,true]",
    ]
    assert caught_up["preview"].json()["total"] == 3
    assert caught_up["backtest"].json()["decisions"] == 1
    assert [row["id"] for row in caught_up["list"].json()["results"]] == [decision_id]
    assert caught_up["detail"].json()["id"] == decision_id
    assert caught_up["replay"].json()["reproduced"] is True


def test_with_the_replica_down_analysis_answers_503_and_checks_200_until_it_is_back(site):
    cart = {"order": {"total": "150.00", "items_count": 3}, "ruleset": "checkout"}
    key = site.keys["down"]

    site.replica.halt()
    try:
        down = site.analyses("checkout", 1, key=key)
        # The throttles' counts are on the primary: this key has had its seven.
        throttled = site.call("/rules/query/", {"rules": RULES, "outcome": "passed"}, key=key)
        check = site.call("/rules/check/", cart, key=key)
        ready = site.ready()
    finally:
        site.replica.start()
    wait_for_replay(site.primary, site.replica)
    decision_id = check.json()["decision_id"]
    back = site.analyses("checkout", decision_id, key=site.keys["back"])
    ready_again = site.ready()

    assert {name: reply.status for name, reply in down.items()} == dict.fromkeys(down, 503)
    assert all(json.loads(reply.body) == DATABASE_UNAVAILABLE for reply in down.values())
    wait = throttled.headers["Retry-After"]
    assert throttled.status == 429
    assert throttled.json() == {
        "error": "Too Many Requests",
        "code": "throttled",
        "detail": f"Request was throttled. Expected available in {wait} seconds.",
    }
    assert check.status == 200, check.body
    assert (ready.status, ready.json()) == (
        200,
        {"status": "ok", "database": "ok", "throttle_store": "ok", "replica": "unavailable"},
    )
    # No restart: the same worker reads the replica again.
    assert {name: reply.status for name, reply in back.items()} == dict.fromkeys(back, 200)
    assert (ready_again.status, ready_again.json()["replica"]) == (200, "ok")
