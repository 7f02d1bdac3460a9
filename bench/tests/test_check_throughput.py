"""The throughput benchmark serves every stack and reports medians, ranges and ratios."""

import re

import pytest

pytestmark = [pytest.mark.bench, pytest.mark.server]

SPREAD = r"(\d+\.\d+) \((\d+\.\d+)\.\.(\d+\.\d+)\)"


def _ratio(out: str, line: str) -> tuple[float, float, float]:
    found = re.search(rf"^{re.escape(line)}: {SPREAD}$", out, re.MULTILINE)
    assert found, out
    median, low, high = map(float, found.groups())
    assert low > 0
    return median, low, high


@pytest.mark.parametrize(
    ("database", "endpoints"),
    [
        ("sqlite", ("plain", "ours", "log-off", "metrics-off", "key", "throttled")),
        pytest.param("postgresql", ("ours", "log-off"), marks=pytest.mark.postgres),
    ],
)
def test_check_throughput_compares_the_stacks_and_the_decision_log_over_rounds(
    run_bench, database, endpoints
):
    """Every server answers the seeded orders from its own stack, with no error."""
    completed = run_bench(
        "check_throughput.py",
        "--duration=1",
        "--warmup=1",
        "--rounds=3",
        "--connections=2",
        "--batches=1",
        f"--databases={database}",
    )

    assert completed.returncode == 0, completed.stderr
    out = completed.stdout
    assert f"== {database}\n" in out
    for endpoint in endpoints:
        assert re.search(rf"^{endpoint} +2 +\d+ \(\d+\.\.\d+\) ", out, re.MULTILINE), out
    ratios = [
        "ratio log on/off req/s at c2",
        "ratio log off/on server CPU per request at c2",
        "ratio log on/off batch orders/s",
        "ratio log off/on server CPU per batch",
    ]
    if "plain" in endpoints:
        ratios += ["ratio ours/plain req/s at c2", "ratio plain/ours server CPU per request at c2"]
    pairs = {
        "metrics-off": ("ours", "metrics-off"),
        "key": ("key", "ours"),
        "throttled": ("throttled", "ours"),
    }
    for side, (left, right) in pairs.items():
        if side in endpoints:
            ratios += [
                f"ratio {left}/{right} req/s at c2",
                f"ratio {right}/{left} server CPU per request at c2",
            ]
    for line in ratios:
        _ratio(out, line)
    batch = r"^batch of 1000 orders/s: log on \d+ \(\d+\.\.\d+\), log off \d+ "
    assert re.search(batch, out, re.MULTILINE), out
    cpu = r"^batch of 1000 server CPU ms: log on \d+\.\d \(\d+\.\d\.\.\d+\.\d\), log off "
    assert re.search(cpu, out, re.MULTILINE), out
    assert "(median of 3 rounds, min..max; each ratio within one round)" in out
    assert "total errors (all runs, warm-up included): 0" in out
    assert (
        "targets: ours/plain req/s >= 0.75, log on/off req/s >= 0.85, ours/metrics-off >= 0.95, "
        "key/ours >= 0.95, throttled/ours >= 0.9 at every level, " in out
    )
