#!/usr/bin/env bash
# Install Debian's nginx for the tests and benchmarks that run the proxied stack
# (config/tests/servers.py: start_proxied_stack), if missing. They start and stop
# nginx processes of their own, each in a temporary folder; none is left running.
set -euo pipefail

if [ -x "${NGINX:-/usr/sbin/nginx}" ]; then
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends nginx
# The package starts a system-wide server on port 80; the tests need none.
if command -v systemctl >/dev/null && systemctl is-active --quiet nginx 2>/dev/null; then
    $SUDO systemctl stop nginx || true
elif [ -f /run/nginx.pid ]; then
    $SUDO nginx -s quit || true
fi
