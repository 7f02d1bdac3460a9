#!/usr/bin/env bash
# Stop or start a PostgreSQL container, for the outage tests in CI:
#   scripts/docker-db-control.sh CONTAINER stop|start
# "start" returns once the server accepts connections.
set -euo pipefail

container=$1
case "${2:-}" in
    stop)
        docker stop --time 30 "$container" >/dev/null
        ;;
    start)
        docker start "$container" >/dev/null
        for _ in $(seq 1 60); do
            if docker exec "$container" pg_isready --quiet --host=127.0.0.1; then
                exit 0
            fi
            sleep 1
        done
        echo "PostgreSQL in $container did not come back within 60 s" >&2
        exit 1
        ;;
    *)
        echo "usage: $0 CONTAINER stop|start" >&2
        exit 2
        ;;
esac
