#!/usr/bin/env bash
# Starts or stops a throwaway PostgreSQL cluster for the tests: a temporary
# directory, a free port on 127.0.0.1, owned by the `postgres` user when run as
# root (PostgreSQL refuses to run as root).
#
#   scripts/test-postgres.sh start   prints the connection URI on stdout
#   scripts/test-postgres.sh stop    stops the cluster and removes its directory
#   scripts/test-postgres.sh halt    stops the server, keeping its data
#   scripts/test-postgres.sh resume  starts a halted server again on the same port
#
# The cluster's directory is remembered in $STATE (default: one file per calling process, so
# concurrent test runs on one machine keep their own clusters).
set -euo pipefail
STATE="${DISPATCH_TEST_PG_STATE:-/tmp/dispatch-test-pg.$PPID.state}"

find_bin() {
    for dir in /usr/lib/postgresql/*/bin; do
        if [[ -x "$dir/initdb" ]]; then
            echo "$dir"
            return
        fi
    done
    if command -v initdb >/dev/null; then
        dirname "$(command -v initdb)"
        return
    fi
    if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null && [[ -z "${DISPATCH_NO_INSTALL:-}" ]]; then
        echo "PostgreSQL server binaries not found: installing Debian's postgresql package" >&2
        apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
        for dir in /usr/lib/postgresql/*/bin; do
            if [[ -x "$dir/initdb" ]]; then
                echo "$dir"
                return
            fi
        done
    fi
    echo "PostgreSQL server binaries (initdb) not found: install them with 'apt-get install postgresql'" >&2
    exit 1
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

as_owner() {
    if [[ "$(id -u)" == 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

start() {
    local bin dir port
    bin="$(find_bin)"
    dir="$(mktemp -d /tmp/dispatch-test-pg.XXXXXX)"
    port="$(free_port)"
    if [[ "$(id -u)" == 0 ]]; then
        id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
        chown postgres "$dir"
    fi
    as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; exit 1; }
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off" start >/dev/null \
        || { cat "$dir/server.log" >&2; exit 1; }
    as_owner "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -qc "CREATE DATABASE dispatch_test" >/dev/null
    printf '%s\n%s\n%s\n' "$bin" "$dir" "$port" > "$STATE"
    echo "postgresql://postgres@127.0.0.1:$port/dispatch_test"
}

stop() {
    [[ -f "$STATE" ]] || return 0
    local bin dir
    bin="$(sed -n 1p "$STATE")"
    dir="$(sed -n 2p "$STATE")"
    as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$dir" "$STATE"
}

# Stops the server but keeps its data, to test how clients behave while the database is down.
halt() {
    local bin dir
    bin="$(sed -n 1p "$STATE")"
    dir="$(sed -n 2p "$STATE")"
    as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
}

# Starts a halted server again on the same port.
resume() {
    local bin dir port
    bin="$(sed -n 1p "$STATE")"
    dir="$(sed -n 2p "$STATE")"
    port="$(sed -n 3p "$STATE")"
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off" start >/dev/null
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    halt) halt ;;
    resume) resume ;;
    *) echo "usage: $0 start|stop|halt|resume" >&2; exit 2 ;;
esac
