"""Live-server fixtures: gunicorn with production settings, from ``servers``.

``gunicorn_site`` is one prepared site (see ``config.tests.servers``) for the
session; ``gunicorn_server`` is one gunicorn serving it for the whole
session; ``gunicorn_factory`` starts more of them, with extra environment,
for tests that stop or break the server they use; ``proxied_stack`` serves
the site as docker-compose does, nginx in front of the two pools. ``redis_url`` is a
throw-away Redis for the session, emptied before each test that asks for it. The
figures the scale tests record are shown at the end of the run.
"""

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from config.tests.servers import (
    GunicornServer,
    ProxiedStack,
    prepare_site,
    start_gunicorn,
    start_proxied_stack,
    start_redis,
)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Show the figures each scale test recorded (``record_property``), passed or failed."""
    for category in ("passed", "failed"):
        for report in terminalreporter.stats.get(category, []):
            if report.when == "call" and "scale" in report.keywords and report.user_properties:
                figures = ", ".join(f"{name}={value}" for name, value in report.user_properties)
                terminalreporter.write_line(f"{report.nodeid}: {figures}")


@pytest.fixture(scope="session")
def gunicorn_site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """Return a prepared site's folder and environment, shared by the session."""
    site = tmp_path_factory.mktemp("site")
    return site, prepare_site(site)


@pytest.fixture(scope="session")
def gunicorn_server(gunicorn_site: tuple[Path, dict[str, str]]) -> Iterator[str]:
    """Serve the prepared site with gunicorn for the session; yield its base URL."""
    site, env = gunicorn_site
    with start_gunicorn(env, site / "gunicorn-session.log") as server:
        yield server.url


@pytest.fixture(scope="session")
def proxied_stack(
    gunicorn_site: tuple[Path, dict[str, str]], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ProxiedStack]:
    """Serve the prepared site through nginx and its two pools for the session."""
    _, env = gunicorn_site
    with start_proxied_stack(env, tmp_path_factory.mktemp("proxied")) as stack:
        yield stack


@pytest.fixture
def gunicorn_factory(
    gunicorn_site: tuple[Path, dict[str, str]],
) -> Iterator[Callable[..., GunicornServer]]:
    """Return a function that starts a gunicorn on the site with extra environment.

    ``gunicorn_factory(GUNICORN_GRACEFUL_TIMEOUT="2")`` returns a healthy
    ``GunicornServer``; every server it started is stopped after the test.
    """
    site, env = gunicorn_site
    servers: list[GunicornServer] = []

    def start(**extra_env: str) -> GunicornServer:
        """Start one more gunicorn with *extra_env* on top of the site's environment."""
        log_path = site / f"gunicorn-{time.monotonic_ns()}.log"
        server = start_gunicorn({**env, **extra_env}, log_path)
        servers.append(server)
        return server

    try:
        yield start
    finally:
        for server in servers:
            server.stop()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Run a throw-away redis-server for the session; yield its URL."""
    with start_redis(tmp_path_factory.mktemp("redis")) as server:
        yield server.url


@pytest.fixture
def redis_url(redis_server: str) -> str:
    """Return the URL of the session's Redis, emptied for this test."""
    redis.Redis.from_url(redis_server).flushall()
    return redis_server
