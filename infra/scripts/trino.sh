#!/usr/bin/env bash
# A single-node Trino server on loopback over reelhouse's Iceberg catalog, read-only, for tests and
# local trials.
#
#   infra/scripts/trino.sh start DIR [PORT]   fetch the pinned release once, write DIR/etc, start the
#                                             server on 127.0.0.1:PORT (default 58080) and wait until it
#                                             runs a query; prints its URL
#   infra/scripts/trino.sh stop DIR           stop it
#
# The catalog: the reelhouse settings of the environment (REELHOUSE_CATALOG_URI, REELHOUSE_WAREHOUSE_URI,
# REELHOUSE_CATALOG_PROPERTIES, REELHOUSE_CATALOG_NAME, REELHOUSE_TRINO__CATALOG, or reelhouse.yaml)
# are rendered by `python -m reelhouse.query.trino_catalog` into etc/catalog/<trino catalog>.properties:
# the JDBC catalog in PostgreSQL (infra/scripts/postgres.sh) or a REST catalog, the warehouse on local
# files or S3. File-based access control makes every catalog read-only for every user.
#
# The release (trino-server-core and the Iceberg plugin, from Maven Central) is cached in
# $REELHOUSE_CACHE/trino (default ~/.cache/reelhouse/trino), checked against pinned SHA-256 sums.
# It needs Java 24 or later: $TRINO_JAVA_HOME, else the newest JDK >= 24 under /usr/lib/jvm.
# Heap: $TRINO_HEAP (default 2G; sized for 2 cores and 24 GiB). Every step is bounded in time:
# $TRINO_START_TIMEOUT seconds (default 240) for the server to run a first query.
set -euo pipefail

usage="usage: trino.sh start|stop DIR [PORT]"
cmd=${1:?$usage}
dir=$(realpath -m "${2:?$usage}")
port=${3:-58080}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
python=${REELHOUSE_PYTHON:-$root/.venv/bin/python}

version=476
maven=${TRINO_MAVEN_URL:-https://repo1.maven.org/maven2}/io/trino
core_sha256=0f388f9967c177ae70a47c099082fc95387f0c3cb96d8000d1d41fc3a5223158
iceberg_sha256=99edba5b491ed94d599aeb61e0794272d3569d8b563f3bb8569e8a49daa87b6c
cache=${REELHOUSE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/reelhouse}/trino

fetch() {  # fetch URL FILE SHA256: download once into the cache, verified
    local url=$1 file=$2 sum=$3
    if [[ -f "$cache/$file" ]] && echo "$sum  $cache/$file" | sha256sum -c --status; then
        return 0
    fi
    echo "trino.sh: fetching $url" >&2
    mkdir -p "$cache"
    curl -fsSL --retry 3 --max-time 1200 -o "$cache/$file.part" "$url" \
        || { echo "trino.sh: could not fetch $url" >&2; exit 4; }
    if ! echo "$sum  $cache/$file.part" | sha256sum -c --status; then
        echo "trino.sh: $file does not match its pinned SHA-256 ($sum); not used" >&2
        rm -f "$cache/$file.part"
        exit 4
    fi
    mv "$cache/$file.part" "$cache/$file"
}

install() {  # the server folder, with the Iceberg plugin, unpacked once
    local server="$cache/trino-server-core-$version"
    if [[ -f "$server/.reelhouse-ready" ]]; then
        echo "$server"
        return 0
    fi
    fetch "$maven/trino-server-core/$version/trino-server-core-$version.tar.gz" "trino-server-core-$version.tar.gz" "$core_sha256"
    fetch "$maven/trino-iceberg/$version/trino-iceberg-$version.zip" "trino-iceberg-$version.zip" "$iceberg_sha256"
    rm -rf "$server" "$cache/unpack"
    mkdir -p "$cache/unpack"
    timeout 600 tar -xzf "$cache/trino-server-core-$version.tar.gz" -C "$cache/unpack"
    timeout 600 "$python" -m zipfile -e "$cache/trino-iceberg-$version.zip" "$cache/unpack/trino-server-core-$version/plugin/"
    mv "$cache/unpack/trino-server-core-$version/plugin/trino-iceberg-$version" "$cache/unpack/trino-server-core-$version/plugin/iceberg"
    mv "$cache/unpack/trino-server-core-$version" "$server"
    rmdir "$cache/unpack"
    touch "$server/.reelhouse-ready"
    echo "$server"
}

java_home() {  # a JDK of release 24 or later
    local candidates=() home major
    [[ -n "${TRINO_JAVA_HOME:-}" ]] && candidates+=("$TRINO_JAVA_HOME")
    for home in $(ls -d /usr/lib/jvm/*/ 2>/dev/null | sort -V -r); do candidates+=("${home%/}"); done
    for home in "${candidates[@]}"; do
        [[ -x "$home/bin/java" && -f "$home/release" ]] || continue
        major=$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$home/release")
        if [[ -n "$major" && "$major" -ge 24 ]]; then
            echo "$home"
            return 0
        fi
    done
    echo "trino.sh: Trino $version needs Java 24 or later; none found (set TRINO_JAVA_HOME)" >&2
    exit 3
}

write_etc() {  # write_etc ETC DATA
    local etc=$1 data=$2 catalog
    mkdir -p "$etc/catalog" "$data"
    cat >"$etc/node.properties" <<EOF
node.environment=reelhouse
node.id=reelhouse-$port
node.data-dir=$data
node.bind-ip=127.0.0.1
node.internal-address=127.0.0.1
EOF
    # One node, coordinator and worker: the heartbeat failure detector (which pings every node and drops
    # one whose recent pings failed from the nodes that run work) has no other node to fall back on, so
    # on a loaded 2-core machine it could only turn slow pings into "No nodes available". It is off.
    cat >"$etc/config.properties" <<EOF
coordinator=true
failure-detector.enabled=false
node-scheduler.include-coordinator=true
http-server.http.port=$port
discovery.uri=http://127.0.0.1:$port
query.max-memory=${TRINO_QUERY_MEMORY:-1GB}
query.max-memory-per-node=${TRINO_QUERY_MEMORY:-1GB}
task.concurrency=2
task.max-worker-threads=4
access-control.config-files=$etc/access-control-file.properties,$etc/access-control-read-only.properties
EOF
    cat >"$etc/jvm.config" <<EOF
-server
-Xmx${TRINO_HEAP:-2G}
-XX:+UseG1GC
-XX:+ExitOnOutOfMemoryError
-XX:ReservedCodeCacheSize=256M
-XX:-UsePerfData
-Djdk.attach.allowAttachSelf=true
-Djdk.nio.maxCachedBufferSize=2000000
-Dfile.encoding=UTF-8
EOF
    printf 'io.trino=WARN\n' >"$etc/log.properties"
    # Read-only for every user, twice over (a statement runs only if both allow it): the file-based
    # rules make every catalog read-only; the built-in read-only control also refuses what those rules
    # let through, such as table procedures (ALTER TABLE ... EXECUTE optimize, expire_snapshots,
    # remove_orphan_files) and CALL.
    cat >"$etc/rules.json" <<EOF
{"catalogs": [{"allow": "read-only"}]}
EOF
    cat >"$etc/access-control-file.properties" <<EOF
access-control.name=file
security.config-file=$etc/rules.json
EOF
    printf 'access-control.name=read-only\n' >"$etc/access-control-read-only.properties"
    catalog=$("$python" -c 'from reelhouse.config import Settings; print(Settings().trino.catalog)')
    "$python" -m reelhouse.query.trino_catalog >"$etc/catalog/$catalog.properties.part"
    mv "$etc/catalog/$catalog.properties.part" "$etc/catalog/$catalog.properties"
}

case "$cmd" in
start)
    mkdir -p "$dir"
    jdk=$(java_home)
    server=$(install)
    write_etc "$dir/etc" "$dir/data"
    JAVA_HOME="$jdk" PATH="$jdk/bin:$PATH" setsid "$server/bin/launcher" run --etc-dir="$dir/etc" \
        --data-dir="$dir/data" >"$dir/server.log" 2>&1 </dev/null &
    echo $! >"$dir/server.pid"
    deadline=$((SECONDS + ${TRINO_START_TIMEOUT:-240}))
    give_up() {  # why, then the server log's end; stop the server and fail
        echo "trino.sh: $1" >&2
        tail -n 60 "$dir/server.log" >&2
        "$0" stop "$dir" || true
        exit 1
    }
    until curl -fs --max-time 5 "http://127.0.0.1:$port/v1/info" 2>/dev/null | grep -q '"starting":false'; do
        if ! kill -0 "$(cat "$dir/server.pid")" 2>/dev/null; then
            echo "trino.sh: the server exited while starting:" >&2
            tail -n 60 "$dir/server.log" >&2
            exit 1
        fi
        ((SECONDS < deadline)) || give_up "the server did not answer within ${TRINO_START_TIMEOUT:-240} s:"
        sleep 1
    done
    # The coordinator says it has started before it has registered itself as the node that runs the
    # work, and before that node is known to serve the catalog: a first query fails with "No nodes
    # available". A query that needs no worker proves nothing (information_schema runs on the
    # coordinator, and a scan of a table without data files plans no split), so it is ready when a
    # scan of one of the catalog's tables returns a row (or, if none holds any, when every scan ran).
    # An error of the catalog's own, such as an unreachable metastore, is the user's to see, not a
    # reason to wait.
    catalog=$(basename "$(ls "$dir/etc/catalog/"*.properties | head -n 1)" .properties)
    until timeout 60 "$python" - "$port" "$catalog" >/dev/null 2>&1 <<'PY'
import sys

import trino

port, catalog = int(sys.argv[1]), sys.argv[2]
cursor = trino.dbapi.connect(host="127.0.0.1", port=port, user="reelhouse").cursor()
cursor.execute("SELECT 1")
cursor.fetchall()
try:
    cursor.execute(f"""SELECT table_schema, table_name FROM "{catalog}".information_schema.tables
                       WHERE table_schema <> 'information_schema' AND table_type = 'BASE TABLE'""")
    for schema, table in cursor.fetchall():
        cursor.execute(f'SELECT 1 FROM "{catalog}"."{schema}"."{table}" LIMIT 1')
        if cursor.fetchall():
            break
except trino.exceptions.TrinoQueryError as exc:
    sys.exit(1 if exc.error_name == "NO_NODES_AVAILABLE" else 0)
PY
    do
        ((SECONDS < deadline)) || give_up "the server started but ran no query within ${TRINO_START_TIMEOUT:-240} s:"
        sleep 1
    done
    echo "http://127.0.0.1:$port"
    ;;
stop)
    if [[ -f "$dir/server.pid" ]]; then
        pid=$(cat "$dir/server.pid")
        kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 30); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 1
        done
        kill -KILL -- "-$pid" 2>/dev/null || true
        rm -f "$dir/server.pid"
    fi
    ;;
*)
    echo "$usage" >&2
    exit 2
    ;;
esac
