#!/usr/bin/env bash
# Install Debian's nginx for the tests and benchmarks that run the proxied stack
# (config/tests/servers.py: start_proxied_stack), if missing. They start and stop
# nginx processes of their own, each in a temporary folder; none is left running.
set -euo pipefail

if [ -x "${NGINX:-/usr/sbin/nginx}" ]; then
    exit 0
fi
bash "$(dirname "$0")/apt-install.sh" nginx
