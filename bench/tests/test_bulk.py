"""The bulk benchmark runs end to end on a small SQLite database."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.bench

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_bulk_benchmark_measures_on_sqlite_and_logs_the_figures():
    """A leg fails, and the script exits 1, when two sides disagree (orders, counts, rows)."""
    completed = subprocess.run(
        [sys.executable, "bench/bulk.py", "--rows", "1000", "--databases", "sqlite"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert completed.returncode == 0, completed.stderr
    lines = [json.loads(line) for line in completed.stdout.splitlines()]
    measured = {line["measurement"]: line for line in lines if line["message"] == "bulk measured"}
    assert set(measured) == {"seed", "query", "report_memory"}
    figures = measured["seed"]
    assert {k: figures[k] for k in ("measurement", "database", "rows", "target")} == {
        "measurement": "seed",
        "database": "sqlite",
        "rows": 1000,
        "target": 1.5,
    }
    assert figures["fast_s"] > 0
    assert figures["ours_s"] > 0
    assert figures["met"] is (figures["ratio"] <= 1.5)
    query = measured["query"]
    assert query["evaluated_in"] == ["database", "database"]
    assert 0 < query["failing"] <= 1000
    assert query["python_count_s"] > 0
    assert set(measured["report_memory"]["peak_mib_by_rows"]) == {"100", "1000"}
