"""A served check writes its decision to the SQLite file in its turn among the writers."""

import sqlite3
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

from api.tests.turns import turn_held
from config.tests.servers import Reply, http_request

pytestmark = pytest.mark.server

CHECK_BODY = {"order_id": 1, "rules": ["min_total_100"]}


def test_a_check_waits_for_the_write_turn_and_is_then_on_the_record(
    gunicorn_site: tuple[Path, dict[str, str]], gunicorn_server: str
) -> None:
    site, _ = gunicorn_site
    with ThreadPoolExecutor(max_workers=1) as pool:
        with turn_held(site / "db.sqlite3"):
            answer = pool.submit(http_request, f"{gunicorn_server}/rules/check/", CHECK_BODY, 10)
            # Another writer holds the turn: the check is made but not yet written.
            assert not _done_within(answer, 1.0)
        reply = answer.result(timeout=10)

    assert reply.status == 200, reply.body
    with sqlite3.connect(site / "db.sqlite3") as database:
        stored = database.execute(
            "SELECT order_id FROM decisions_decision WHERE id = ?", [reply.json()["decision_id"]]
        ).fetchall()
    assert stored == [(1,)]


def _done_within(future: Future[Reply], seconds: float) -> bool:
    """Return whether *future* finished within *seconds*."""
    try:
        future.result(timeout=seconds)
    except TimeoutError:
        return False
    return True
