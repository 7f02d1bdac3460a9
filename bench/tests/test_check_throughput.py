"""The throughput benchmark serves every stack and reports medians, ranges and ratios."""

import re

import pytest

pytestmark = [pytest.mark.bench, pytest.mark.server]

SPREAD = r"(\d+\.\d+) \((\d+\.\d+)\.\.(\d+\.\d+)\)"


def test_check_throughput_compares_the_stacks_over_interleaved_rounds(run_bench):
    """Every server answers the seeded orders correctly, from its own stack, with no error.

    With metrics off, ours counts nothing and /metrics is a 404; the script checks it.
    """
    completed = run_bench(
        "check_throughput.py", "--duration=1", "--warmup=1", "--rounds=3", "--connections=2"
    )

    assert completed.returncode == 0, completed.stderr
    out = completed.stdout
    assert re.search(r"^plain +2 +\d+ \(\d+\.\.\d+\) ", out, re.MULTILINE), out
    assert re.search(r"^ours +2 +\d+ \(\d+\.\.\d+\) ", out, re.MULTILINE), out
    assert re.search(r"^ours-off +2 +\d+ \(\d+\.\.\d+\) ", out, re.MULTILINE), out
    for ratio_line in (
        "ratio ours/plain req/s at c2",
        "ratio plain/ours server CPU per request at c2",
        "ratio metrics on/off req/s at c2",
        "ratio metrics off/on server CPU per request at c2",
    ):
        ratio = re.search(rf"^{ratio_line}: {SPREAD}$", out, re.MULTILINE)
        assert ratio, out
        median, low, high = map(float, ratio.groups())
        assert 0 < low <= median <= high
    assert "(median of 3 rounds, min..max; each ratio within one round)" in out
    assert "total errors (all runs, warm-up included): 0" in out
    assert "target: median req/s ratio >= 0.75 at every level with zero errors: " in out
    assert re.search(
        r"^target: median metrics on/off req/s ratio >= 0.95 at every level with zero errors: "
        r"(met|NOT met)$",
        out,
        re.MULTILINE,
    ), out
