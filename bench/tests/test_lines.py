"""The lines benchmark checks both stored orders and reads each in at most two queries."""

import re

import pytest

pytestmark = pytest.mark.bench


def test_lines_bench_prints_both_orders_their_reads_and_the_ratio(run_bench):
    completed = run_bench("lines.py", "--requests=20", "--warmup=5", "--rounds=3")

    assert completed.returncode == 0, completed.stderr
    rows = dict(re.findall(r"^\| (1 line|10 lines) \|.*\| (\d+) \|$", completed.stdout, re.M))
    assert rows == {"1 line": "2", "10 lines": "2"}
    assert re.search(r"^ratio 10 lines / 1 line: [0-9.]+ \(", completed.stdout, re.M)
