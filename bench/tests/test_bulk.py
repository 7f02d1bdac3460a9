"""The bulk benchmark runs end to end on a small SQLite database."""

import json
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_bulk_benchmark_writes_the_same_orders_both_ways_and_logs_the_figures():
    """A leg fails, and the script exits 1, when the two sides wrote different orders."""
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
    [figures] = [line for line in lines if line["message"] == "bulk measured"]
    assert {k: figures[k] for k in ("measurement", "database", "rows", "target")} == {
        "measurement": "seed",
        "database": "sqlite",
        "rows": 1000,
        "target": 1.5,
    }
    assert figures["fast_s"] > 0
    assert figures["ours_s"] > 0
    assert figures["met"] is (figures["ratio"] <= 1.5)
