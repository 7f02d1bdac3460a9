#!/usr/bin/env bash
# Install Debian's redis-server for the Redis tests (marker `redis`), if missing.
# The tests start and stop throw-away servers of their own; none is left running.
set -euo pipefail

if [ -x "${REDIS_SERVER:-/usr/bin/redis-server}" ]; then
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends redis-server
# The package starts a system-wide server; the tests need none.
if command -v systemctl >/dev/null && systemctl is-active --quiet redis-server 2>/dev/null; then
    $SUDO systemctl stop redis-server || true
fi
