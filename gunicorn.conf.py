"""gunicorn settings for the Pluggable Rule Engine (``gunicorn -c gunicorn.conf.py``).

Every value can be set from the environment, so the same file serves
``make run``, the Docker image, docker-compose and Render.
"""

import os

from gunicorn.arbiter import Arbiter
from gunicorn.workers.base import Worker

from config import metrics_directory
from config.logs import logging_config
from config.shutdown import refuse_new_connections_on_sigterm

# The loopback unless told otherwise: sync workers must not face clients
# directly (a slow client holds one), so the process listens where only the
# proxy in front reaches it. The image and render.yaml set BIND themselves.
bind = os.environ.get("BIND", f"127.0.0.1:{os.environ.get('PORT', '8000')}")
wsgi_app = "config.wsgi:application"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# On SIGTERM the master fails readiness and refuses new connections at once
# (when_ready below), and each sync worker serves the connections already
# queued, instead of resetting them (config/shutdown.py).
worker_class = "config.shutdown.DrainingSyncWorker"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
# Stay under the 30 s that Render, Kubernetes and docker-compose (as
# configured here) give a process between SIGTERM and SIGKILL.
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "25"))
keepalive = 5
# The longest request line (method, path and query string) gunicorn reads:
# its maximum, twice its default. gunicorn answers a longer one itself, before
# the service sees it, with 414 URI Too Long and a small HTML page, not the
# API's JSON error body (the API description and the README say so).
limit_request_line = 8190
# Heartbeat files in memory: a container's /tmp may be a slow overlay disk.
# Only gunicorn's own per-worker files go there, created with mkstemp.
SHARED_MEMORY = "/dev/shm"  # noqa: S108  # nosec B108
worker_tmp_dir = SHARED_MEMORY if os.path.isdir(SHARED_MEMORY) else None
# The application logs one JSON access line per request itself (with its
# request id), so gunicorn's own access log stays off to avoid a second line.
accesslog = None
# The control socket (a gunicorn 24+ feature) is not used; do not create it.
control_socket_disable = True
logconfig_dict = logging_config(os.environ.get("LOG_LEVEL", "INFO").upper())


def when_ready(server: Arbiter) -> None:
    """Refuse new connections the moment the master gets SIGTERM (config/shutdown.py)."""
    refuse_new_connections_on_sigterm(server)


def on_starting(server: Arbiter) -> None:
    """Give the workers an empty directory to count their metrics in (config/metrics.py)."""
    metrics_directory.prepare()


def post_worker_init(worker: Worker) -> None:
    """Make the worker's loop and client for providers before it serves (rules/fetching.py)."""
    # Imported here: the application, and Django with it, is loaded in the worker by now.
    from rules.fetching import prepare_runtime

    prepare_runtime()


def child_exit(server: Arbiter, worker: Worker) -> None:
    """Keep a worker's counts and drop its live-only metrics once it has exited."""
    metrics_directory.forget_worker(worker.pid)


def on_exit(server: Arbiter) -> None:
    """Remove the metrics directory if it was made for this server.

    After a USR2 upgrade the new master's workers use it: it stays.
    """
    if server.reexec_pid == 0:
        metrics_directory.remove_made()
