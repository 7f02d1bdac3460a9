"""schemathesis finds no failure: the service does what its schema says.

One bounded, repeatable run (``config/tests/schemathesis.toml``: every
check, 25 derandomized examples per operation, the examples, coverage,
fuzzing and stateful phases) against the production stack, gunicorn with
``gunicorn.conf.py``, serving a throw-away SQLite site of its own: the
orders it creates, changes and deletes touch no other test. Writes send the
token of a user made for the run. The rules Swagger 2.0 cannot state are in
``config/tests/schemathesis_hooks.py``.
"""

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from config.tests.servers import BIN_DIR, REPO_ROOT, manage, prepare_site, start_gunicorn

pytestmark = pytest.mark.server

CONFIG = REPO_ROOT / "config" / "tests" / "schemathesis.toml"
RUN_TIMEOUT = 300
# The rule set the configuration's dictionary names, with one version.
CHECKOUT = """
from rules.models import RuleSet, RuleSetItem
ruleset = RuleSet.objects.create(name="checkout", description="At checkout.")
RuleSetItem.objects.create(ruleset=ruleset, position=1, rule="min_total_100")
ruleset.publish()
"""


@pytest.fixture(scope="module")
def site_with_a_writer(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, dict[str, str], str]:
    """Return a fresh site with a rule set, its environment, and a writer's API token."""
    site = tmp_path_factory.mktemp("schemathesis-site")
    env = prepare_site(site)
    manage(env, "shell", "--command", CHECKOUT)
    manage(
        {**env, "DJANGO_SUPERUSER_PASSWORD": "not-used-by-the-run"},
        "createsuperuser",
        "--noinput",
        "--username=schemathesis",
        "--email=schemathesis@example.com",
    )
    output = manage(env, "drf_create_token", "schemathesis")
    token = re.search(r"\b[0-9a-f]{40}\b", output)
    assert token, output
    return site, env, token.group()


@pytest.fixture(scope="module")
def service(site_with_a_writer: tuple[Path, dict[str, str], str]) -> Iterator[str]:
    """Serve the site with gunicorn for the module; yield its base URL."""
    site, env, _ = site_with_a_writer
    with start_gunicorn(env, site / "gunicorn.log") as server:
        yield server.url


def test_schemathesis_finds_no_failure(service, site_with_a_writer, tmp_path):
    _, env, token = site_with_a_writer

    completed = subprocess.run(
        [
            str(BIN_DIR / "schemathesis"),
            "--config-file",
            str(CONFIG),
            "--no-color",
            "run",
            f"{service}/swagger.json",
            "--report",
            "json",
            "--report-json-path",
            str(tmp_path / "report.json"),
        ],
        cwd=REPO_ROOT,
        env={**env, "SCHEMATHESIS_TOKEN": token},
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )

    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["test_cases"]["unique_failures"] == 0, output
    assert report["errors"] == [], output
    assert {name: phase["status"] for name, phase in report["phases"].items()} == {
        "examples": "success",
        "coverage": "success",
        "fuzzing": "success",
        "stateful": "success",
    }, output
