"""Deployment: production settings, and the Docker, docker-compose, Render and Kubernetes files.

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
from urllib.parse import urlsplit

import pytest
import yaml
from django.conf import settings
from django.core.management import get_commands
from django.core.management.utils import get_random_secret_key
from django.urls import URLPattern, resolve, reverse
from django.urls.converters import IntConverter, SlugConverter

from api.auth import view_scope
from api.models import Scope
from config.shutdown import STREAM_GRACE_SECONDS, drain_seconds
from config.tests.servers import (
    BALANCER_BACKEND,
    BALANCER_CONFIG,
    BALANCER_REPLICAS,
    BIN_DIR,
    MAX_REQUEST_BYTES,
    PROXY_TEMPLATE,
    REPO_ROOT,
    Cluster,
    free_port,
    http_request,
    start_proxied_stack,
)
from config.urls import DECISION_URLS
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
        ({"DECISION_PARTITIONS_AHEAD": "0"}, "DECISION_PARTITIONS_AHEAD must be at least 1"),
    ],
)
def test_settings_refuse_to_start_with_a_decision_log_setting_out_of_range(variables, message):
    result = run([sys.executable, "manage.py", "check"], production_env(**variables))

    assert result.returncode != 0
    assert message in result.stderr


@pytest.mark.parametrize("name", ["PROVIDER_MAX_CONCURRENCY", "PROVIDER_BREAKER_FAILURES"])
def test_settings_refuse_to_start_with_no_provider_call_allowed(name):
    result = run([sys.executable, "manage.py", "check"], production_env(**{name: "0"}))

    assert result.returncode != 0
    assert f"{name} must be at least 1" in result.stderr


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


SHOW_CACHES = (
    "import json, sys; from django.conf import settings; "
    "sys.stdout.write(json.dumps(settings.CACHES))"
)


@pytest.mark.parametrize("redis_url", ["", "redis://cache.internal:6379/0"])
def test_providers_answers_have_a_cache_of_their_own_beside_the_throttles(redis_url):
    env = production_env(REDIS_URL=redis_url) if redis_url else production_env()

    result = run(
        [sys.executable, "manage.py", "shell", "--no-imports", "--command", SHOW_CACHES], env
    )

    assert result.returncode == 0, result.stderr
    caches = json.loads(result.stdout)
    if redis_url:
        assert caches["providers"] == {
            **caches["default"],
            "KEY_PREFIX": "providers",
        }
        assert caches["default"]["LOCATION"] == redis_url
        # Both reuse one Redis client per process (api.redis_cache).
        assert caches["default"]["BACKEND"] == "api.redis_cache.ReusedClientRedisCache"
    else:
        assert caches["providers"] == {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "provider_cache",
            "KEY_PREFIX": "providers",
            "OPTIONS": {"MAX_ENTRIES": 10_000},
        }
        assert caches["default"]["LOCATION"] == "django_cache"


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


# A row of the configuration page's table of variables: | `NAME` | meaning | default |
DOCS_VARIABLE_ROW = re.compile(r"^\| `([A-Z][A-Z0-9_]+)` \|", re.MULTILINE)


def test_env_example_and_the_configuration_page_list_every_configuration_variable():
    variables = configuration_variables()
    in_example = set(ENV_LINE.findall((REPO_ROOT / ".env.example").read_text()))
    page = (REPO_ROOT / "docs" / "configuration.md").read_text()
    documented = DOCS_VARIABLE_ROW.findall(page)

    assert {"DEBUG", "SECRET_KEY", "DATABASE_URL", "WEB_CONCURRENCY"} <= variables
    assert sorted(variables - in_example) == []
    assert len(documented) == len(set(documented)), "a variable has two rows"
    assert sorted(set(documented) ^ variables) == []


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


def test_gunicorn_prepares_each_workers_provider_calls_before_it_serves(monkeypatch):
    prepared = []
    monkeypatch.setattr("rules.fetching.prepare_runtime", lambda: prepared.append(True))
    conf = runpy.run_path(str(REPO_ROOT / "gunicorn.conf.py"))

    conf["post_worker_init"](None)

    assert prepared == [True]


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


def test_a_demo_build_seeds_the_sample_and_realistic_orders_and_is_safe_to_run_twice(tmp_path):
    env = production_env(
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        STATIC_ROOT=str(tmp_path / "static"),
        SEED_DEMO_ORDERS="1",
    )

    first = run(["bash", "build.sh"], env)
    second = run(["bash", "build.sh"], env)

    assert first.returncode == 0, first.stdout + first.stderr
    assert "Seeded 3 orders.\nSeeded 500 realistic orders." in first.stdout
    assert second.returncode == 0, second.stdout + second.stderr
    assert "Orders already exist; nothing seeded." in second.stdout
    assert "no realistic orders added" in second.stdout
    assert (tmp_path / "static" / "staticfiles.json").exists()
    with sqlite3.connect(tmp_path / "db.sqlite3") as db:
        assert db.execute("SELECT COUNT(*) FROM orders_order").fetchone() == (503,)
        assert db.execute(
            "SELECT COUNT(*) FROM orders_order WHERE lines_count = 0"
        ).fetchone() == (3,)


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


def test_the_balancer_checks_readiness_and_retries_only_connections_that_failed():
    config = BALANCER_CONFIG.read_text()
    directives = [
        line.strip() for line in config.splitlines() if line.strip()[:1] not in ("", "#")
    ]
    servers = re.findall(r'^\s*server (\S+) "\$\{(HAPROXY_REPLICA_\d)\}"$', config, re.MULTILINE)
    variables = set(re.findall(r"\$\{([A-Z0-9_]+)\}", config))

    # A request that a replica may have received is never sent again.
    assert [line for line in directives if line.startswith("retry-on")] == [
        "retry-on conn-failure"
    ]
    assert "option http-server-close" in directives
    assert f"backend {BALANCER_BACKEND}" in directives
    assert (
        'http-check send meth GET uri /health/ready ver HTTP/1.1 hdr Host "${HAPROXY_CHECK_HOST}"'
        in directives
    )
    assert "http-check expect status 200" in directives
    # The names and variables that config/tests/servers.py: start_balancer gives it.
    assert [name for name, _ in servers] == [
        Cluster.server_name(index) for index in range(BALANCER_REPLICAS)
    ]
    assert variables == {
        "HAPROXY_LISTEN",
        "HAPROXY_RUNTIME_SOCKET",
        "HAPROXY_CHECK_HOST",
        *(variable for _, variable in servers),
    }


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
        f"{app}:{pattern.name}": _sample_path(app, pattern)
        for app, patterns in (("rules", rules_urls.urlpatterns), ("decisions", DECISION_URLS))
        for pattern in patterns
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


def test_github_workflow_lints_tests_both_databases_and_the_replicas_and_builds_the_image():
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
    assert 'pytest -m "not scale and not sqlite"' in steps["test-postgres"]
    assert "make test-scale" in steps["test-scale"]
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
        "scripts/ensure-haproxy.sh",
    ],
)
def test_shell_scripts_stop_at_the_first_error(script):
    assert "set -euo pipefail" in (REPO_ROOT / script).read_text()


# --- Kubernetes (deploy/kubernetes; `make lint` validates it against the schemas) ---

KUBERNETES_DIR = REPO_ROOT / "deploy" / "kubernetes"
# What the official nginx image reads besides the template's own variables.
NGINX_IMAGE_VARIABLES = {"NGINX_ENVSUBST_FILTER"}


def kubernetes_manifests() -> dict[tuple[str, str], dict]:
    """Return every manifest of deploy/kubernetes and its example, by kind and name."""
    paths = [*KUBERNETES_DIR.glob("*.yaml"), *KUBERNETES_DIR.glob("example/*.yaml")]
    documents = [yaml.safe_load(path.read_text()) for path in paths]
    return {(doc["kind"], doc["metadata"]["name"]): doc for doc in documents}


def pod_containers() -> dict[str, dict]:
    """Return the containers of the Deployment's pod, by name."""
    pod = kubernetes_manifests()[("Deployment", "rule-engine")]["spec"]["template"]["spec"]
    return {container["name"]: container for container in pod["containers"]}


def container_env(container: dict) -> dict[str, str]:
    """Return the variables a container sets itself (``env``), by name."""
    return {var["name"]: var["value"] for var in container.get("env", [])}


def pool_conf(monkeypatch: pytest.MonkeyPatch, container: dict) -> dict:
    """Return gunicorn.conf.py as it runs in *container*, with its ConfigMap and its own env."""
    config_map = kubernetes_manifests()[("ConfigMap", "rule-engine")]["data"]
    for name, value in {**config_map, **container_env(container)}.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(REPO_ROOT / "gunicorn.conf.py"))


def test_kubernetes_pod_is_nginx_before_the_two_pools_on_the_pods_loopback(monkeypatch):
    manifests = kubernetes_manifests()
    containers = pod_containers()
    nginx = container_env(containers["nginx"])
    [port] = containers["nginx"]["ports"]
    [service_port] = manifests[("Service", "rule-engine")]["spec"]["ports"]
    template = manifests[("ConfigMap", "rule-engine-nginx")]["data"]
    pod = manifests[("Deployment", "rule-engine")]["spec"]["template"]

    assert sorted(containers) == ["analysis", "checks", "nginx"]
    assert template == {PROXY_TEMPLATE.name: PROXY_TEMPLATE.read_text()}
    # Only nginx faces clients: the Service and the scrapes reach its port.
    assert (port["containerPort"], port["name"]) == (int(nginx["PROXY_LISTEN"]), "http")
    assert service_port["targetPort"] == "http"
    assert pod["metadata"]["annotations"]["prometheus.io/port"] == nginx["PROXY_LISTEN"]
    assert pod["metadata"]["annotations"]["prometheus.io/path"] == "/metrics"
    assert [c.get("ports") for c in (containers["checks"], containers["analysis"])] == [None] * 2
    for pool, upstream in (("checks", "PROXY_CHECK_POOL"), ("analysis", "PROXY_ANALYSIS_POOL")):
        with monkeypatch.context() as patched:
            bind = pool_conf(patched, containers[pool])["bind"]
        assert bind == nginx[upstream]
        assert bind == f"127.0.0.1:{container_env(containers[pool])['PORT']}"
    assert nginx["PROXY_MAX_BODY"] == str(MAX_REQUEST_BYTES)
    assert nginx["NGINX_ENVSUBST_FILTER"] == "^PROXY_"


def test_kubernetes_manifests_set_only_variables_the_code_or_nginx_reads():
    manifests = kubernetes_manifests()
    config_map = manifests[("ConfigMap", "rule-engine")]["data"]
    secret = manifests[("Secret", "rule-engine")]["stringData"]
    containers = pod_containers()
    job = manifests[("Job", "rule-engine-migrate")]["spec"]["template"]["spec"]
    template_variables = set(re.findall(r"\$\{([A-Z_]+)\}", PROXY_TEMPLATE.read_text()))
    pools_and_job = [containers["checks"], containers["analysis"], *job["containers"]]

    assert set(container_env(containers["nginx"])) == template_variables | NGINX_IMAGE_VARIABLES
    assert sorted(set(config_map) - configuration_variables()) == []
    assert sorted(set(secret) - configuration_variables()) == []
    assert {"SECRET_KEY", "DATABASE_URL", "METRICS_TOKEN"} <= set(secret)
    for container in pools_and_job:
        assert sorted(set(container_env(container)) - configuration_variables()) == []
        assert container["envFrom"] == [
            {"configMapRef": {"name": "rule-engine"}},
            {"secretRef": {"name": "rule-engine"}},
        ]
    # Every request reaches the pools from nginx on the loopback: no address may scrape.
    assert config_map["METRICS_ALLOWED_IPS"] == ""
    assert config_map["NUM_PROXIES"] == "1"


def test_kubernetes_cron_jobs_run_the_decision_logs_commands_with_the_pools_environment():
    cron_jobs = {
        name: doc["spec"]
        for (kind, name), doc in kubernetes_manifests().items()
        if kind == "CronJob"
    }
    commands = get_commands()

    assert sorted(cron_jobs) == ["rule-engine-decision-partitions", "rule-engine-purge-decisions"]
    for spec in cron_jobs.values():
        [container] = spec["jobTemplate"]["spec"]["template"]["spec"]["containers"]
        assert container["command"][:2] == ["python", "manage.py"]
        assert commands[container["command"][2]] == "decisions"
        assert container["envFrom"] == [
            {"configMapRef": {"name": "rule-engine"}},
            {"secretRef": {"name": "rule-engine"}},
        ]
        # Partitions are days of UTC: the schedules are read in UTC too.
        assert (spec["timeZone"], spec["concurrencyPolicy"]) == ("Etc/UTC", "Forbid")


def test_kubernetes_probes_ask_the_services_health_paths():
    containers = pod_containers()
    config_map = kubernetes_manifests()[("ConfigMap", "rule-engine")]["data"]
    readiness = containers["nginx"]["readinessProbe"]["httpGet"]
    liveness = [
        containers[pool]["livenessProbe"]["exec"]["command"] for pool in ("checks", "analysis")
    ]

    # Asked through nginx, of the check pool: what traffic needs.
    assert resolve(readiness["path"]).url_name == "health-ready"
    assert readiness["port"] == "http"
    assert readiness["httpHeaders"] == [
        {"name": "Host", "value": config_map["ALLOWED_HOSTS"].split(",")[0]}
    ]
    for command in liveness:
        script, path = command[1:]
        assert (command[0], script) == ("python", "scripts/healthcheck.py")
        assert resolve(path).url_name == "health-live"
    # The pools' own readiness is the pod's through nginx; a pool has none of its own.
    assert all("readinessProbe" not in containers[pool] for pool in ("checks", "analysis"))
    # healthcheck.py waits TIMEOUT_SECONDS for an answer.
    probes = [containers["nginx"]["readinessProbe"]]
    probes += [containers[pool]["livenessProbe"] for pool in ("checks", "analysis")]
    assert all(probe["timeoutSeconds"] > 4 for probe in probes)


def test_kubernetes_liveness_never_restarts_a_pool_busy_within_its_budgets(monkeypatch):
    containers = pod_containers()

    def silence(pool: str) -> int:
        probe = containers[pool]["livenessProbe"]
        return probe["periodSeconds"] * probe["failureThreshold"]

    with monkeypatch.context() as patched:
        timeout = pool_conf(patched, containers["checks"])["timeout"]

    # A stuck check worker is replaced by gunicorn itself before liveness restarts the pool;
    # every analysis worker may stream a report for its whole time.
    assert silence("checks") > timeout
    assert silence("analysis") > settings.REPORT_MAX_SECONDS + STREAM_GRACE_SECONDS


def test_kubernetes_shutdown_leaves_the_endpoints_then_drains_within_the_grace_period(
    monkeypatch,
):
    pod = kubernetes_manifests()[("Deployment", "rule-engine")]["spec"]["template"]["spec"]
    containers = pod_containers()
    sleeps = {
        name: [int(seconds) for seconds in re.findall(r"sleep (\d+)", " ".join(hook))]
        for name, container in containers.items()
        for hook in [container["lifecycle"]["preStop"]["exec"]["command"]]
    }
    with monkeypatch.context() as patched:
        graceful = pool_conf(patched, containers["checks"])["graceful_timeout"]
    [out_of_endpoints] = {seconds[0] for seconds in sleeps.values()}

    assert out_of_endpoints >= 5
    assert 5 <= drain_seconds() <= graceful
    # nginx quits gracefully, then stays while the pools may still answer it.
    assert "nginx -s quit" in " ".join(
        containers["nginx"]["lifecycle"]["preStop"]["exec"]["command"]
    )
    assert sleeps["nginx"] == [out_of_endpoints, graceful]
    assert pod["terminationGracePeriodSeconds"] > out_of_endpoints + graceful


def test_kubernetes_migrates_in_one_job_never_in_the_pods_and_scales_on_cpu():
    manifests = kubernetes_manifests()
    containers = pod_containers()
    deployment = manifests[("Deployment", "rule-engine")]
    [migrate] = manifests[("Job", "rule-engine-migrate")]["spec"]["template"]["spec"]["containers"]
    hpa = manifests[("HorizontalPodAutoscaler", "rule-engine")]["spec"]
    pdb = manifests[("PodDisruptionBudget", "rule-engine")]["spec"]
    service = manifests[("Service", "rule-engine")]["spec"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]

    assert migrate["command"] == read_yaml("docker-compose.yml")["services"]["migrate"]["command"]
    # The pools run the image's command: gunicorn, which never migrates.
    assert {containers[pool]["image"] for pool in ("checks", "analysis")} == {migrate["image"]}
    assert all("command" not in containers[pool] for pool in ("checks", "analysis"))
    assert "replicas" not in deployment["spec"]
    assert hpa["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "rule-engine",
    }
    [metric] = hpa["metrics"]
    assert metric["resource"]["name"] == "cpu"
    # The autoscaler needs every container's CPU request.
    assert all(container["resources"]["requests"]["cpu"] for container in containers.values())
    assert hpa["minReplicas"] > pdb["maxUnavailable"]
    assert pdb["selector"]["matchLabels"].items() <= labels.items()
    assert service["selector"].items() <= labels.items()


@pytest.mark.server
def test_the_kubernetes_liveness_command_asks_a_pool_on_its_own_port(
    gunicorn_site, gunicorn_server
):
    _, env = gunicorn_site
    [command] = {
        tuple(pod_containers()[pool]["livenessProbe"]["exec"]["command"])
        for pool in ("checks", "analysis")
    }
    pool_env = {**env, "PORT": str(urlsplit(gunicorn_server).port)}

    alive = run(list(command), pool_env)
    elsewhere = run([*command[:-1], "/no-such-path/"], pool_env)
    no_pool = run(list(command), {**pool_env, "PORT": str(free_port())})

    assert (alive.returncode, elsewhere.returncode, no_pool.returncode) == (0, 1, 1)


# --- Monitoring: Prometheus's configuration and alerts ----------------------------

PROMETHEUS_DIR = REPO_ROOT / "deploy" / "prometheus"
ALERTS = {
    "RuleErrorRateHigh",
    "CheckLatencyHigh",
    "ReadinessFailing",
    "ServiceDown",
    "ThrottlingSpike",
    "DatabaseDiskLow",
    "ProviderBreakerOpen",
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
