"""The bulk benchmark runs end to end on a small SQLite database."""

import json

import pytest

pytestmark = pytest.mark.bench


def test_bulk_benchmark_measures_on_sqlite_and_logs_the_figures(run_bench):
    """Every figure is a median with its range over three timed rounds.

    A leg fails, and the script exits 1, when two sides disagree (orders,
    counts, rows).
    """
    completed = run_bench("bulk.py", "--rows", "1000", "--databases", "sqlite")

    assert completed.returncode == 0, completed.stderr
    lines = [json.loads(line) for line in completed.stdout.splitlines()]
    measured = {line["measurement"]: line for line in lines if line["message"] == "bulk measured"}
    assert set(measured) == {"seed", "query", "lines_query", "report_memory"}
    seed = measured["seed"]
    assert {k: seed[k] for k in ("measurement", "database", "rows", "repeats", "target")} == {
        "measurement": "seed",
        "database": "sqlite",
        "rows": 1000,
        "repeats": 3,
        "target": 1.5,
    }
    for spread in (seed["fast_s"], seed["ours_s"], seed["ratio"]):
        assert spread["min"] > 0
    assert seed["met"] is (seed["ratio"]["median"] <= 1.5)
    assert seed["customers"] == 250
    assert 4000 < seed["lines"] < 5000
    assert set(seed["peak_rss_mb_by_rows"]) == {"100", "1000"}
    query = measured["query"]
    assert query["evaluated_in"] == ["database", "database"]
    assert 0 < query["failing"] <= 1000
    for name in ("api_query_s", "api_report_s", "sql_report_s", "python_count_s"):
        assert query[name]["min"] > 0
    assert query["met"] is (
        max(query["query_ratio"]["median"], query["report_ratio"]["median"]) <= 1.5
    )
    assert set(measured["report_memory"]["peak_mib_by_rows"]) == {"100", "1000"}
    by_lines = measured["lines_query"]
    assert by_lines["evaluated_in"] == "database"
    assert 0 < by_lines["matching"] < 1000
    for name in ("sql_exists_s", "sql_in_s", "sql_distinct_s", "ours_s", "ours_exists_s"):
        assert by_lines[name]["min"] > 0
    assert by_lines["met"] is (by_lines["ratio"]["median"] <= 1.5)
    assert set(by_lines["plans"]) == {"ours_condition", "ours_exists", "exists", "in", "distinct"}
