"""schemathesis finds no failure: the service does what its schema says.

One bounded, repeatable run (``config/tests/schemathesis.toml``: every
check, 25 derandomized examples per operation, the examples, coverage,
fuzzing and stateful phases) against the production stack, gunicorn with
``gunicorn.conf.py``, serving a throw-away SQLite site of its own: the
orders it creates, changes and deletes touch no other test. Order writes
send the token of a user made for the run, the rules and decisions APIs an
API key with every scope, so that analysis is reached beyond its 401.
Throttling is off: a 429 would be a limit of the run, not of the service.
The rules Swagger 2.0 cannot state are in ``config/tests/schemathesis_hooks.py``.
"""

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from config.tests.servers import (
    BIN_DIR,
    REPO_ROOT,
    http_request,
    manage,
    prepare_site,
    start_gunicorn,
)

pytestmark = pytest.mark.server

CONFIG = REPO_ROOT / "config" / "tests" / "schemathesis.toml"
RUN_TIMEOUT = 300
# What schemathesis warns of when a run tests less than it seems to: an
# operation that answers 401 to every request, credentials it has no use
# for, 429s, path parameters it never finds a row for.
WARNINGS_NOT_ALLOWED = ("missing_auth", "unused_openapi_auth", "rate_limited", "missing_test_data")
THROTTLING_OFF = {"THROTTLE_CHECK": "off", "THROTTLE_ANALYZE": "off", "THROTTLE_ANONYMOUS": "off"}
# The rule set the configuration's dictionary names, with one version, and a
# condition rule of that name, which the set does not use.
CHECKOUT = """
from rules.models import ConditionRule, RuleSet, RuleSetItem
from rules.services import ruleset_publish
ruleset = RuleSet.objects.create(name="checkout", description="At checkout.")
RuleSetItem.objects.create(ruleset=ruleset, position=1, rule="min_total_100")
ruleset_publish(ruleset=ruleset)
ConditionRule.objects.create(
    name="checkout", description="At most 9 items.", condition={"<=": [{"var": "items_count"}, 9]}
)
"""


@pytest.fixture(scope="module")
def site_with_callers(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, dict[str, str], dict[str, str]]:
    """Return a fresh site with a rule set, its environment, and the run's credentials.

    The credentials are the environment schemathesis reads them from
    (``schemathesis.toml``): a writer's API token and a key with every scope.
    """
    site = tmp_path_factory.mktemp("schemathesis-site")
    env = prepare_site(site, **THROTTLING_OFF)
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
    key = manage(env, "create_api_key", "schemathesis", "--scopes", "check,analyze")
    return (
        site,
        env,
        {"SCHEMATHESIS_TOKEN": token.group(), "SCHEMATHESIS_API_KEY": key.split()[-1]},
    )


@pytest.fixture(scope="module")
def service(site_with_callers: tuple[Path, dict[str, str], dict[str, str]]) -> Iterator[str]:
    """Serve the site with gunicorn for the module; yield its base URL.

    Decision 1, which the configuration's dictionary names, is a check of
    the seeded order 1 by the rule set.
    """
    site, env, _ = site_with_callers
    with start_gunicorn(env, site / "gunicorn.log") as server:
        decided = http_request(
            f"{server.url}/rules/check/", {"order_id": 1, "ruleset": "checkout"}
        )
        assert (decided.status, decided.json()["decision_id"]) == (200, 1), decided.body
        yield server.url


def test_schemathesis_finds_no_failure(service, site_with_callers, tmp_path):
    _, env, credentials = site_with_callers

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
        env={**env, **credentials},
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
    # Every operation reached beyond its 401 and its 404, and never throttled.
    warned = {name: report["warnings"][name] for name in WARNINGS_NOT_ALLOWED}
    assert warned == {name: [] for name in WARNINGS_NOT_ALLOWED}, output
