"""The in-process cached check benchmark times its sides and profiles their difference."""

import re

import pytest

pytestmark = pytest.mark.bench


def test_cached_check_prints_each_side_the_ratios_and_the_profile(run_bench):
    completed = run_bench(
        "cached_check.py", "--requests=20", "--warmup=5", "--rounds=3", "--profile=one rule"
    )

    assert completed.returncode == 0, completed.stderr
    out = completed.stdout
    assert "3 rounds of 20 checks per side, CPU us per check:" in out
    for side in ("one rule", "cached", "2 rules"):
        assert re.search(rf"^  {side} +\d+ \(\d+\.\.\d+\)$", out, re.M), (side, out)
    for base in ("one rule", "2 rules"):
        assert re.search(rf"^  {base}/cached CPU: \d\.\d\d \(", out, re.M), (base, out)
    assert "the risk service was called 0 times while timing" in out
    assert "cached - one rule, by own time" in out
    assert re.search(r"^calls/check: one rule \d+, cached \d+, 2 rules \d+$", out, re.M), out
