"""The batch benchmark checks the same orders both ways and reports medians and ranges."""

import re

import pytest

pytestmark = [pytest.mark.bench, pytest.mark.server]

SECONDS = r"\d+\.\d{3} \(\d+\.\d{3}\.\.\d+\.\d{3}\) +\d+$"


def test_batch_benchmark_reports_both_ways_and_exits_by_its_target(run_bench):
    completed = run_bench("batch.py", "--orders=20", "--rounds=3")

    out = completed.stdout
    assert "Traceback" not in completed.stderr, completed.stderr
    assert re.search(rf"^20 single checks +{SECONDS}", out, re.MULTILINE), out
    assert re.search(rf"^one batch of 20 +{SECONDS}", out, re.MULTILINE), out
    assert re.search(r"^batch / single orders/s: [\d.]+ \([\d.]+\.\.[\d.]+\), median", out, re.M)
    met = re.search(r"^target: median ratio >= 20: (met|NOT met)$", out, re.MULTILINE)
    assert met, out
    assert completed.returncode == (0 if met.group(1) == "met" else 1)
