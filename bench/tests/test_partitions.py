"""The partitions benchmark purges the same days both ways and reports both times and the ratio."""

import json

import pytest

from config.tests.postgres_clusters import start_primary

pytestmark = [pytest.mark.bench, pytest.mark.postgres]


def test_partitions_benchmark_times_the_delete_and_the_drop_and_exits_by_its_target(
    run_bench, monkeypatch
):
    with start_primary() as cluster:
        monkeypatch.setenv("DATABASE_URL", cluster.url)
        completed = run_bench(
            "partitions.py", "--decisions=900", "--days=9", "--purge-days=3", timeout=120
        )

    assert "Traceback" not in completed.stderr, completed.stderr
    logged = map(json.loads, completed.stdout.splitlines())
    lines = {line["bench"]: line for line in logged if "bench" in line}
    assert lines["seeded"]["decisions"] == 900
    assert lines["row-by-row delete"]["decisions"] == 300
    assert lines["partition drop"]["days"] == 3
    ratio = lines["delete / drop"]
    assert ratio["ratio"] == pytest.approx(
        lines["row-by-row delete"]["seconds"] / lines["partition drop"]["seconds"]
    )
    assert lines["decision by id"]["lookups"] == 200
    assert completed.returncode == (0 if ratio["met"] else 1)
