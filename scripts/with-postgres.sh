#!/usr/bin/env bash
# Run a command against a throw-away PostgreSQL cluster, then remove the cluster.
#
#   scripts/with-postgres.sh COMMAND [ARG...]
#
# The cluster lives in a temporary directory (socket included), listens on
# 127.0.0.1 on a free port, and is stopped and deleted when COMMAND ends,
# whatever its result. COMMAND runs with:
#   DATABASE_URL           postgres://postgres@127.0.0.1:PORT/rules
#   TEST_DATABASE_CONTROL  a command taking "stop" or "start", so that tests
#                          can take the database away and bring it back
# The script exits with COMMAND's status. PostgreSQL 15 is preferred; when no
# server is installed, Debian's packages are installed first.
set -euo pipefail

log() { echo "with-postgres: $*" >&2; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

find_bindir() {
    local dir
    for dir in "${PG_BINDIR:-}" /usr/lib/postgresql/15/bin; do
        if [ -n "$dir" ] && [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then
            echo "$dir"
            return 0
        fi
    done
    if command -v pg_config >/dev/null && [ -x "$(pg_config --bindir)/initdb" ]; then
        pg_config --bindir
        return 0
    fi
    dir=$(find /usr/lib/postgresql -path '*/bin/initdb' 2>/dev/null | sort -V | tail -n 1)
    if [ -n "$dir" ]; then
        dirname "$dir"
        return 0
    fi
    if command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
        dirname "$(command -v initdb)"
        return 0
    fi
    return 1
}

free_port() {
    python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

if [ "$#" -eq 0 ]; then
    echo "usage: $0 COMMAND [ARG...]" >&2
    exit 2
fi

if ! BINDIR=$(find_bindir); then
    log "no PostgreSQL server found; installing Debian's postgresql-15"
    as_root apt-get update -q
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        postgresql-15 \
        || as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
            --no-install-recommends postgresql
    BINDIR=$(find_bindir)
fi

# initdb refuses to run as root: the cluster then belongs to the postgres user.
RUN_AS=()
if [ "$(id -u)" -eq 0 ]; then
    if ! id postgres >/dev/null 2>&1; then
        useradd --system --no-create-home --shell /usr/sbin/nologin postgres
    fi
    RUN_AS=(runuser -u postgres --)
fi

WORKDIR=$(mktemp -d "${TMPDIR:-/tmp}/with-postgres.XXXXXX")
DATA="$WORKDIR/data"
SERVER_LOG="$WORKDIR/server.log"
chmod 755 "$WORKDIR"
if [ "${#RUN_AS[@]}" -gt 0 ]; then
    chown postgres "$WORKDIR"
fi

cleanup() {
    local status=$?
    if [ -f "$DATA/postmaster.pid" ]; then
        "${RUN_AS[@]}" "$BINDIR/pg_ctl" -D "$DATA" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$WORKDIR"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"${RUN_AS[@]}" "$BINDIR/initdb" -D "$DATA" -U postgres --auth=trust --encoding=UTF8 \
    --no-locale --no-sync >"$WORKDIR/initdb.log" 2>&1 || {
    cat "$WORKDIR/initdb.log" >&2
    exit 1
}
# A throw-away cluster: durability is not wanted, speed is.
cat >>"$DATA/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$WORKDIR'
fsync = off
synchronous_commit = off
full_page_writes = off
EOF

# Another process may take the free port before the server binds it: retry.
for attempt in 1 2 3 4 5; do
    PORT=$(free_port)
    if "${RUN_AS[@]}" "$BINDIR/pg_ctl" -D "$DATA" -l "$SERVER_LOG" -w -t 60 \
        -o "-p $PORT" start >/dev/null; then
        break
    fi
    if [ "$attempt" -eq 5 ]; then
        cat "$SERVER_LOG" >&2
        exit 1
    fi
done

# The command the tests use to stop and start this cluster.
CONTROL="$WORKDIR/control"
{
    echo '#!/usr/bin/env bash'
    echo 'set -euo pipefail'
    echo 'case "${1:-}" in'
    printf '    stop) exec %s %q -D %q -m fast -w stop ;;\n' \
        "${RUN_AS[*]:-}" "$BINDIR/pg_ctl" "$DATA"
    printf '    start) exec %s %q -D %q -l %q -w -t 60 -o %q start ;;\n' \
        "${RUN_AS[*]:-}" "$BINDIR/pg_ctl" "$DATA" "$SERVER_LOG" "-p $PORT"
    echo '    *) echo "usage: $0 stop|start" >&2; exit 2 ;;'
    echo 'esac'
} >"$CONTROL"
chmod 755 "$CONTROL"

"$BINDIR/createdb" -h 127.0.0.1 -p "$PORT" -U postgres rules

export DATABASE_URL="postgres://postgres@127.0.0.1:$PORT/rules"
export TEST_DATABASE_CONTROL="$CONTROL"
log "PostgreSQL $("$BINDIR/pg_ctl" --version | awk '{print $3}') on 127.0.0.1:$PORT"

set +e
"$@"
status=$?
set -e
exit "$status"
