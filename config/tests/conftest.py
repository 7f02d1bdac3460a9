"""Live servers for tests of the real stack: gunicorn with production settings.

A *site* is a temporary folder holding a migrated, seeded SQLite database and
the collected static files, plus the environment that production would give
the service (``DEBUG`` off, a random ``SECRET_KEY``). ``gunicorn_server`` is
one gunicorn serving that site for the whole session; ``gunicorn_factory``
starts more of them, with extra environment, for tests that stop or break
the server they use.
"""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.core.management.utils import get_random_secret_key

REPO_ROOT = Path(__file__).resolve().parents[2]
BIN_DIR = Path(sys.executable).parent
STARTUP_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
SETUP_TIMEOUT = 120.0

# Only the loopback: never let a proxy variable send a request elsewhere.
_LOOPBACK_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def production_env(site: Path) -> dict[str, str]:
    """Return the environment of a production deployment whose files are in *site*."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "False",
        "SECRET_KEY": get_random_secret_key(),
        "SECURE_SSL_REDIRECT": "False",
        "DATABASE_URL": f"sqlite:///{site / 'db.sqlite3'}",
        "STATIC_ROOT": str(site / "static"),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "PYTHONUNBUFFERED": "1",
    }


def prepare_site(site: Path) -> dict[str, str]:
    """Migrate, collect static files and seed orders in *site*; return its environment.

    Raises ``RuntimeError``, with the command's output, when a step fails.
    """
    env = production_env(site)
    for command in (
        ["migrate", "--noinput"],
        ["collectstatic", "--noinput"],
        ["seed_orders"],
    ):
        completed = subprocess.run(
            [sys.executable, "manage.py", *command],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=SETUP_TIMEOUT,
        )
        if completed.returncode != 0:
            raise RuntimeError(
                f"manage.py {' '.join(command)} failed with {completed.returncode}:\n"
                f"{completed.stdout}{completed.stderr}"
            )
    return env


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http_get(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    """Return the status and body of a GET of *url*, an error status included."""
    try:
        with _LOOPBACK_OPENER.open(url, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@dataclass
class GunicornServer:
    """A running gunicorn: its process, base URL and log file."""

    process: subprocess.Popen[bytes]
    url: str
    log_path: Path

    def log(self) -> str:
        """Return everything gunicorn and the service have logged so far."""
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = STOP_TIMEOUT) -> int:
        """Stop gunicorn gracefully (SIGTERM), killing it after *timeout* seconds.

        Return its exit code; a server that already exited is left alone.
        """
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        return self.process.returncode

    def wait_until_healthy(self, timeout: float = STARTUP_TIMEOUT) -> None:
        """Return once ``GET /health/`` answers 200.

        Raises ``RuntimeError``, with the log, when gunicorn exits or does not
        answer within *timeout* seconds.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"gunicorn exited with {self.process.returncode}:\n{self.log()}"
                )
            try:
                status, _ = http_get(f"{self.url}/health/", timeout=1.0)
            except OSError:
                status = 0
            if status == 200:
                return
            time.sleep(0.1)
        raise RuntimeError(f"gunicorn did not answer /health/ in {timeout} s:\n{self.log()}")


def start_gunicorn(env: Mapping[str, str], log_path: Path) -> GunicornServer:
    """Start the production gunicorn on a free loopback port and wait until it is healthy.

    Its output goes to *log_path*. It is stopped again if it never becomes
    healthy.
    """
    port = free_port()
    with log_path.open("ab") as log_file:
        process = subprocess.Popen(
            [
                str(BIN_DIR / "gunicorn"),
                "--config",
                "gunicorn.conf.py",
                "--bind",
                f"127.0.0.1:{port}",
            ],
            cwd=REPO_ROOT,
            env=dict(env),
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    server = GunicornServer(process, f"http://127.0.0.1:{port}", log_path)
    try:
        server.wait_until_healthy()
    except BaseException:
        server.stop()
        raise
    return server


@pytest.fixture(scope="session")
def gunicorn_site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """Return a prepared site's folder and environment, shared by the session."""
    site = tmp_path_factory.mktemp("site")
    return site, prepare_site(site)


@pytest.fixture(scope="session")
def gunicorn_server(gunicorn_site: tuple[Path, dict[str, str]]) -> Iterator[str]:
    """Serve the prepared site with gunicorn for the session; yield its base URL."""
    site, env = gunicorn_site
    server = start_gunicorn(env, site / "gunicorn-session.log")
    try:
        yield server.url
    finally:
        server.stop()


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
