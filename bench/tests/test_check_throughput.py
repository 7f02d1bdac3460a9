"""The throughput benchmark serves every contender and reports medians, ranges and ratios."""

import re

import pytest

pytestmark = [pytest.mark.bench, pytest.mark.server]

SPREAD = r"(\d+\.\d+) \((\d+\.\d+)\.\.(\d+\.\d+)\)"


def test_check_throughput_compares_every_contender_over_interleaved_rounds(run_bench):
    """Each server answers the seeded orders correctly, from its own stack, with no error."""
    completed = run_bench(
        "check_throughput.py", "--duration=1", "--warmup=1", "--rounds=3", "--connections=2"
    )

    assert completed.returncode == 0, completed.stderr
    out = completed.stdout
    for contender in ("plain", "ours", "key", "throttled"):
        assert re.search(rf"^{contender} +2 +\d+ \(\d+\.\.\d+\) ", out, re.MULTILINE), out
    for top, bottom, target in (
        ("ours", "plain", "0.75"),
        ("key", "ours", "0.95"),
        ("throttled", "ours", "0.9"),
    ):
        for ratio_line in (
            f"ratio {top}/{bottom} req/s at c2",
            f"ratio {bottom}/{top} server CPU per request at c2",
        ):
            ratio = re.search(rf"^{ratio_line}: {SPREAD}$", out, re.MULTILINE)
            assert ratio, out
            median, low, high = map(float, ratio.groups())
            assert 0 < low <= median <= high
        assert re.search(
            rf"^target: median {top}/{bottom} req/s ratio >= {target} at every level "
            r"with zero errors: (met|NOT met)$",
            out,
            re.MULTILINE,
        ), out
    assert "(median of 3 rounds, min..max; each ratio within one round)" in out
    assert "total errors (all runs, warm-up included): 0" in out
