"""The engine benchmark reports each contender's median and range against hand-written code."""

import re

import pytest

pytestmark = pytest.mark.bench

CONTENDERS = ["hand-written", "evaluate_rules", "full check", "full check + dicts"]
# A median and the range of the rounds: "1.08 (1.05..1.10)".
SPREAD = r"(\d+\.\d+ \(\d+\.\d+\.\.\d+\.\d+\))"


def test_engine_benchmark_reports_every_contender_and_exits_by_its_targets(run_bench):
    completed = run_bench("engine.py", "--rounds=3", "--number=50")

    out = completed.stdout
    assert "Traceback" not in completed.stderr, completed.stderr
    ratios, targets = {}, {}
    for name in CONTENDERS:
        row = re.search(rf"^{re.escape(name)} +{SPREAD} +{SPREAD} *(<= \dx)? *$", out, re.M)
        assert row, out
        ratios[name], targets[name] = row.group(2), row.group(3)
    # Each round divides by the hand-written time of the same round.
    assert ratios["hand-written"] == "1.0 (1.0..1.0)"
    assert targets == {
        "hand-written": None,
        "evaluate_rules": "<= 3x",
        "full check": "<= 8x",
        "full check + dicts": None,
    }
    assert "median (min..max) of 3 rounds of 50 calls" in out
    met = re.search(r"^targets on the median ratios: (met|NOT met)$", out, re.MULTILINE)
    assert met, out
    assert completed.returncode == (0 if met.group(1) == "met" else 1)


def test_engine_benchmark_refuses_fewer_than_three_rounds(run_bench):
    completed = run_bench("engine.py", "--rounds=2")

    assert completed.returncode == 2
    assert "at least 3 repeats, not 2" in completed.stderr


def test_engine_benchmark_reports_the_ten_line_order_against_hand_written_code(run_bench):
    completed = run_bench("engine.py", "--rounds=3", "--number=20")

    out = completed.stdout
    assert "10-line orders: blocked_categories + max_quantity_per_sku" in out
    rows = {
        name: re.search(rf"^{re.escape(name)} +{SPREAD} +{SPREAD} *$", out, re.M)
        for name in ("10 lines: hand-written", "10 lines: full check")
    }
    assert all(rows.values()), out
    assert rows["10 lines: hand-written"].group(2) == "1.0 (1.0..1.0)"
