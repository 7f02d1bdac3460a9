"""The directory where gunicorn's workers write their metrics (``PROMETHEUS_MULTIPROC_DIR``).

``gunicorn.conf.py`` calls these functions in the master. The master must
not import prometheus-client before the variable is set: the library
decides once, when it is imported, whether counts live in the process or in
files, and the workers the master forks would inherit a decision made
without the directory. So the library is imported here only once a worker
has exited, long after ``prepare`` has set the variable.
"""

import os
import shutil
import sys
import tempfile
from pathlib import Path

VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
# Memory, where there is some: every request writes to memory-mapped files there.
SHARED_MEMORY = Path("/dev/shm")  # noqa: S108  # nosec B108

# The directory ``prepare`` made itself, which ``remove_made`` removes.
_made: Path | None = None


def prepare() -> Path:
    """Point ``PROMETHEUS_MULTIPROC_DIR`` at an empty directory; return it.

    A directory the variable already names is created if missing and emptied
    of the library's files (``*.db``): counts left by an earlier server would
    otherwise add up with this one's. Without the variable, a new temporary
    directory is made (in shared memory where there is some). Raises
    ``RuntimeError`` if the library was imported without it: every worker
    would then count alone, and a scrape would show one worker's counts.
    """
    global _made  # the master's one directory, made once as it starts
    configured = os.environ.get(VARIABLE)
    if not configured and "prometheus_client" in sys.modules:
        raise RuntimeError(f"prometheus-client was imported before {VARIABLE} was set")
    if configured:
        directory = Path(configured)
        directory.mkdir(parents=True, exist_ok=True)
        for stale in directory.glob("*.db"):
            stale.unlink()
    else:
        parent = SHARED_MEMORY if SHARED_MEMORY.is_dir() else None
        directory = _made = Path(tempfile.mkdtemp(prefix="rule-engine-metrics-", dir=parent))
    os.environ[VARIABLE] = str(directory)
    return directory


def forget_worker(pid: int) -> None:
    """Do prometheus-client's bookkeeping for a worker that exited.

    Its live-only gauges are dropped; its counters stay, so that totals never
    go down when a worker is replaced.
    """
    from prometheus_client import multiprocess  # only now: see the module's docstring

    multiprocess.mark_process_dead(pid)


def remove_made() -> None:
    """Remove the directory that ``prepare`` made, if it made one."""
    if _made is not None:
        shutil.rmtree(_made, ignore_errors=True)
