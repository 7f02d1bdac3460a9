"""The decision filters benchmark times each page by rule against the newest page."""

import re

import pytest

pytestmark = [pytest.mark.bench, pytest.mark.server]

MILLISECONDS = r"\d+\.\d \(\d+\.\d\.\.\d+\.\d\) +\d+\.\d\d \(\d+\.\d\d\.\.\d+\.\d\d\)$"


def test_decision_filters_benchmark_reports_every_page_and_exits_by_its_target(run_bench):
    completed = run_bench("decision_filters.py", "--decisions=1500", "--rounds=3")

    out = completed.stdout
    assert "Traceback" not in completed.stderr, completed.stderr
    assert re.search(r"^1500 decisions recorded in \d+ s$", out, re.MULTILINE), out
    for page in ("newest", "rule failed (many)", "-1 failed (none)", "-1 ran (none)"):
        assert re.search(rf"^{re.escape(page)} +{MILLISECONDS}", out, re.MULTILINE), out
    target = r"^target: every page where a rule did not pass within 3x the newest: (met|NOT met)$"
    met = re.search(target, out, re.MULTILINE)
    assert met, out
    assert completed.returncode == (0 if met.group(1) == "met" else 1)
