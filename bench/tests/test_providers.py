"""The providers benchmark measures its four parts through gunicorn and real services."""

import re

import pytest

pytestmark = [pytest.mark.bench, pytest.mark.server, pytest.mark.redis]

SPREAD = r"\d+\.\d+ \(\d+\.\d+\.\.\d+\.\d+\)"


def test_providers_reports_each_part_and_its_targets(run_bench):
    completed = run_bench(
        "providers.py",
        "--duration=1",
        "--hang-duration=1",
        "--warmup=1",
        "--rounds=3",
        "--calls=5",
    )

    assert completed.returncode == 0, completed.stderr
    out = completed.stdout
    for backend in ("database", "redis"):
        assert re.search(
            rf"^  ratio cached \({backend}\)/no provider \({backend}\) req/s: {SPREAD}$",
            out,
            re.MULTILINE,
        ), out
    assert (
        len(re.findall(r"^  the risk service was called 0 times during \d+ cached", out, re.M))
        == 2
    )
    assert re.search(r"^  three providers +median +\d+\.\d ms  p90 +\d+\.\d ms$", out, re.M), out
    for base in ("answering", "alone"):
        assert re.search(rf"^  ratio hanging/{base} req/s: {SPREAD}$", out, re.MULTILINE), out
    assert re.search(r"^  checks needing it: \d+, .*error \(timeout\) \d+", out, re.M), out
    assert re.search(r"p99 \d+\.\d ms, max \d+\.\d ms; over 300 ms: \d+$", out, re.M), out
    assert re.search(rf"^  ratio this main/8bf4ac0 req/s: {SPREAD}$", out, re.MULTILINE), out
    assert re.search(rf"^  ratio 8bf4ac0/this main server CPU per request: {SPREAD}$", out, re.M)
    targets = re.findall(r"^target: .*: (?:met|NOT met)$", out, re.MULTILINE)
    assert len(targets) == 6, out
    assert "unexpected failures: 0" in out
