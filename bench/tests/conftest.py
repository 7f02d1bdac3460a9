"""Shared fixture of the bench tests: run a benchmark script as docs/benchmarks.md says."""

import subprocess
import sys
from collections.abc import Callable

import pytest

from config.tests.servers import REPO_ROOT

BenchRun = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def run_bench() -> BenchRun:
    """Return a function that runs ``bench/<script>`` with arguments and captures its output.

    ``run_bench("engine.py", "--rounds=3")`` returns the completed process;
    it raises ``subprocess.TimeoutExpired`` after *timeout* seconds (300).
    """

    def run(script: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """Run ``bench/<script> *args`` from the repository's root."""
        return subprocess.run(
            [sys.executable, f"bench/{script}", *args],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    return run
