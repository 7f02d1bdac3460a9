"""Deployment: production settings, and the Docker, docker-compose and Render files.

No Docker engine runs here, so every command that the image, docker-compose
and Render run is run below outside Docker, and the files that only CI on
GitHub can exercise are parsed and checked for what they must contain.
"""

import json
import os
import re
import runpy
import shlex
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from http import HTTPStatus

import pytest
import yaml
from django.core.management.utils import get_random_secret_key
from django.urls import URLPattern, resolve, reverse
from django.urls.converters import IntConverter, SlugConverter

from api.auth import view_scope
from api.models import Scope
from config.tests.servers import (
    BIN_DIR,
    PROXY_TEMPLATE,
    REPO_ROOT,
    free_port,
    http_request,
    start_proxied_stack,
)
from decisions import urls as decisions_urls
from rules import urls as rules_urls

COMMAND_TIMEOUT = 180

# Files whose environment variables are the service's configuration.
CONFIG_SOURCES = [
    REPO_ROOT / "config" / "settings.py",
    REPO_ROOT / "scripts" / "release.sh",
    REPO_ROOT / "config" / "shutdown.py",
    REPO_ROOT / "gunicorn.conf.py",
]
ENV_READ = re.compile(
    r"""(?:env_bool|env_int|env_list|env_rate|os\.environ\.get|os\.environ\[|getenv)\(?\s*["']([A-Z][A-Z0-9_]+)["']"""
    r"""|\$\{([A-Z][A-Z0-9_]+):-"""
)
ENV_LINE = re.compile(r"^#?\s*([A-Z][A-Z0-9_]+)=", re.MULTILINE)


def read_yaml(name: str) -> dict:
    """Return the parsed YAML file *name* of the repository."""
    return yaml.safe_load((REPO_ROOT / name).read_text())


# Read by dj_database_url.config() in the settings, under its default name.
IMPLICIT_VARIABLES = {"DATABASE_URL"}


def configuration_variables() -> set[str]:
    """Return every environment variable the service's configuration reads."""
    found = {
        name
        for path in CONFIG_SOURCES
        for names in ENV_READ.findall(path.read_text())
        for name in names
        if name
    }
    return found | IMPLICIT_VARIABLES


def production_env(**overrides: str) -> dict[str, str]:
    """Return the environment of a production deployment: DEBUG off, safe defaults.

    Every configuration variable that the test run itself sets is dropped,
    so that the settings' own defaults apply unless *overrides* say otherwise.
    """
    env = {k: v for k, v in os.environ.items() if k not in configuration_variables()}
    env.update(
        {
            "PATH": f"{BIN_DIR}{os.pathsep}{os.environ.get('PATH', '')}",
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DEBUG": "False",
            "SECRET_KEY": get_random_secret_key() + get_random_secret_key(),
            "ALLOWED_HOSTS": "rules.example.com",
            "CSRF_TRUSTED_ORIGINS": "https://rules.example.com",
            "LOG_LEVEL": "WARNING",
        }
    )
    env.update(overrides)
    return env


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run a command in the repository, as the image or Render would; capture its output."""
    return subprocess.run(
        args, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=COMMAND_TIMEOUT
    )


def dockerfile_instructions() -> list[tuple[str, str]]:
    """Return the Dockerfile's instructions as (keyword, arguments), lines joined."""
    text = re.sub(r"\\\n\s*", " ", (REPO_ROOT / "Dockerfile").read_text())
    instructions = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, arguments = line.partition(" ")
            instructions.append((keyword.upper(), arguments.strip()))
    return instructions


def runtime_stage() -> list[tuple[str, str]]:
    """Return the instructions of the Dockerfile's last (runtime) stage."""
    instructions = dockerfile_instructions()
    last_from = max(i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM")
    return instructions[last_from:]


def exec_form(arguments: str) -> list[str]:
    """Return the argv of an exec-form ``CMD``/``HEALTHCHECK CMD`` argument list."""
    return json.loads(arguments[arguments.index("[") :])


# --- Settings -------------------------------------------------------------------


def test_check_deploy_reports_no_issue_with_production_settings():
    result = run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        production_env(),
    )

    assert result.returncode == 0, result.stdout + result.stderr
    # The one silenced check is HSTS preloading's reminder: preloading is opt-in.
    assert "System check identified no issues (1 silenced)." in result.stdout


def test_check_deploy_reports_no_issue_with_hsts_preloading_opted_in():
    result = run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        production_env(SECURE_HSTS_PRELOAD="True"),
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_settings_refuse_to_start_without_a_secret_key_when_debug_is_off():
    result = run([sys.executable, "manage.py", "check"], production_env(SECRET_KEY=""))

    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"DECISION_LOG": "sometimes"}, "DECISION_LOG must be one of all, failed, off"),
        ({"DECISION_LOG_RETENTION_DAYS": "0"}, "DECISION_LOG_RETENTION_DAYS must be at least 1"),
    ],
)
def test_settings_refuse_to_start_with_a_decision_log_setting_out_of_range(variables, message):
    result = run([sys.executable, "manage.py", "check"], production_env(**variables))

    assert result.returncode != 0
    assert message in result.stderr


@pytest.mark.parametrize(
    "variables",
    [
        {"DATABASE_REPLICA_URL": "sqlite:///replica.sqlite3"},
        {"DATABASE_REPLICA_URL": "postgres://rules@replica.example.com:5432/rules"},
    ],
    ids=["sqlite-replica", "sqlite-primary"],
)
def test_settings_refuse_a_read_replica_unless_both_databases_are_postgresql(variables):
    result = run([sys.executable, "manage.py", "check"], production_env(**variables))

    assert result.returncode != 0
    assert "DATABASE_REPLICA_URL needs PostgreSQL" in result.stderr


SHOW_HOSTS = (
    "import json, sys; from django.conf import settings; "
    "sys.stdout.write(json.dumps([settings.ALLOWED_HOSTS, settings.CSRF_TRUSTED_ORIGINS]))"
)


def test_hosts_and_origins_come_from_the_environment_and_render_adds_its_hostname():
    env = production_env(
        ALLOWED_HOSTS="rules.example.com, api.example.com",
        CSRF_TRUSTED_ORIGINS="https://rules.example.com",
        RENDER_EXTERNAL_HOSTNAME="rule-engine.onrender.com",
    )

    result = run(
        [sys.executable, "manage.py", "shell", "--no-imports", "--command", SHOW_HOSTS], env
    )

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [
        ["rules.example.com", "api.example.com", "rule-engine.onrender.com"],
        ["https://rules.example.com"],
    ]


ASK_OVER_HTTP_CLAIMING_HTTPS = (
    "import sys; from django.test import Client; "
    "response = Client().get('/no-such-path/', HTTP_X_FORWARDED_PROTO='https', "
    "HTTP_HOST='rules.example.com'); "
    "sys.stdout.write(str(response.status_code))"
)


@pytest.mark.parametrize(("trust", "status"), [("False", "301"), ("True", "404")])
def test_x_forwarded_proto_is_believed_only_behind_a_trusted_proxy(trust, status):
    env = production_env(SECURE_SSL_REDIRECT="True", TRUST_X_FORWARDED_PROTO=trust)

    result = run(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", ASK_OVER_HTTP_CLAIMING_HTTPS],
        env,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == status


def test_env_example_and_the_readme_list_every_configuration_variable():
    variables = configuration_variables()
    in_example = set(ENV_LINE.findall((REPO_ROOT / ".env.example").read_text()))
    guide = (REPO_ROOT / "README.md").read_text()

    assert {"DEBUG", "SECRET_KEY", "DATABASE_URL", "WEB_CONCURRENCY"} <= variables
    assert sorted(variables - in_example) == []
    assert sorted(name for name in variables if f"`{name}`" not in guide) == []


def test_gunicorn_takes_workers_and_timeouts_from_the_environment(monkeypatch):
    monkeypatch.setenv("WEB_CONCURRENCY", "5")
    monkeypatch.setenv("PORT", "10000")
    monkeypatch.delenv("BIND", raising=False)

    conf = runpy.run_path(str(REPO_ROOT / "gunicorn.conf.py"))

    # The loopback only, unless BIND says otherwise: a proxy stands in front.
    assert (conf["workers"], conf["bind"]) == (5, "127.0.0.1:10000")
    assert conf["worker_class"] == "config.shutdown.DrainingSyncWorker"
    # Render and docker-compose (stop_grace_period) allow 30 s after SIGTERM.
    assert conf["timeout"] <= 30
    assert conf["graceful_timeout"] < 30


def test_gunicorn_binds_where_bind_says(monkeypatch):
    monkeypatch.setenv("PORT", "10000")
    monkeypatch.setenv("BIND", "0.0.0.0:8000")

    conf = runpy.run_path(str(REPO_ROOT / "gunicorn.conf.py"))

    assert conf["bind"] == "0.0.0.0:8000"


# --- What the image, docker-compose and Render run --------------------------------


def test_a_real_deploy_migrates_and_starts_with_no_orders(tmp_path):
    env = production_env(
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        STATIC_ROOT=str(tmp_path / "static"),
    )

    result = run(["bash", "build.sh"], env)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "seeded" not in result.stdout.lower()
    with sqlite3.connect(tmp_path / "db.sqlite3") as db:
        assert db.execute("SELECT COUNT(*) FROM orders_order").fetchone() == (0,)


def test_a_demo_build_seeds_the_sample_orders_and_is_safe_to_run_twice(tmp_path):
    env = production_env(
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        STATIC_ROOT=str(tmp_path / "static"),
        SEED_DEMO_ORDERS="1",
    )

    first = run(["bash", "build.sh"], env)
    second = run(["bash", "build.sh"], env)

    assert first.returncode == 0, first.stdout + first.stderr
    assert "Seeded 3 orders." in first.stdout
    assert second.returncode == 0, second.stdout + second.stderr
    assert "Orders already exist; nothing seeded." in second.stdout
    assert (tmp_path / "static" / "staticfiles.json").exists()
    with sqlite3.connect(tmp_path / "db.sqlite3") as db:
        assert db.execute("SELECT COUNT(*) FROM orders_order").fetchone() == (3,)


@pytest.mark.server
def test_the_images_build_compose_and_start_commands_serve_a_healthy_service(tmp_path):
    port = free_port()
    env = production_env(
        ALLOWED_HOSTS="localhost,127.0.0.1",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        STATIC_ROOT=str(tmp_path / "static"),
        PORT=str(port),
        # The image binds 0.0.0.0; tests stay on the loopback.
        BIND=f"127.0.0.1:{port}",
        SECURE_SSL_REDIRECT="True",
    )
    stage = runtime_stage()
    build_steps = [args for keyword, args in stage if keyword == "RUN" and "manage.py" in args]
    [command] = [exec_form(args) for keyword, args in stage if keyword == "CMD"]
    [healthcheck] = [exec_form(args) for keyword, args in stage if keyword == "HEALTHCHECK"]
    compose_migrate = read_yaml("docker-compose.yml")["services"]["migrate"]["command"]

    assert any("collectstatic" in step for step in build_steps)
    for step in build_steps:
        result = run(["sh", "-c", step], env)
        assert result.returncode == 0, result.stderr
    result = run(compose_migrate, env)
    assert result.returncode == 0, result.stderr

    log_path = tmp_path / "gunicorn.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 30
        while run(healthcheck, env).returncode != 0:
            assert server.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.2)
    finally:
        server.send_signal(signal.SIGTERM)
        exit_code = server.wait(timeout=60)

    assert exit_code == 0
    assert run(healthcheck, env).returncode == 1
    logged = [json.loads(line) for line in log_path.read_text().splitlines() if line]
    assert {"time", "level", "logger", "message"} <= set(logged[0])


def test_render_starts_the_image_command_and_builds_with_the_build_script():
    [web] = read_yaml("render.yaml")["services"]
    [cmd] = [exec_form(args) for keyword, args in runtime_stage() if keyword == "CMD"]

    env = {var["key"]: var["value"] for var in web["envVars"] if "value" in var}

    assert shlex.split(web["startCommand"]) == cmd
    # Render's proxy reaches the service on every interface, at PORT.
    assert env["BIND"] == f"0.0.0.0:{env['PORT']}"
    assert web["buildCommand"] == "./build.sh"
    assert os.access(REPO_ROOT / "build.sh", os.X_OK)


# --- Files only CI on GitHub can exercise ----------------------------------------


def test_dockerfile_builds_wheels_then_a_slim_non_root_runtime():
    instructions = dockerfile_instructions()
    stages = [args for keyword, args in instructions if keyword == "FROM"]
    runtime = runtime_stage()
    env_lines = " ".join(args for keyword, args in runtime if keyword == "ENV")
    [user] = [args for keyword, args in runtime if keyword == "USER"]
    [healthcheck] = [args for keyword, args in runtime if keyword == "HEALTHCHECK"]

    assert len(stages) == 2
    assert "pip wheel" in " ".join(args for keyword, args in instructions if keyword == "RUN")
    assert all("-slim" in stage for stage in stages)
    assert "PYTHONDONTWRITEBYTECODE=1" in env_lines
    assert "PYTHONUNBUFFERED=1" in env_lines
    # Reached by the proxy over the compose network, not by the loopback.
    assert "BIND=0.0.0.0:8000" in env_lines
    assert user.split(":")[0] not in {"0", "root"}
    assert ("EXPOSE", "8000") in runtime
    assert "scripts/healthcheck.py" in healthcheck


def test_dockerignore_keeps_environments_secrets_databases_and_caches_out():
    ignored = set((REPO_ROOT / ".dockerignore").read_text().split())

    assert {".venv", ".env", "*.sqlite3", "__pycache__", ".pytest_cache", ".git"} <= ignored


def test_compose_runs_postgres_migrates_once_then_serves_both_pools():
    compose = read_yaml("docker-compose.yml")
    db, migrate, web, analysis = (
        compose["services"][name] for name in ("db", "migrate", "web", "analysis")
    )

    assert db["image"] == "postgres:15"
    volume = db["volumes"][0].split(":")
    assert volume == ["pgdata", "/var/lib/postgresql/data"]
    assert "pgdata" in compose["volumes"]
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    assert migrate["depends_on"] == {"db": {"condition": "service_healthy"}}
    assert migrate["command"] == ["bash", "scripts/release.sh"]
    for pool in (web, analysis):
        assert pool["depends_on"] == {
            "db": {"condition": "service_healthy"},
            "migrate": {"condition": "service_completed_successfully"},
        }
        assert "command" not in pool  # the image's gunicorn command
        # nginx is the one proxy in front, setting X-Forwarded-For.
        assert pool["environment"]["NUM_PROXIES"] == "1"
    for service in (migrate, web, analysis):
        assert service["env_file"] == ".env"
        assert service["environment"]["DATABASE_URL"].startswith("postgres://")
        assert "@db:5432/" in service["environment"]["DATABASE_URL"]
    # The analysis pool has its own number of workers.
    assert analysis["environment"]["WEB_CONCURRENCY"] == "${ANALYSIS_CONCURRENCY:-2}"
    assert "WEB_CONCURRENCY" not in web["environment"]


def test_compose_publishes_only_nginx_which_runs_deploy_nginx_in_front_of_the_pools():
    compose = read_yaml("docker-compose.yml")
    nginx = compose["services"]["nginx"]
    template = PROXY_TEMPLATE.read_text()
    variables = set(re.findall(r"\$\{([A-Z_]+)\}", template))

    published = sorted(name for name, service in compose["services"].items() if "ports" in service)
    assert published == ["nginx", "prometheus"]
    assert nginx["ports"] == ["${WEB_PORTS:-8000}:8000"]
    assert re.fullmatch(r"nginx:\d+\.\d+", nginx["image"])
    assert nginx["volumes"] == ["./deploy/nginx/templates:/etc/nginx/templates:ro"]
    assert nginx["depends_on"] == {
        "web": {"condition": "service_healthy"},
        "analysis": {"condition": "service_healthy"},
    }
    environment = dict(nginx["environment"])
    # The image substitutes only these: nginx's own $variables stay as they are.
    assert environment.pop("NGINX_ENVSUBST_FILTER") == "^PROXY_"
    assert set(environment) == variables
    assert environment["PROXY_LISTEN"] == "8000"
    assert environment["PROXY_CHECK_POOL"] == "web:8000"
    assert environment["PROXY_ANALYSIS_POOL"] == "analysis:8000"
    assert environment["PROXY_MAX_BODY"] == "${MAX_REQUEST_BYTES:-1048576}"


def test_the_proxys_own_errors_have_the_apis_error_body():
    template = PROXY_TEMPLATE.read_text()
    pages = dict(re.findall(r"error_page (\d+) @([a-z_]+);", template))
    bodies = {
        name: (int(status), json.loads(body))
        for name, status, body in re.findall(
            r"location @([a-z_]+) \{\s*default_type application/json;\s*return (\d+) '([^']*)';",
            template,
        )
    }

    assert sorted(pages) == ["413", "502", "504"]
    assert set(pages.values()) == set(bodies)
    for status, name in pages.items():
        returned, body = bodies[name]
        assert returned == int(status)
        assert set(body) == {"error", "code", "detail"}
        assert body["error"] == HTTPStatus(returned).phrase
        assert body["code"] == name


def _sample_path(namespace: str, pattern: URLPattern) -> str:
    """Return a path that *pattern* of *namespace* matches, with made-up arguments."""
    samples = {IntConverter: 1, SlugConverter: "checkout"}
    arguments = {
        name: samples[type(converter)] for name, converter in pattern.pattern.converters.items()
    }
    return reverse(f"{namespace}:{pattern.name}", kwargs=arguments)


# Besides the views of the `analyze` scope, what holds a worker for seconds:
# the largest batch (1000 orders x 100 rules) takes seconds to check.
BULK_ROUTES = {"rules:rule-check-batch"}


@pytest.mark.server
def test_the_proxy_sends_exactly_analysis_and_batches_to_the_analysis_pool(
    gunicorn_site, tmp_path
):
    """Every URL of the rules and decisions APIs is asked through nginx; its log says where."""
    _, env = gunicorn_site
    paths = {
        f"{urls.app_name}:{pattern.name}": _sample_path(urls.app_name, pattern)
        for urls in (rules_urls, decisions_urls)
        for pattern in urls.urlpatterns
    }
    expected = {
        route
        for route, path in paths.items()
        if view_scope(resolve(path).func.view_class) == Scope.ANALYZE or route in BULK_ROUTES
    }

    with start_proxied_stack(env, tmp_path) as stack:
        for route, path in paths.items():
            http_request(f"{stack.url}{path}", headers={"X-Request-ID": route.replace(":", ".")})
        analysis_log = stack.analysis.log()
        checks_log = stack.checks.log()

    served = {
        route for route in paths if f'"request_id":"{route.replace(":", ".")}"' in analysis_log
    }
    assert {"rules:rule-report", "decisions:decision-list"} < expected
    assert served == expected
    assert all(
        f'"request_id":"{route.replace(":", ".")}"' in checks_log
        for route in paths.keys() - expected
    )


def test_render_blueprint_wires_a_free_web_service_to_a_free_database():
    blueprint = read_yaml("render.yaml")
    [database] = blueprint["databases"]
    [web] = blueprint["services"]
    env = {var["key"]: var for var in web["envVars"]}

    assert (database["plan"], web["plan"], web["type"]) == ("free", "free", "web")
    assert env["DATABASE_URL"]["fromDatabase"] == {
        "name": database["name"],
        "property": "connectionString",
    }
    assert env["SECRET_KEY"] == {"key": "SECRET_KEY", "generateValue": True}
    assert env["DEBUG"]["value"] == "False"
    assert env["TRUST_X_FORWARDED_PROTO"]["value"] == "True"
    assert env["SEED_DEMO_ORDERS"]["value"] == "1"
    assert web["healthCheckPath"] == "/health/"


def test_github_workflow_lints_tests_both_databases_on_two_pythons_and_builds_the_image():
    workflow = read_yaml(".github/workflows/ci.yml")
    jobs = workflow["jobs"]
    steps = {
        name: " ".join(str(step.get("run", "")) for step in job["steps"])
        for name, job in jobs.items()
    }

    assert "make lint" in steps["lint"]
    assert "pip-audit --strict" in steps["lint"]
    for name in ("test-sqlite", "test-postgres"):
        assert jobs[name]["strategy"]["matrix"]["python-version"] == ["3.11", "3.12"]
    assert "make test " in steps["test-sqlite"] + " "
    assert jobs["test-postgres"]["services"]["postgres"]["image"] == "postgres:15"
    assert "pytest" in steps["test-postgres"]
    assert any(
        step.get("uses", "").startswith("docker/build-push-action")
        for step in jobs["docker"]["steps"]
    )


@pytest.mark.parametrize(
    "script",
    [
        "build.sh",
        "scripts/with-postgres.sh",
        "scripts/ensure-promtool.sh",
        "scripts/ensure-nginx.sh",
    ],
)
def test_shell_scripts_stop_at_the_first_error(script):
    assert "set -euo pipefail" in (REPO_ROOT / script).read_text()


# --- Monitoring: Prometheus's configuration and alerts ----------------------------

PROMETHEUS_DIR = REPO_ROOT / "deploy" / "prometheus"
ALERTS = {
    "RuleErrorRateHigh",
    "CheckLatencyHigh",
    "ReadinessFailing",
    "ServiceDown",
    "ThrottlingSpike",
    "DatabaseDiskLow",
}


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    """Run promtool in deploy/prometheus; skip where it is not installed.

    ``make test`` installs it first (scripts/ensure-promtool.sh), so CI runs it.
    """
    found = shutil.which("promtool")
    if found is None:
        pytest.skip(
            "promtool is not installed; make test installs it (scripts/ensure-promtool.sh)"
        )
    return subprocess.run(
        [found, *args],
        cwd=PROMETHEUS_DIR,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )


def test_the_alert_rules_are_valid_and_fire_exactly_when_their_tests_say():
    checked = promtool("check", "rules", "alerts.yml")
    tested = promtool("test", "rules", "alerts.test.yml")

    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(ALERTS)} rules found" in checked.stdout
    assert tested.returncode == 0, tested.stdout + tested.stderr
    tested_alerts = {
        case["alertname"]
        for test in yaml.safe_load((PROMETHEUS_DIR / "alerts.test.yml").read_text())["tests"]
        for case in test["alert_rule_test"]
    }
    assert tested_alerts == ALERTS


def test_the_scrape_config_is_valid_and_asks_every_replica_with_the_token():
    checked = promtool("check", "config", "--syntax-only", "prometheus.yml")
    config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())

    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert config["rule_files"] == ["alerts.yml"]
    [job] = config["scrape_configs"]
    assert job["metrics_path"] == "/metrics"
    assert job["authorization"] == {
        "type": "Bearer",
        "credentials_file": "/run/secrets/metrics_token",
    }
    assert job["dns_sd_configs"] == [{"names": ["web", "analysis"], "type": "A", "port": 8000}]


# A scrape reads the decision log's size from the database.
@pytest.mark.django_db
def test_the_alerts_ask_only_for_metrics_the_service_exports(scrape):
    """A renamed metric would leave an alert that never fires; promtool cannot tell."""
    rules = yaml.safe_load((PROMETHEUS_DIR / "alerts.yml").read_text())
    [group] = rules["groups"]
    expressions = " ".join(rule["expr"] for rule in group["rules"])
    asked = {
        re.sub(r"_(total|bucket|count|sum)$", "", name)
        for name in re.findall(r"\b(?:rule_engine|process)_[a-z_]+", expressions)
    }

    assert {rule["alert"] for rule in group["rules"]} == ALERTS
    assert all(rule["labels"]["severity"] in {"page", "ticket"} for rule in group["rules"])
    assert asked
    assert asked <= set(scrape().families)
    assert re.findall(r"\bup\{[^}]*\}", expressions) == ['up{job="rule-engine"}']


def test_compose_runs_prometheus_only_under_the_monitoring_profile():
    compose = read_yaml("docker-compose.yml")
    prometheus = compose["services"]["prometheus"]

    assert prometheus["profiles"] == ["monitoring"]
    assert re.fullmatch(r"prom/prometheus:v\d+\.\d+\.\d+", prometheus["image"])
    assert "./deploy/prometheus:/etc/prometheus:ro" in prometheus["volumes"]
    assert "--config.file=/etc/prometheus/prometheus.yml" in prometheus["command"]
    assert prometheus["secrets"] == ["metrics_token"]
    assert compose["secrets"]["metrics_token"] == {"environment": "METRICS_TOKEN"}
    assert all(
        "profiles" not in compose["services"][name]
        for name in ("db", "migrate", "web", "analysis", "nginx")
    )
