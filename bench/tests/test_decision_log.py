"""The decision log benchmark times a record's Python and each step without a part of its write."""

import json

import psycopg2
import pytest

from config.tests.postgres_clusters import start_primary

pytestmark = pytest.mark.bench

FIGURE = {"median", "min", "max"}


def _lines(completed) -> dict[str, dict]:
    assert "Traceback" not in completed.stderr, completed.stderr
    logged = map(json.loads, completed.stdout.splitlines())
    return {line["bench"]: line for line in logged if "bench" in line}


def _assert_timed(line: dict, *figures: str) -> None:
    for figure in figures:
        spread = line[figure]
        assert set(spread) == FIGURE
        assert 0 < spread["min"] <= spread["median"] <= spread["max"]


def test_on_sqlite_each_step_takes_one_more_part_of_the_write_away(run_bench):
    completed = run_bench("decision_log.py", "--database=sqlite", "--orders=30", "--rounds=3")

    lines = _lines(completed)
    assert completed.returncode == 0
    assert list(lines) == [
        "python: entries built",
        "orders",
        "as is",
        "no outcome trigger",
        "no indexes",
    ]
    assert (lines["orders"]["batch"], lines["orders"]["database"]) == (30, "sqlite")
    _assert_timed(lines["python: entries built"], "per_decision_us")
    for step in ("as is", "no outcome trigger", "no indexes"):
        _assert_timed(lines[step], "single_us", "batch_per_decision_us")


@pytest.mark.postgres
def test_on_postgresql_it_also_stores_the_json_as_text_in_a_database_it_drops(
    run_bench, monkeypatch
):
    with start_primary() as cluster:
        monkeypatch.setenv("DATABASE_URL", cluster.url)
        completed = run_bench(
            "decision_log.py", "--database=postgresql", "--orders=30", "--rounds=3", timeout=180
        )
        with psycopg2.connect(cluster.url) as server, server.cursor() as cursor:
            cursor.execute("SELECT datname FROM pg_database WHERE datname LIKE 'bench%%'")
            left = cursor.fetchall()

    lines = _lines(completed)
    assert completed.returncode == 0
    assert lines["orders"]["database"] == "postgresql"
    for step in ("as is", "no outcome trigger", "no indexes", "JSON as text"):
        _assert_timed(lines[step], "single_us", "batch_per_decision_us")
    assert left == []


def test_the_decision_log_benchmark_refuses_fewer_than_three_rounds(run_bench):
    completed = run_bench("decision_log.py", "--rounds=2")

    assert completed.returncode == 2
    assert "at least 3 repeats, not 2" in completed.stderr
