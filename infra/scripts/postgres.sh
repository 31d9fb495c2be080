#!/usr/bin/env bash
# A throwaway PostgreSQL server on loopback, for tests and local trials (never for production data).
#
#   infra/scripts/postgres.sh start DIR [PORT]   install the Debian package if missing, initialise a
#                                                cluster in DIR and start it on 127.0.0.1:PORT
#                                                (default 55432); prints the SQLAlchemy URL
#   infra/scripts/postgres.sh stop DIR           stop it (fast shutdown) and leave DIR to be deleted
#
# The cluster trusts local connections, runs as the `postgres` system user when started by root
# (PostgreSQL refuses to run as root), and every step is bounded in time.
set -euo pipefail

cmd=${1:?usage: postgres.sh start|stop DIR [PORT]}
dir=$(realpath -m "${2:?usage: postgres.sh start|stop DIR [PORT]}")
port=${3:-55432}

bindir() {
    local found
    found=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    if [[ -z "$found" ]]; then
        if [[ $(id -u) -ne 0 ]]; then
            echo "postgres.sh: PostgreSQL is not installed and installing it needs root (apt-get install postgresql)" >&2
            exit 3
        fi
        echo "postgres.sh: installing the Debian postgresql package" >&2
        timeout 600 apt-get update -qq >&2
        DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq postgresql >&2
        found=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
    fi
    echo "$found"
}

as_owner() {
    if [[ $(id -u) -eq 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

case "$cmd" in
start)
    bin=$(bindir)
    mkdir -p "$dir"
    if [[ $(id -u) -eq 0 ]]; then
        chown postgres "$dir"
    fi
    if [[ ! -f "$dir/data/PG_VERSION" ]]; then
        as_owner timeout 120 "$bin/initdb" -D "$dir/data" -U reelhouse --auth=trust -E UTF8 --no-instructions >"$dir/initdb.log" 2>&1 \
            || { cat "$dir/initdb.log" >&2; exit 1; }
    fi
    as_owner timeout 60 "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c max_connections=200 -c fsync=off" start >&2 \
        || { cat "$dir/server.log" >&2; exit 1; }
    as_owner timeout 30 "$bin/createdb" -h 127.0.0.1 -p "$port" -U reelhouse reelhouse 2>/dev/null || true
    echo "postgresql+psycopg2://reelhouse@127.0.0.1:$port/reelhouse"
    ;;
stop)
    bin=$(bindir)
    if [[ -f "$dir/data/postmaster.pid" ]]; then
        as_owner timeout 60 "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >&2 || true
    fi
    ;;
*)
    echo "usage: postgres.sh start|stop DIR [PORT]" >&2
    exit 2
    ;;
esac
