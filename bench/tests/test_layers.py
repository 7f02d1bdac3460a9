"""The layer profile charges every microsecond of a check to a layer of the stack."""

import re

import pytest

from bench.layers import LAYERS, OTHER, attribute

pytestmark = pytest.mark.bench

ENGINE = ("/app/rules/engine/checks.py", 10, "run")
DATABASE = ("/app/django/db/backends/utils.py", 20, "execute")
DUMPS = ("/lib/json/__init__.py", 30, "dumps")
ENCODE = ("~", 0, "<built-in method _json.encode>")
MODULES = {
    "/app/rules/engine/checks.py": "rules.engine.checks",
    "/app/django/db/backends/utils.py": "django.db.backends.utils",
    "/lib/json/__init__.py": "json",
}


def entry(own, callers):
    """Return a cProfile stats entry with *own* seconds and ``{caller: own under it}``."""
    return (1, 1, own, own, {caller: (1, 1, t, t) for caller, t in callers.items()})


def test_time_of_no_layer_goes_to_the_layers_of_its_callers_by_their_share():
    entries = {
        ENGINE: entry(1.0, {}),
        DATABASE: entry(2.0, {}),
        # dumps spent 3 s under the engine and 1 s under the database code.
        DUMPS: entry(4.0, {ENGINE: 3.0, DATABASE: 1.0}),
        # Its C helper passes its time up through dumps, in the same proportion.
        ENCODE: entry(8.0, {DUMPS: 8.0}),
    }

    seconds = attribute(entries, MODULES)

    assert seconds == pytest.approx(
        {
            "rule evaluation (engine)": 1.0 + 3.0 + 6.0,
            "database (order read, decision write, upkeep)": 2.0 + 1.0 + 2.0,
        }
    )


def test_recursion_of_a_function_of_no_layer_stays_with_its_callers():
    entries = {
        ENGINE: entry(1.0, {}),
        DUMPS: entry(2.0, {ENGINE: 1.0, DUMPS: 1.0}),
        ENCODE: entry(1.0, {DUMPS: 1.0}),
    }

    assert attribute(entries, MODULES) == pytest.approx({"rule evaluation (engine)": 4.0})


def test_layers_profile_prints_every_layer_with_its_share(run_bench):
    completed = run_bench("layers.py", "--requests=30", "--warmup=10", "--rounds=3")

    assert completed.returncode == 0, completed.stderr
    out = completed.stdout
    assert "3 rounds of 30 requests after 10 to warm up" in out
    shares = {}
    for layer in [*LAYERS, OTHER]:
        row = re.search(
            rf"^{re.escape(layer)} +(\d+\.\d) +(\d+\.\d) \((\d+\.\d)\.\.(\d+\.\d)\) +\d+$",
            out,
            re.M,
        )
        assert row, (layer, out)
        shares[layer] = float(row.group(2))
    for layer in (
        "database (order read, decision write, upkeep)",
        "rule evaluation (engine)",
        "decision log (rules.recording, decisions)",
        "JSON logging (both lines)",
    ):
        assert shares[layer] > 0
    assert re.search(r"^total +\d+\.\d +100\.0 +\d+$", out, re.MULTILINE), out
