#!/usr/bin/env bash
# Install Debian's redis-server for the Redis tests (marker `redis`), if missing.
# The tests start and stop throw-away servers of their own; none is left running.
set -euo pipefail

if [ -x "${REDIS_SERVER:-/usr/bin/redis-server}" ]; then
    exit 0
fi
bash "$(dirname "$0")/apt-install.sh" redis-server
