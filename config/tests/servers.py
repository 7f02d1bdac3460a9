"""Live servers of the real stack: a prepared site served by production gunicorn.

A *site* is a folder holding a migrated, seeded SQLite database and the
collected static files. ``production_env`` is the environment a production
deployment gives the service on it (``DEBUG`` off, a random ``SECRET_KEY``,
plain HTTP on the loopback), ``prepare_site`` builds the site, and
``start_gunicorn`` serves it with ``gunicorn.conf.py`` until stopped;
``start_proxied_stack`` serves it as docker-compose does, nginx (with
``deploy/nginx``'s configuration) in front of a check pool and an analysis
pool; ``start_cluster`` runs replicas of that stack behind haproxy (with
``deploy/haproxy``'s configuration) and restarts them as its README says;
``start_redis`` starts a throw-away Redis for the cache (``REDIS_URL``).
The fixtures in ``config/tests/conftest.py`` and every script in ``bench/``
start the service through this module, so a test and a benchmark run the same
stack.

It imports neither pytest nor Django's settings: scripts use it before (or
without) setting Django up.
"""

import json
import os
import pwd
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar, NamedTuple, Self
from urllib.parse import urlsplit

import redis
from django.core.management.utils import get_random_secret_key

REPO_ROOT = Path(__file__).resolve().parents[2]
BIN_DIR = Path(sys.executable).parent
# Debian's packages by default; a machine with others names them here.
REDIS_SERVER = os.environ.get("REDIS_SERVER", "/usr/bin/redis-server")
NGINX = os.environ.get("NGINX", "/usr/sbin/nginx")
HAPROXY = os.environ.get("HAPROXY", "/usr/sbin/haproxy")
PROXY_TEMPLATE = REPO_ROOT / "deploy" / "nginx" / "templates" / "rule-engine.conf.template"
BALANCER_CONFIG = REPO_ROOT / "deploy" / "haproxy" / "haproxy.cfg"
# The service's default MAX_REQUEST_BYTES (config/settings.py), which nginx enforces too.
MAX_REQUEST_BYTES = 1024 * 1024
STARTUP_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
SETUP_TIMEOUT = 300.0

# Only the loopback: never let a proxy variable send a request elsewhere.
_LOOPBACK_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def production_env(site: Path, **overrides: str) -> dict[str, str]:
    """Return the environment of a production deployment whose files are in *site*.

    *overrides* (``LOG_LEVEL="INFO"``, ``DJANGO_SETTINGS_MODULE=...``) win
    over the defaults, which win over this process's own environment.
    """
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
        **overrides,
    }


def manage(
    env: Mapping[str, str], *args: str, timeout: float = SETUP_TIMEOUT, root: Path = REPO_ROOT
) -> str:
    """Run ``manage.py *args`` in the repository with *env*; return its output.

    *root* is the checkout whose ``manage.py`` runs (this one by default; a
    benchmark comparing commits gives another's). Raises ``RuntimeError``,
    with the output, when the command fails.
    """
    completed = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=root,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    output = completed.stdout + completed.stderr
    if completed.returncode != 0:
        raise RuntimeError(
            f"manage.py {' '.join(args)} failed with {completed.returncode}:\n{output}"
        )
    return output


def prepare_site(site: Path, *, root: Path = REPO_ROOT, **overrides: str) -> dict[str, str]:
    """Migrate, collect static files and seed orders in *site*; return its environment.

    The environment is ``production_env(site, **overrides)``; the commands
    are those of the checkout at *root*. Raises ``RuntimeError`` when a step
    fails.
    """
    env = production_env(site, **overrides)
    for command in (["migrate", "--noinput"], ["collectstatic", "--noinput"], ["seed_orders"]):
        manage(env, *command, root=root)
    return env


def wait_until(condition: Callable[[], object], timeout: float) -> bool:
    """Return whether *condition* became true within *timeout* seconds, asking every 10 ms."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


class Reply(NamedTuple):
    """The status, headers and body of an HTTP response."""

    status: int
    headers: Message
    body: bytes

    def json(self) -> Any:
        """Return the body decoded from JSON."""
        return json.loads(self.body)


def http_request(
    url: str,
    body: object = None,
    timeout: float = 5.0,
    headers: Mapping[str, str] | None = None,
) -> Reply:
    """GET *url*, or POST *body* to it as JSON when given; return the reply.

    *headers* are sent too. An error status is a reply like any other; a
    failed connection raises ``OSError``.
    """
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(  # noqa: S310 (callers pass loopback http URLs)
        url, data=data, headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with _LOOPBACK_OPENER.open(request, timeout=timeout) as response:
            return Reply(response.status, response.headers, response.read())
    except urllib.error.HTTPError as error:
        return Reply(error.code, error.headers, error.read())


class Stoppable(ABC):
    """Something a test or benchmark started; as a context manager, stopped when the block ends."""

    def __enter__(self) -> Self:
        """Return what was started."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Stop it."""
        self.stop()

    @abstractmethod
    def stop(self) -> object:
        """Stop it."""


@dataclass
class LiveProcess(Stoppable):
    """A running server process of a test or benchmark: its process, URL and log file.

    Used as a context manager, it is stopped when the block ends.
    """

    process: subprocess.Popen[bytes]
    url: str
    log_path: Path

    def log(self) -> str:
        """Return everything the server has logged so far."""
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = STOP_TIMEOUT, signum: int = signal.SIGTERM) -> int:
        """Stop the server with *signum*, killing it after *timeout* seconds.

        Return its exit code; a server that already exited is left alone.
        """
        if self.process.poll() is None:
            self.process.send_signal(signum)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        return self.process.returncode


class HttpServer(LiveProcess):
    """A running HTTP server of the stack, which answers ``GET /health/`` once ready."""

    program: ClassVar[str] = "the server"

    @classmethod
    def launch(
        cls,
        command: Sequence[str],
        *,
        port: int,
        log_path: Path,
        env: Mapping[str, str] | None = None,
        root: Path = REPO_ROOT,
    ) -> Self:
        """Run *command*, which serves on *port*, and return it once healthy.

        Its output is appended to *log_path*; it runs in the checkout at
        *root* (this repository by default) with *env* (this process's
        environment by default). It is stopped again if it never becomes
        healthy.
        """
        with log_path.open("ab") as log_file:
            process = subprocess.Popen(
                command,
                cwd=root,
                env=None if env is None else dict(env),
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )
        server = cls(process, f"http://127.0.0.1:{port}", log_path)
        try:
            server.wait_until_healthy()
        except BaseException:
            server.stop()
            raise
        return server

    def wait_until_healthy(self, timeout: float = STARTUP_TIMEOUT) -> None:
        """Return once ``GET /health/`` answers 200.

        Raises ``RuntimeError``, with the log, when the server exits or does not
        answer within *timeout* seconds.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.program} exited with {self.process.returncode}:\n{self.log()}"
                )
            try:
                status = http_request(f"{self.url}/health/", timeout=1.0).status
            except OSError:
                status = 0
            if status == 200:
                return
            time.sleep(0.1)
        raise RuntimeError(f"{self.program} did not answer /health/ in {timeout} s:\n{self.log()}")


class GunicornServer(HttpServer):
    """A running production gunicorn serving the service."""

    program = "gunicorn"


def start_gunicorn(
    env: Mapping[str, str],
    log_path: Path,
    prefix: Sequence[str] = (),
    port: int | None = None,
    root: Path = REPO_ROOT,
) -> GunicornServer:
    """Start the production gunicorn on a loopback port and wait until it is healthy.

    It runs ``gunicorn.conf.py`` with *env* (``WEB_CONCURRENCY`` workers of
    ``DJANGO_SETTINGS_MODULE``), appending its output to *log_path*, on
    *port* (a free one by default), from the checkout at *root* (this one by
    default). A *prefix* command, which must end by exec'ing the rest, runs
    gunicorn (a namespace, say). It is stopped again if it never becomes
    healthy.
    """
    port = port or free_port()
    command = [
        *prefix,
        str(BIN_DIR / "gunicorn"),
        "--config",
        "gunicorn.conf.py",
        "--bind",
        f"127.0.0.1:{port}",
    ]
    return GunicornServer.launch(command, port=port, log_path=log_path, env=env, root=root)


class ProxyServer(HttpServer):
    """A running nginx with ``deploy/nginx``'s configuration, in front of the pools."""

    program = "nginx"

    def quit(self, timeout: float = STOP_TIMEOUT) -> int:
        """Stop nginx gracefully (SIGQUIT): it stops listening, answers what it has, exits.

        It is killed after *timeout* seconds. Returns its exit code.
        """
        return self.stop(timeout, signal.SIGQUIT)


# The variables of deploy/nginx's template, as docker-compose sets them.
_PROXY_VARIABLE = re.compile(r"\$\{(PROXY_[A-Z_]+)\}")
# Around the template, what the official image's nginx.conf provides; every
# file nginx writes (temporary bodies, its pid and lock) stays in *folder*.
_PROXY_MAIN = """\
{user}worker_processes 1;
lock_file {folder}/nginx.lock;
events {{
    worker_connections 512;
}}
http {{
    client_body_temp_path {folder}/client-body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    access_log off;
    include {folder}/rule-engine.conf;
}}
"""


def render_proxy_config(values: Mapping[str, str]) -> str:
    """Return ``deploy/nginx``'s template with each ``${PROXY_...}`` replaced from *values*.

    The official nginx image does the same with its environment. Raises
    ``KeyError`` for a variable of the template missing from *values*.
    """
    return _PROXY_VARIABLE.sub(lambda found: values[found.group(1)], PROXY_TEMPLATE.read_text())


def start_proxy(
    folder: Path, *, check_pool: str, analysis_pool: str, max_body: int, port: int | None = None
) -> ProxyServer:
    """Start nginx on a loopback port in front of the two pools (``host:port`` each).

    It listens on *port* (a free one by default) and refuses bodies over
    *max_body* bytes. nginx runs ``deploy/nginx``'s template as it
    is, rendered into *folder*, which holds everything nginx writes; its
    output goes to ``folder/nginx.log``. Returns once ``GET /health/``
    answers 200 through it; it is stopped again if it never does.
    """
    port = port or free_port()
    (folder / "rule-engine.conf").write_text(
        render_proxy_config(
            {
                "PROXY_LISTEN": f"127.0.0.1:{port}",
                "PROXY_CHECK_POOL": check_pool,
                "PROXY_ANALYSIS_POOL": analysis_pool,
                "PROXY_MAX_BODY": str(max_body),
            }
        )
    )
    # As root, nginx's workers would become `nobody`, who may not enter a test's folder.
    user = f"user {pwd.getpwuid(os.geteuid()).pw_name};\n" if os.geteuid() == 0 else ""
    (folder / "nginx.conf").write_text(_PROXY_MAIN.format(user=user, folder=folder))
    command = [
        NGINX,
        "-p",
        str(folder),
        "-c",
        str(folder / "nginx.conf"),
        "-e",
        "stderr",
        "-g",
        f"daemon off; pid {folder / 'nginx.pid'};",
    ]
    return ProxyServer.launch(command, port=port, log_path=folder / "nginx.log")


class StackPorts(NamedTuple):
    """The loopback ports of a proxied stack: nginx's and each pool's."""

    proxy: int
    checks: int
    analysis: int


@dataclass
class ProxiedStack(Stoppable):
    """nginx in front of a check pool and an analysis pool: the service as docker-compose runs it.

    Used as a context manager, everything is stopped when the block ends.
    """

    proxy: ProxyServer
    checks: GunicornServer
    analysis: GunicornServer

    @property
    def url(self) -> str:
        """Return the base URL of the service: nginx's."""
        return self.proxy.url

    @property
    def ports(self) -> StackPorts:
        """Return the ports it listens on, to start its replacement on them."""
        return StackPorts(
            *(
                urlsplit(server.url).port or 0
                for server in (self.proxy, self.checks, self.analysis)
            )
        )

    def stop(self) -> None:
        """Stop nginx, then the pools behind it."""
        for server in (self.proxy, self.checks, self.analysis):
            server.stop()

    def shut_down(self) -> None:
        """Stop it without failing a request it has: nginx gracefully, then the pools.

        nginx (SIGQUIT) answers every request it has accepted before it exits;
        then each pool gets SIGTERM and drains (``config/shutdown.py``). A
        request nginx had not accepted yet may still be reset: the balancer
        must have stopped sending to it first (``Cluster.take_out``).
        """
        self.proxy.quit()
        for pool in (self.checks, self.analysis):
            pool.stop()


def start_proxied_stack(
    env: Mapping[str, str],
    folder: Path,
    *,
    check_workers: int = 2,
    analysis_workers: int = 2,
    ports: StackPorts | None = None,
) -> ProxiedStack:
    """Serve the site of *env* as docker-compose does: nginx before a check and an analysis pool.

    Each pool is the production gunicorn (``start_gunicorn``) with its own
    number of workers and ``NUM_PROXIES=1``, since nginx fronts it; nginx is
    ``start_proxy``'s, with the site's ``MAX_REQUEST_BYTES``. Every part
    listens on a loopback port, its own of *ports* (free ones by default),
    and logs to ``folder`` (``checks.log``, ``analysis.log``, ``nginx.log``).
    Returns once the service answers through nginx; whatever had started is
    stopped again if a part does not start.
    """
    pool_env = {**env, "NUM_PROXIES": "1"}
    max_body = int(env.get("MAX_REQUEST_BYTES", MAX_REQUEST_BYTES))
    proxy_port, checks_port, analysis_port = ports or (None, None, None)
    with ExitStack() as started:
        checks = started.enter_context(
            start_gunicorn(
                {**pool_env, "WEB_CONCURRENCY": str(check_workers)},
                folder / "checks.log",
                port=checks_port,
            )
        )
        analysis = started.enter_context(
            start_gunicorn(
                {**pool_env, "WEB_CONCURRENCY": str(analysis_workers)},
                folder / "analysis.log",
                port=analysis_port,
            )
        )
        proxy = start_proxy(
            folder,
            check_pool=urlsplit(checks.url).netloc,
            analysis_pool=urlsplit(analysis.url).netloc,
            max_body=max_body,
            port=proxy_port,
        )
        started.pop_all()
    return ProxiedStack(proxy, checks, analysis)


# deploy/haproxy/haproxy.cfg's backend, and its server lines: replica1, replica2, ...
BALANCER_BACKEND = "replicas"
BALANCER_REPLICAS = 3
# The longest a replica taken out may take to finish the requests it has.
DRAIN_TIMEOUT = 30.0


class BalancedServer(NamedTuple):
    """One server of the balancer, as its runtime API's ``show stat`` reports it."""

    status: str  # UP, DOWN, DRAIN, MAINT, or on the way: "DOWN 1/2"
    sessions: int  # requests under way to it
    answered_2xx: int  # responses with a 2xx status it returned, since haproxy started
    retried: int  # connections to it that failed, tried again there or on another server


class Balancer(HttpServer):
    """A running haproxy with ``deploy/haproxy``'s configuration, in front of the replicas."""

    program = "haproxy"

    @property
    def runtime_socket(self) -> Path:
        """Return the path of its runtime API socket."""
        return self.log_path.with_name("haproxy.sock")

    def command(self, line: str) -> str:
        """Send one command to the runtime API; return its answer."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as api:
            api.settimeout(STOP_TIMEOUT)
            api.connect(str(self.runtime_socket))
            api.sendall(line.encode() + b"\n")
            answer = b"".join(iter(lambda: api.recv(65536), b""))
        return answer.decode()

    def servers(self) -> dict[str, BalancedServer]:
        """Return each server of the backend by name, as ``show stat`` reports it."""
        lines = self.command("show stat").splitlines()
        header = lines[0].removeprefix("# ").split(",")
        rows = [dict(zip(header, line.split(","), strict=False)) for line in lines[1:] if line]
        return {
            row["svname"]: BalancedServer(
                row["status"],
                int(row["scur"]),
                int(row["hrsp_2xx"] or 0),
                int(row["wretr"] or 0) + int(row["wredis"] or 0),
            )
            for row in rows
            if row["pxname"] == BALANCER_BACKEND and row["svname"] not in ("FRONTEND", "BACKEND")
        }

    def set_state(self, server: str, state: str) -> None:
        """Set *server*'s administrative state: ``ready``, ``drain`` or ``maint``.

        Raises ``RuntimeError`` when haproxy refuses the command.
        """
        answer = self.command(f"set server {BALANCER_BACKEND}/{server} state {state}")
        if answer.strip():
            raise RuntimeError(f"haproxy refused to set {server} {state}: {answer}")

    def wait_for(
        self,
        server: str,
        condition: Callable[[BalancedServer], bool],
        what: str,
        timeout: float = STARTUP_TIMEOUT,
    ) -> None:
        """Return once *server* meets *condition*; raise ``RuntimeError`` after *timeout* s.

        *what* names the condition in the error.
        """
        if not wait_until(lambda: condition(self.servers()[server]), timeout):
            raise RuntimeError(
                f"haproxy's {server} is not {what} after {timeout} s: {self.servers()}"
            )


def start_balancer(folder: Path, replicas: Sequence[str], check_host: str) -> Balancer:
    """Start haproxy on a free loopback port in front of *replicas* (``host:port`` each).

    haproxy runs ``deploy/haproxy/haproxy.cfg`` as it is, given its
    variables in its environment; its health checks send *check_host* as the
    Host. Its output goes to ``folder/haproxy.log``, its runtime API is
    ``folder/haproxy.sock``. Returns once every replica is UP; it is stopped
    again if that does not happen.
    """
    if len(replicas) != BALANCER_REPLICAS:
        raise ValueError(f"deploy/haproxy names {BALANCER_REPLICAS} replicas, not {len(replicas)}")
    port = free_port()
    env = {
        **os.environ,
        "HAPROXY_LISTEN": f"127.0.0.1:{port}",
        "HAPROXY_RUNTIME_SOCKET": str(folder / "haproxy.sock"),
        "HAPROXY_CHECK_HOST": check_host,
        **{f"HAPROXY_REPLICA_{number}": address for number, address in enumerate(replicas, 1)},
    }
    command = [HAPROXY, "-db", "-f", str(BALANCER_CONFIG)]
    balancer = Balancer.launch(command, port=port, log_path=folder / "haproxy.log", env=env)
    try:
        for server in balancer.servers():
            balancer.wait_for(server, lambda state: state.status == "UP", "UP")
    except BaseException:
        balancer.stop()
        raise
    return balancer


@dataclass
class Cluster(Stoppable):
    """Replicas of the proxied stack behind haproxy: the service scaled out, as deployed.

    Every replica serves the same site (*env*: one ``DATABASE_URL``, one
    ``REDIS_URL``), and logs in its own folder. A rolling
    restart follows ``deploy/haproxy/README.md``: ``take_out``, then
    ``replace``, one replica after the other. Used as a context manager,
    everything is stopped when the block ends.
    """

    balancer: Balancer
    replicas: list[ProxiedStack]
    env: Mapping[str, str]
    check_workers: int
    analysis_workers: int

    @property
    def url(self) -> str:
        """Return the base URL of the service: the balancer's."""
        return self.balancer.url

    @staticmethod
    def server_name(index: int) -> str:
        """Return the balancer's name of the replica at *index*."""
        return f"replica{index + 1}"

    def take_out(self, index: int) -> None:
        """Take the replica out (steps 1 and 2): nothing new is sent to it, nothing is under way.

        Raises ``RuntimeError`` when requests are still under way after ``DRAIN_TIMEOUT``.
        """
        server = self.server_name(index)
        self.balancer.set_state(server, "drain")
        self.balancer.wait_for(server, lambda state: state.sessions == 0, "idle", DRAIN_TIMEOUT)

    def replace(self, index: int) -> None:
        """Replace the replica taken out (steps 3 to 6): stop it, start its successor, put it in.

        The successor listens on the same ports, so the balancer's
        configuration stays as it is. Returns once the balancer's own health
        check finds it UP.
        """
        old = self.replicas[index]
        old.shut_down()
        self.replicas[index] = start_proxied_stack(
            self.env,
            old.proxy.log_path.parent,
            check_workers=self.check_workers,
            analysis_workers=self.analysis_workers,
            ports=old.ports,
        )
        server = self.server_name(index)
        self.balancer.set_state(server, "ready")
        self.balancer.wait_for(server, lambda state: state.status == "UP", "UP")

    def stop(self) -> None:
        """Stop the balancer, then every replica."""
        self.balancer.stop()
        for replica in self.replicas:
            replica.stop()


def start_cluster(
    env: Mapping[str, str], folder: Path, *, check_workers: int, analysis_workers: int
) -> Cluster:
    """Serve the site of *env* with ``BALANCER_REPLICAS`` proxied stacks behind haproxy.

    Each replica is ``start_proxied_stack``'s, with *check_workers* and
    *analysis_workers*, in its own folder under *folder* (``replica1``...);
    haproxy is ``start_balancer``'s, its health checks sent with the first of
    the site's ``ALLOWED_HOSTS``. Returns once haproxy finds every replica UP;
    whatever had started is stopped again if a part does not start.
    """
    with ExitStack() as started:
        replicas = []
        for index in range(BALANCER_REPLICAS):
            replica_folder = folder / Cluster.server_name(index)
            replica_folder.mkdir()
            replicas.append(
                started.enter_context(
                    start_proxied_stack(
                        env,
                        replica_folder,
                        check_workers=check_workers,
                        analysis_workers=analysis_workers,
                    )
                )
            )
        balancer = start_balancer(
            folder,
            [urlsplit(replica.url).netloc for replica in replicas],
            check_host=env["ALLOWED_HOSTS"].split(",")[0],
        )
        started.pop_all()
    return Cluster(balancer, replicas, env, check_workers, analysis_workers)


class RedisServer(LiveProcess):
    """A running throw-away redis-server; its URL is the ``REDIS_URL`` to use."""


def start_redis(workdir: Path) -> RedisServer:
    """Start Debian's redis-server on a free loopback port, keeping nothing on disk.

    Returns once it answers ``PING``. Raises ``RuntimeError``, with its log,
    when it exits or does not answer within ``STARTUP_TIMEOUT`` seconds.
    """
    port = free_port()
    log_path = workdir / "redis.log"
    with log_path.open("ab") as log_file:
        process = subprocess.Popen(
            [
                REDIS_SERVER,
                "--bind",
                "127.0.0.1",
                "--port",
                str(port),
                "--dir",
                str(workdir),
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    server = RedisServer(process, f"redis://127.0.0.1:{port}/0", log_path)
    client = redis.Redis.from_url(server.url, socket_connect_timeout=1.0)
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"redis-server exited:\n{log_path.read_text(errors='replace')}")
        try:
            if client.ping():
                return server
        except redis.exceptions.ConnectionError:
            time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"redis-server did not answer in {STARTUP_TIMEOUT} s")
