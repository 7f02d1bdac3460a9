"""Exit 0 when the service on this machine answers ``GET /health/`` with 200, else 1.

The Docker image's HEALTHCHECK runs it (the slim image has no curl), and so
do Kubernetes' probes of a pool that listens on the pod's loopback only
(``deploy/kubernetes``), naming the path to ask: ``healthcheck.py
/health/live``. It asks ``127.0.0.1:$PORT`` and sends the first
``ALLOWED_HOSTS`` entry as the Host header, so that Django accepts the
request whatever hosts are configured.
"""

import os
import sys
import urllib.error
import urllib.request

TIMEOUT_SECONDS = 4.0


def health_url(path: str = "/health/") -> str:
    """Return the URL of *path*, a health check, on the server on this machine."""
    return f"http://127.0.0.1:{os.environ.get('PORT', '8000')}{path}"


def host_header() -> str:
    """Return a host name that the service's ``ALLOWED_HOSTS`` accepts."""
    for host in os.environ.get("ALLOWED_HOSTS", "localhost").split(","):
        host = host.strip().lstrip(".")
        if host and host != "*":
            return host
    return "localhost"


def main(arguments: list[str]) -> int:
    """Ask for the path in *arguments* (``/health/`` without one); return the exit status."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    url = health_url(arguments[0]) if arguments else health_url()
    request = urllib.request.Request(url, headers={"Host": host_header()})  # noqa: S310
    try:
        with opener.open(request, timeout=TIMEOUT_SECONDS) as response:
            return 0 if response.status == 200 else 1
    except (urllib.error.URLError, OSError):
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
