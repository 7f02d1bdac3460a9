"""The hostile-mix benchmark times checks bare and proxied, then idle and under the mix."""

import re

import pytest

pytestmark = [pytest.mark.bench, pytest.mark.server]

SECONDS = r"(?:>1|\d+\.\d{3})"


def test_hostile_mix_reports_before_after_and_the_ratio_over_rounds(run_bench):
    completed = run_bench(
        "hostile_mix.py",
        "--orders=200",
        "--rounds=3",
        "--duration=0.5",
        "--wait=1",
        "--slow-headers=1",
        "--slow-readers=1",
        "--batch-loops=1",
    )

    out = completed.stdout
    assert completed.returncode == 0, completed.stderr
    for scenario in ("slow headers (1 byte / 2 s)", "slow report readers (16 KiB/s)"):
        assert re.search(
            rf"^{re.escape(scenario)} +{SECONDS} +\d+\.\d{{3}}$", out, re.MULTILINE
        ), out
    rounds = re.findall(r"^[123] +(?:\d+\.\d{2} +){4}\d+/\d+ +\d+$", out, re.MULTILINE)
    assert len(rounds) == 3, out
    ratio = re.search(
        r"^ratio mix/idle check p99: ([\d.]+) \(([\d.]+)\.\.([\d.]+)\) \(median of 3 rounds",
        out,
        re.MULTILINE,
    )
    assert ratio, out
    assert float(ratio.group(2)) > 0
    assert re.search(r"^target: median ratio <= 3: (met|NOT met)$", out, re.MULTILINE), out
    assert "failed or unanswered checks: 0" in out
